"""Idempotent producers: duplicates, gaps, epochs, and state surviving restarts."""

from __future__ import annotations

from pathlib import Path

import pytest

from broker.errors import (
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    OutOfOrderSequenceNumber,
)
from broker.log import DuplicateBatch, LogConfig, PartitionLog
from broker.protocol.records import iter_records, read_batches, rebuild_batch
from tests.broker.log.helpers import abandon, append, batch

CONFIG = LogConfig(segment_bytes=600, index_interval_bytes=100)


def produce(log: PartitionLog, seq: int, count: int = 2, *, pid: int = 1000, epoch: int = 0):
    values = [b"p%d-e%d-s%d" % (pid, epoch, seq + i) for i in range(count)]
    return append(log, batch(*values, producer_id=pid, producer_epoch=epoch, base_sequence=seq))


@pytest.fixture
def log(tmp_path: Path):
    partition = PartitionLog.open(tmp_path / "t-0", CONFIG)
    yield partition
    partition.close()


def test_in_sequence_batches_are_accepted(log: PartitionLog) -> None:
    assert produce(log, 0).base_offset == 0
    assert produce(log, 2).base_offset == 2
    assert produce(log, 4, pid=2000).base_offset == 4  # other producers are independent


def test_duplicate_of_any_of_the_last_five_batches(log: PartitionLog) -> None:
    results = [produce(log, 2 * i) for i in range(6)]
    end = log.log_end_offset
    for i in range(1, 6):
        with pytest.raises(DuplicateSequenceNumber) as caught:
            produce(log, 2 * i)
        assert isinstance(caught.value, DuplicateBatch)
        assert caught.value.base_offset == results[i].base_offset
        assert caught.value.last_offset == results[i].last_offset
    assert log.log_end_offset == end  # nothing re-appended
    with pytest.raises(OutOfOrderSequenceNumber):  # too old to be remembered
        produce(log, 0)


def test_sequence_gap(log: PartitionLog) -> None:
    produce(log, 0)
    with pytest.raises(OutOfOrderSequenceNumber, match="expected sequence 2, got 3"):
        produce(log, 3)
    assert log.log_end_offset == 2


def test_stale_epoch(log: PartitionLog) -> None:
    produce(log, 0, epoch=3)
    with pytest.raises(InvalidProducerEpoch):
        produce(log, 2, epoch=2)


def test_new_epoch_must_start_at_zero(log: PartitionLog) -> None:
    produce(log, 0, epoch=0)
    with pytest.raises(OutOfOrderSequenceNumber, match="new epoch"):
        produce(log, 2, epoch=1)
    assert produce(log, 0, epoch=1).base_offset == 2
    with pytest.raises(InvalidProducerEpoch):
        produce(log, 2, epoch=0)


def test_unknown_producer_accepts_any_sequence(log: PartitionLog) -> None:
    """Kafka (KIP-360) accepts a producer whose state expired or was never here."""
    assert produce(log, 57, pid=4242).base_offset == 0
    assert produce(log, 59, pid=4242).base_offset == 2


def test_sequence_wraps_after_int32_max(log: PartitionLog) -> None:
    produce(log, 2**31 - 2, count=2)
    assert produce(log, 0).base_offset == 2


def test_non_idempotent_batches_are_not_checked(log: PartitionLog) -> None:
    append(log, batch(b"a"))
    append(log, batch(b"a"))
    assert log.log_end_offset == 2


def test_rejected_append_leaves_state_unchanged(log: PartitionLog) -> None:
    produce(log, 0)
    two = batch(b"x", producer_id=1000, producer_epoch=0, base_sequence=2) + batch(
        b"y", producer_id=1000, producer_epoch=0, base_sequence=9
    )
    with pytest.raises(OutOfOrderSequenceNumber):
        log.append(two, read_batches(two), now_ms=0)
    assert produce(log, 2).base_offset == 2


