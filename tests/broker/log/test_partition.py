"""PartitionLog: append/read across rolls, indexes, timestamps, log start offset, configs."""

from __future__ import annotations

from pathlib import Path

import pytest

import broker.log
from broker.errors import (
    InvalidConfig,
    InvalidRecord,
    OffsetOutOfRange,
    RecordListTooLarge,
    RecordTooLarge,
)
from broker.log import LogConfig, PartitionLog
from broker.protocol.records import Record, build_batch, iter_records, read_batches
from tests.broker.log.helpers import abandon, append, batch, read_all

SMALL = LogConfig(segment_bytes=400, index_interval_bytes=100)


def fill(log: PartitionLog, count: int, *, start_ts: int = 1_000) -> list[int]:
    bases = []
    for i in range(count):
        result = append(
            log, batch(b"v%d" % i, b"w%d" % i, key=b"k%d" % i, timestamp=start_ts + 10 * i)
        )
        bases.append(result.base_offset)
    return bases


def test_append_assigns_consecutive_offsets_and_rolls(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", SMALL)
    bases = fill(log, 30)
    assert bases == list(range(0, 60, 2))
    assert log.log_end_offset == 60
    assert len(log.segments) > 3
    assert all(seg.size <= 400 for seg in log.segments)
    values = read_all(log)
    assert [offset for offset, _, _ in values] == list(range(60))
    assert values[5] == (5, b"k2", b"w2")
    log.close()


def test_read_semantics(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig(index_interval_bytes=64))
    fill(log, 10)
    one = read_batches(log.read(5, 1))  # smaller than a batch: still the whole first batch
    assert [(h.base_offset, h.last_offset) for h in one] == [(4, 5)]
    size = one[0].size
    two = read_batches(log.read(4, 2 * size + size // 2))  # whole batches only
    assert [h.base_offset for h in two] == [4, 6]
    capped = read_batches(log.read(0, 1 << 20, max_offset=6))
    assert [h.base_offset for h in capped] == [0, 2, 4]
    assert log.read(0, 1 << 20, max_offset=0) == b""
    assert log.read(20, 100) == b""
    with pytest.raises(OffsetOutOfRange):
        log.read(21, 100)
    with pytest.raises(OffsetOutOfRange):
        log.read(-1, 100)
    log.close()


def test_batches_are_stored_byte_for_byte(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    original = batch(b"a", b"b", compression=3, producer_id=9, producer_epoch=0, base_sequence=0)
    append(log, batch(b"x"))
    append(log, original)
    stored = log.read(1, 1 << 20)
    assert stored[8:] == original[8:]  # only the base offset differs
    assert read_batches(stored)[0].base_offset == 1
    log.close()


def test_reopen_after_clean_close(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", SMALL)
    fill(log, 25)
    expected = read_all(log)
    log.close()
    assert (tmp_path / "t-0" / "clean-shutdown").exists()
    reopened = PartitionLog.open(tmp_path / "t-0", SMALL)
    assert not (tmp_path / "t-0" / "clean-shutdown").exists()
    assert reopened.log_end_offset == 50
    assert read_all(reopened) == expected
    assert append(reopened, batch(b"next")).base_offset == 50
    reopened.close()


@pytest.mark.parametrize("damage", ["delete", "truncate", "garbage", "stale"])
def test_indexes_rebuilt_when_missing_or_inconsistent(tmp_path: Path, damage: str) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, SMALL)
    fill(log, 25)
    expected = read_all(log)
    offsets_before = {ts: log.offset_for_timestamp(ts) for ts in (1_000, 1_095, 1_241, 5_000)}
    log.close()
    for index in sorted(directory.glob("*.index")) + sorted(directory.glob("*.timeindex")):
        if damage == "delete":
            index.unlink()
        elif damage == "truncate":
            index.write_bytes(index.read_bytes()[:-3])
        elif damage == "garbage":
            index.write_bytes(b"\xff" * 24)
        else:
            index.write_bytes(b"\x00\x00\x00\x01\x00\x00\x00\x05")  # points mid-batch
    reopened = PartitionLog.open(directory, SMALL)
    assert read_all(reopened) == expected
    assert {ts: reopened.offset_for_timestamp(ts) for ts in offsets_before} == offsets_before
    for segment in reopened.segments[:-1]:
        assert len(segment.index) > 0  # rebuilt, not just ignored
    reopened.close()


def test_offset_for_timestamp(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", SMALL)
    fill(log, 20)  # batch i: offsets 2i, 2i+1 at timestamps 1000+10i, 1000+10i+1
    assert log.offset_for_timestamp(0) == (0, 1_000)
    assert log.offset_for_timestamp(1_001) == (1, 1_001)
    assert log.offset_for_timestamp(1_002) == (2, 1_010)
    assert log.offset_for_timestamp(1_191) == (39, 1_191)
    assert log.offset_for_timestamp(1_192) is None
    # timestamps need not be monotonic: the earliest offset wins
    append(log, batch(b"late", timestamp=1_005))
    assert log.offset_for_timestamp(1_192) is None
    assert log.offset_for_timestamp(1_003) == (2, 1_010)
    log.close()


def test_log_append_time(tmp_path: Path) -> None:
    config = LogConfig.from_topic_configs({"message.timestamp.type": "LogAppendTime"})
    log = PartitionLog.open(tmp_path / "t-0", config)
    result = append(log, batch(b"a", b"b", timestamp=5), now_ms=77_000)
    assert result.log_append_time_ms == 77_000
    (header,) = read_batches(log.read(0, 1 << 20))  # CRC verified by read_batches
    assert header.timestamp_type == 1 and header.max_timestamp == 77_000
    assert log.offset_for_timestamp(76_000) == (0, 77_000)
    log.close()


def test_create_time_result(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    result = append(log, batch(b"a"))
    assert (result.base_offset, result.last_offset, result.log_append_time_ms) == (0, 0, -1)
    assert result.log_start_offset == 0
    log.close()


def test_size_limits(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig(max_message_bytes=200, segment_bytes=300))
    with pytest.raises(RecordTooLarge):
        append(log, batch(b"x" * 300))
    two = batch(b"x" * 100) + batch(b"y" * 100) + batch(b"z" * 100)
    with pytest.raises(RecordListTooLarge):
        log.append(two, read_batches(two), now_ms=0)
    assert log.log_end_offset == 0 and log.size_bytes == 0
    log.close()


def test_compacted_topic_rejects_null_keys(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig(cleanup_policy=frozenset({"compact"})))
    with pytest.raises(InvalidRecord):
        append(log, batch(b"v", key=None))
    append(log, batch(b"v", key=b"k"))
    log.close()


def test_delete_records_before(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, SMALL)
    fill(log, 20)
    segments_before = len(log.segments)
    assert log.delete_records_before(13) == 13
    assert log.log_start_offset == 13
    assert len(log.segments) < segments_before
    assert log.delete_records_before(5) == 13  # never moves backwards
    with pytest.raises(OffsetOutOfRange):
        log.read(12, 100)
    assert read_all(log)[0][0] == 13
    assert log.offset_for_timestamp(0) == (13, 1_061)
    with pytest.raises(OffsetOutOfRange):
        log.delete_records_before(41)
    assert (directory / "log-start-offset").read_text().strip() == "13"
    abandon(log)
    reopened = PartitionLog.open(directory, SMALL)
    assert reopened.log_start_offset == 13
    assert append(reopened, batch(b"z")).log_start_offset == 13
    reopened.close()


def test_delete_records_to_end(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", SMALL)
    fill(log, 3)
    assert log.delete_records_before(6) == 6
    assert log.read(6, 100) == b""
    log.close()
    reopened = PartitionLog.open(tmp_path / "t-0", SMALL)
    assert (reopened.log_start_offset, reopened.log_end_offset) == (6, 6)
    reopened.close()


def test_roll_if_due_by_segment_ms(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig(segment_ms=1_000))
    assert not log.roll_if_due(10**12)  # empty active segment never rolls
    append(log, batch(b"a", timestamp=5_000))
    assert not log.roll_if_due(5_500)
    assert log.roll_if_due(6_001)
    assert [seg.base_offset for seg in log.segments] == [0, 1]
    # on append, Kafka compares the incoming timestamp with the first batch's
    append(log, batch(b"b", timestamp=7_000))
    append(log, batch(b"c", timestamp=8_001))
    assert [seg.base_offset for seg in log.segments] == [0, 1, 2]
    log.close()


def test_config_parsing() -> None:
    config = LogConfig.from_topic_configs(
        {
            "retention.ms": "1000",
            "segment.bytes": "2048",
            "cleanup.policy": "compact,delete",
            "flush.messages": "100",
            "unrelated.key": "x",
        }
    )
    assert (config.retention_ms, config.segment_bytes) == (1000, 2048)
    assert config.compact and config.delete and config.flush_messages == 100
    assert LogConfig().retention_ms == 7 * 24 * 3600 * 1000
    for bad in (
        {"retention.ms": "-2"},
        {"segment.bytes": "abc"},
        {"cleanup.policy": "keep"},
        {"message.timestamp.type": "Now"},
    ):
        with pytest.raises(InvalidConfig, match=next(iter(bad))):
            LogConfig.from_topic_configs(bad)


def test_reconfigure_takes_effect(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    fill(log, 3)
    log.reconfigure(LogConfig(segment_bytes=100))
    fill(log, 3)
    assert len(log.segments) >= 3
    log.close()


def test_delete_removes_directory(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    fill(log, 2)
    log.delete()
    assert not (tmp_path / "t-0").exists()


def test_compressed_batches_round_trip_through_the_log(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", SMALL)
    for codec in range(5):
        data = build_batch(
            [Record(i, 0, b"k", b"codec-%d-%d" % (codec, i)) for i in range(3)], compression=codec
        )
        append(log, data)
    values = [value for _, _, value in read_all(log)]
    assert values == [b"codec-%d-%d" % (c, i) for c in range(5) for i in range(3)]
    data = log.read(0, 1 << 20)
    assert [r.value for r in iter_records(data, read_batches(data)[0])][0] == b"codec-0-0"
    log.close()


def test_public_names() -> None:
    for name in broker.log.__all__:
        assert hasattr(broker.log, name), name
