"""Transactions in one partition log: LSO, markers, the aborted-transaction index and its recovery."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.errors import InvalidProducerEpoch, InvalidTxnState
from broker.log import LogConfig, PartitionLog
from broker.log.txn_index import AbortedTxn
from broker.protocol.records import (
    CONTROL_ABORT,
    CONTROL_COMMIT,
    Record,
    build_batch,
    control_type,
    read_batches,
)
from tests.broker.log.helpers import abandon, append, batch

CONFIG = LogConfig(segment_bytes=700, index_interval_bytes=100)


def txn_batch(*values: bytes, pid: int, seq: int, epoch: int = 0) -> bytes:
    return build_batch(
        [Record(i, i, b"k", value) for i, value in enumerate(values)],
        timestamp=1_000,
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        is_transactional=True,
    )


@pytest.fixture
def log(tmp_path: Path):
    partition = PartitionLog.open(tmp_path / "t-0", CONFIG)
    yield partition
    if not partition.closed:
        partition.close()


def test_lso_follows_the_oldest_open_transaction(log: PartitionLog) -> None:
    append(log, batch(b"plain"))
    assert log.last_stable_offset == 1
    append(log, txn_batch(b"a0", b"a1", pid=7, seq=0))  # offsets 1-2
    append(log, txn_batch(b"b0", pid=8, seq=0))  # offset 3
    assert log.last_stable_offset == 1 and log.log_end_offset == 4
    result = log.append_marker(7, 0, commit=True, now_ms=2_000)
    assert result is not None and result.base_offset == 4
    assert log.last_stable_offset == 3  # producer 8 still open
    log.append_marker(8, 0, commit=False, now_ms=2_000)
    assert log.last_stable_offset == log.log_end_offset == 6
    assert log.aborted_transactions(0, 6) == [AbortedTxn(5, 8, 3, 6)]
    assert log.aborted_transactions(6, 10) == []
    markers = [h for h in read_batches(log.read(4, 1 << 20)) if h.is_control]
    data = log.read(4, 1 << 20)
    assert [control_type(data, h) for h in markers] == [CONTROL_COMMIT, CONTROL_ABORT]


def test_marker_without_open_transaction_writes_nothing(log: PartitionLog) -> None:
    assert log.append_marker(9, 0, commit=True, now_ms=1) is None
    assert log.log_end_offset == 0


def test_read_committed_bound_and_zombie_rules(log: PartitionLog) -> None:
    append(log, txn_batch(b"a", pid=7, seq=0))
    with pytest.raises(InvalidTxnState):
        append(log, batch(b"plain", producer_id=7, producer_epoch=0, base_sequence=1))
    # a fencing abort marker with a bumped epoch ends it; the old epoch is refused after
    log.append_marker(7, 1, commit=False, now_ms=1)
    with pytest.raises(InvalidProducerEpoch):
        append(log, txn_batch(b"late", pid=7, seq=1, epoch=0))
    assert log.read(0, 1 << 20, max_offset=0) == b""


def test_txn_index_and_open_transactions_survive_a_crash(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, CONFIG)
    for round_ in range(6):  # enough bytes to roll segments (snapshots at each roll)
        append(log, txn_batch(b"x" * 40, b"y" * 40, pid=round_ + 1, seq=0))
        log.append_marker(round_ + 1, 0, commit=round_ % 2 == 0, now_ms=1)
    append(log, txn_batch(b"open", pid=99, seq=0))
    open_first = log.log_end_offset - 1
    expected = log.aborted_transactions(0, log.log_end_offset)
    assert len(expected) == 3 and len(log.segments) > 1
    abandon(log)  # kill -9: no snapshot at the end, no clean-shutdown marker
    reopened = PartitionLog.open(directory, CONFIG)
    try:
        assert reopened.aborted_transactions(0, reopened.log_end_offset) == expected
        assert reopened.last_stable_offset == open_first
        assert reopened.open_transaction(99) == open_first
        reopened.append_marker(99, 0, commit=False, now_ms=1)
        assert reopened.last_stable_offset == reopened.log_end_offset
    finally:
        reopened.close()
    # a torn txnindex entry is cut, and rebuilt by the replay when it is above the snapshot
    files = sorted(directory.glob("*.txnindex"))
    assert files
    last = files[-1]
    last.write_bytes(last.read_bytes() + b"\x00\x01\x02")
    (directory / "clean-shutdown").unlink()
    again = PartitionLog.open(directory, CONFIG)
    try:
        assert len(again.aborted_transactions(0, again.log_end_offset)) == 4
    finally:
        again.close()


def test_retention_drops_the_index_of_deleted_segments(log: PartitionLog) -> None:
    for round_ in range(6):
        append(log, txn_batch(b"x" * 40, b"y" * 40, pid=round_ + 1, seq=0))
        log.append_marker(round_ + 1, 0, commit=False, now_ms=1)
    total = len(log.aborted_transactions(0, log.log_end_offset))
    first_segment_end = log.segments[1].base_offset
    log.delete_records_before(first_segment_end)
    log.apply_retention(now_ms=1)
    remaining = log.aborted_transactions(0, log.log_end_offset)
    assert 0 < len(remaining) < total
    assert all(entry.last_offset >= first_segment_end for entry in remaining)