@pytest.mark.parametrize("clean", [True, False])
def test_state_survives_reopen(tmp_path: Path, clean: bool) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, CONFIG)
    results = [produce(log, 2 * i) for i in range(12)]  # spans several rolls (snapshots)
    assert len(log.segments) > 2
    if clean:
        log.close()
    else:
        abandon(log)
    reopened = PartitionLog.open(directory, CONFIG)
    with pytest.raises(DuplicateBatch) as caught:
        produce(reopened, 22)
    assert caught.value.base_offset == results[11].base_offset
    with pytest.raises(OutOfOrderSequenceNumber):
        produce(reopened, 30)
    assert produce(reopened, 24).base_offset == 24
    reopened.close()


def test_state_rebuilt_without_any_snapshot(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, CONFIG)
    for i in range(8):
        produce(log, 2 * i, epoch=5)
    log.close()
    for snapshot in directory.glob("*.snapshot"):
        snapshot.unlink()
    reopened = PartitionLog.open(directory, CONFIG)
    with pytest.raises(InvalidProducerEpoch):
        produce(reopened, 16, epoch=4)
    with pytest.raises(DuplicateBatch):
        produce(reopened, 14, epoch=5)
    reopened.close()


def test_corrupt_snapshot_falls_back_to_older_or_replay(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, CONFIG)
    for i in range(10):
        produce(log, 2 * i)
    log.close()
    newest = max(directory.glob("*.snapshot"))
    newest.write_bytes(b"CPS1garbage")
    reopened = PartitionLog.open(directory, CONFIG)
    with pytest.raises(DuplicateBatch):
        produce(reopened, 18)
    assert produce(reopened, 20).base_offset == 20
    reopened.close()


def _rebuilt(seq: int, count: int, keep: list[int], *, pid: int = 1000) -> bytes:
    """A batch sent with sequences seq..seq+count-1, rebuilt by the gate to the ``keep`` records."""
    original = batch(
        *[b"s%d" % (seq + i) for i in range(count)],
        producer_id=pid,
        producer_epoch=0,
        base_sequence=seq,
    )
    (header,) = read_batches(original)
    records = list(iter_records(original, header))
    return rebuild_batch(header, [records[i] for i in keep])


def test_rebuilt_batch_claims_the_sequences_it_was_sent_with(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", CONFIG)
    produce(log, 0, count=3)
    rebuilt = _rebuilt(3, 5, keep=[1, 3])  # records with sequences 4 and 6 kept
    result = log.append(rebuilt, read_batches(rebuilt), now_ms=10_000, first_sequence=3)
    assert (result.base_offset, result.last_offset) == (3, 4)  # offsets stay dense
    with pytest.raises(DuplicateBatch) as retried:  # the producer retries its original batch
        log.append(rebuilt, read_batches(rebuilt), now_ms=10_000, first_sequence=3)
    assert (retried.value.base_offset, retried.value.last_offset) == (3, 4)
    with pytest.raises(OutOfOrderSequenceNumber):
        produce(log, 9)
    assert produce(log, 8).base_offset == 5  # the producer's next batch follows on
    abandon(log)
    recovered = PartitionLog.open(tmp_path / "t-0", CONFIG)  # state replayed from the log
    try:
        assert produce(recovered, 10).base_offset == 7
    finally:
        recovered.close()


def test_first_sequence_needs_a_single_batch(log: PartitionLog) -> None:
    data = batch(b"a", producer_id=1, producer_epoch=0, base_sequence=0) + batch(
        b"b", producer_id=1, producer_epoch=0, base_sequence=1
    )
    with pytest.raises(ValueError):
        log.append(data, read_batches(data), now_ms=1, first_sequence=0)


def test_skipped_batch_counts_its_sequences(log: PartitionLog) -> None:
    produce(log, 0, count=2)
    routed = batch(b"x", b"y", producer_id=1000, producer_epoch=0, base_sequence=2)
    (header,) = read_batches(routed)
    log.skip_sequences(header)
    assert log.log_end_offset == 2  # nothing written
    with pytest.raises(DuplicateBatch):
        log.skip_sequences(header)  # a retry
    assert produce(log, 4).base_offset == 2
