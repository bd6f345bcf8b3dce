"""Compaction and transactions: nothing past the LSO, aborted data removed, markers expire."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broker.log import LogConfig, PartitionLog, compact
from broker.protocol.records import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    Record,
    build_batch,
    control_type,
    iter_records,
    read_batches,
)
from tests.broker.log.helpers import append, batch

RETENTION = 1_000
CONFIG = LogConfig(
    segment_bytes=300, cleanup_policy=frozenset({"compact"}), delete_retention_ms=RETENTION
)


def txn_batch(key: bytes, value: bytes, *, pid: int, seq: int, timestamp: int) -> bytes:
    return build_batch(
        [Record(0, 0, key, value)],
        timestamp=timestamp,
        producer_id=pid,
        producer_epoch=0,
        base_sequence=seq,
        is_transactional=True,
    )


def filler(log: PartitionLog, count: int, timestamp: int) -> None:
    """``count`` plain records of distinct keys: they roll segments and stay."""
    for i in range(count):
        append(log, batch(b"f", key=b"fill-%d-%d" % (timestamp, i), timestamp=timestamp + i))


def scan(log: PartitionLog) -> list[tuple[int, str, bytes | None, bytes | None]]:
    """(offset, kind, key, value) of every record; kind is data/txn/COMMIT/ABORT."""
    out = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        for header in read_batches(data, strict=False):
            if header.is_control:
                kind = {CONTROL_COMMIT: "COMMIT", CONTROL_ABORT: "ABORT"}[
                    control_type(data, header)
                ]
                out.append((header.base_offset, kind, None, None))
            else:
                kind = "txn" if header.is_transactional else "data"
                for record in iter_records(data, header):
                    out.append(
                        (header.base_offset + record.offset_delta, kind, record.key, record.value)
                    )
            offset = header.last_offset + 1
    return out


def read_committed(log: PartitionLog) -> dict[bytes, bytes | None]:
    """key -> last value as a read_committed client sees it (librdkafka's rules: the fetch's
    aborted list names each aborted transaction's first offset, an ABORT marker ends it)."""
    stable = log.last_stable_offset
    starts: dict[int, list[int]] = {}
    for entry in log.aborted_transactions(log.log_start_offset, stable):
        starts.setdefault(entry.producer_id, []).append(entry.first_offset)
    seen: dict[bytes, bytes | None] = {}
    offset = log.log_start_offset
    while offset < stable:
        data = log.read(offset, 1 << 20, max_offset=stable)
        if not data:
            break
        for header in read_batches(data, strict=False):
            pending = sorted(starts.get(header.producer_id, []))
            if header.is_control:
                if control_type(data, header) == CONTROL_ABORT and pending:
                    starts[header.producer_id].remove(pending[0])
            elif not (header.is_transactional and pending and header.base_offset >= pending[0]):
                for record in iter_records(data, header):
                    assert record.key is not None
                    seen[record.key] = record.value
            offset = header.last_offset + 1
    return seen


@pytest.fixture
def log(tmp_path: Path):
    partition = PartitionLog.open(tmp_path / "t-0", CONFIG)
    yield partition
    if not partition.closed:
        partition.close()


def test_an_open_transaction_stops_compaction_at_the_lso(log: PartitionLog) -> None:
    for i in range(8):  # two closed segments of duplicates, all below the transaction
        append(log, batch(b"old-%d" % i, key=b"k", timestamp=10_000 + i))
    txn_start = log.log_end_offset
    append(log, txn_batch(b"k", b"uncommitted", pid=7, seq=0, timestamp=10_010))
    for i in range(8):  # duplicates above the open transaction: not compacted
        append(log, batch(b"later-%d" % i, key=b"d", timestamp=10_020 + i))
    assert log.last_stable_offset == txn_start
    compact(log, now_ms=10_100)
    records = scan(log)
    below = [r for r in records if r[0] < txn_start]
    above = [r for r in records if r[0] >= txn_start]
    assert [r[3] for r in below if r[2] == b"k"][-1] == b"old-7"
    assert len([r for r in below if r[2] == b"k"]) < 8  # something below the LSO was cleaned
    assert len([r for r in above if r[2] == b"d"]) == 8  # nothing at or above it was
    assert (txn_start, "txn", b"k", b"uncommitted") in records

    log.append_marker(7, 0, commit=False, now_ms=10_030)  # the transaction aborts
    filler(log, 6, 10_040)
    compact(log, now_ms=10_100)
    records = scan(log)
    assert not [r for r in records if r[1] == "txn"]  # the aborted write is gone...
    # ...and did not shadow the committed value before it
    assert read_committed(log)[b"k"] == b"old-7"
    assert [r[3] for r in records if r[2] == b"k"] == [b"old-7"]
    assert [r[3] for r in records if r[2] == b"d"] == [b"later-7"]


def test_markers_go_once_their_data_is_gone_and_delete_retention_passed(
    log: PartitionLog,
) -> None:
    append(log, batch(b"committed-before", key=b"k", timestamp=10_000))
    append(log, txn_batch(b"k", b"aborted", pid=7, seq=0, timestamp=10_001))
    log.append_marker(7, 0, commit=False, now_ms=10_002)
    append(log, txn_batch(b"j", b"committed", pid=8, seq=0, timestamp=10_003))
    log.append_marker(8, 0, commit=True, now_ms=10_004)
    filler(log, 8, 10_010)
    assert len(log.aborted_transactions(0, log.log_end_offset)) == 1
    expected = read_committed(log)

    compact(log, now_ms=10_100)  # within delete.retention.ms of the markers
    kinds = [r[1] for r in scan(log)]
    assert "txn" in kinds and kinds.count("ABORT") == 1 and kinds.count("COMMIT") == 1
    assert [r[3] for r in scan(log) if r[1] == "txn"] == [b"committed"]
    assert read_committed(log) == expected

    # past the horizon the next pass is due by itself (nothing dirty): the ABORT marker
    # goes with its index entry; the COMMIT marker stays while its data does
    assert compact(log, now_ms=10_002 + RETENTION + 1) == 1
    kinds = [r[1] for r in scan(log)]
    assert "ABORT" not in kinds and kinds.count("COMMIT") == 1
    assert log.aborted_transactions(0, log.log_end_offset) == []
    assert read_committed(log) == expected

    # a newer value of j removes the committed write; its marker outlives it by a pass
    append(log, batch(b"newer", key=b"j", timestamp=20_000))
    filler(log, 16, 20_010)
    assert compact(log, now_ms=20_100) > 0
    kinds = [r[1] for r in scan(log)]
    assert "txn" not in kinds and kinds.count("COMMIT") == 1
    assert compact(log, now_ms=20_101) == 1
    assert "COMMIT" not in [r[1] for r in scan(log)]
    assert read_committed(log)[b"j"] == b"newer"
    assert read_committed(log)[b"k"] == b"committed-before"


def test_a_stale_index_entry_would_hide_later_commits(log: PartitionLog) -> None:
    """The same producer aborts, then commits: after compaction the commit is still seen,
    before and after a reopen (the index entry went with its marker)."""
    append(log, txn_batch(b"k", b"aborted", pid=7, seq=0, timestamp=10_000))
    log.append_marker(7, 0, commit=False, now_ms=10_001)
    filler(log, 8, 10_010)
    append(log, txn_batch(b"m", b"committed", pid=7, seq=1, timestamp=10_020))
    log.append_marker(7, 0, commit=True, now_ms=10_021)
    filler(log, 8, 10_030)
    compact(log, now_ms=10_100)
    compact(log, now_ms=10_001 + RETENTION + 1)
    assert "ABORT" not in [r[1] for r in scan(log)]
    assert read_committed(log)[b"m"] == b"committed" and b"k" not in read_committed(log)
    directory, config = log.directory, log.config
    log.close()
    reopened = PartitionLog.open(directory, config)
    try:
        assert reopened.aborted_transactions(0, reopened.log_end_offset) == []
        assert read_committed(reopened)[b"m"] == b"committed"
    finally:
        reopened.close()


# -- a property: whatever the interleaving, compaction never changes the committed table --

_KEYS = [b"a", b"b", b"c"]
_PIDS = [7, 8]
_operation = st.one_of(
    st.tuples(st.just("plain"), st.sampled_from(_KEYS)),
    st.tuples(st.just("txn"), st.sampled_from(_PIDS), st.sampled_from(_KEYS)),
    st.tuples(st.just("end"), st.sampled_from(_PIDS), st.booleans()),
    st.tuples(st.just("compact"), st.integers(min_value=0, max_value=3)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(_operation, min_size=1, max_size=40))
def test_compaction_keeps_the_read_committed_table(operations: list[tuple]) -> None:
    config = LogConfig(
        segment_bytes=200,
        cleanup_policy=frozenset({"compact"}),
        delete_retention_ms=RETENTION,
        min_cleanable_dirty_ratio=0.01,
    )
    with tempfile.TemporaryDirectory() as scratch:
        log = PartitionLog.open(Path(scratch) / "t-0", config)
        try:
            now = 10_000
            sequences = dict.fromkeys(_PIDS, 0)
            open_writes: dict[int, list[tuple[int, bytes, bytes]]] = {}
            committed: list[tuple[int, bytes, bytes]] = []  # (offset, key, value)
            for index, operation in enumerate(operations):
                now += 10
                value = b"v%d" % index
                if operation[0] == "plain":
                    offset = append(log, batch(value, key=operation[1], timestamp=now)).base_offset
                    committed.append((offset, operation[1], value))
                elif operation[0] == "txn":
                    _, pid, key = operation
                    data = txn_batch(key, value, pid=pid, seq=sequences[pid], timestamp=now)
                    sequences[pid] += 1
                    offset = append(log, data).base_offset
                    open_writes.setdefault(pid, []).append((offset, key, value))
                elif operation[0] == "end":
                    _, pid, commit = operation
                    if log.append_marker(pid, 0, commit=commit, now_ms=now) is not None and commit:
                        committed += open_writes.get(pid, [])
                    open_writes.pop(pid, None)
                else:
                    now += operation[1] * RETENTION  # sometimes past every horizon
                    compact(log, now_ms=now)
                stable = log.last_stable_offset
                expected: dict[bytes, bytes] = {}
                for offset, key, value in sorted(committed):
                    if offset < stable:
                        expected[key] = value
                assert read_committed(log) == expected
        finally:
            log.close()
