"""Retention by time and size: whole segments go, the active one only after a roll."""

from __future__ import annotations

from pathlib import Path

from broker.log import LogConfig, PartitionLog
from tests.broker.log.helpers import append, batch, read_all


def filled(tmp_path: Path, config: LogConfig, count: int = 20) -> PartitionLog:
    log = PartitionLog.open(tmp_path / "t-0", config)
    for i in range(count):
        append(log, batch(b"v" * 50, key=b"k%d" % i, timestamp=1_000 + 100 * i))
    return log


def test_retention_by_time_deletes_old_segments(tmp_path: Path) -> None:
    log = filled(tmp_path, LogConfig(segment_bytes=400, retention_ms=500))
    segments_before = len(log.segments)
    # newest record is at 2900; keep everything whose max timestamp is within 500 ms of now
    deleted = log.apply_retention(now_ms=3_000)
    assert 0 < deleted < segments_before
    assert all(3_000 - seg.max_timestamp <= 500 for seg in log.segments)
    assert log.log_start_offset == log.segments[0].base_offset > 0
    assert read_all(log)[0][0] == log.log_start_offset
    assert log.log_end_offset == 20
    log.close()


def test_expired_active_segment_is_rolled_then_deleted(tmp_path: Path) -> None:
    """retention.ms=1000 and segment.bytes=2048: one pass empties the log (as in Kafka)."""
    config = LogConfig.from_topic_configs({"retention.ms": "1000", "segment.bytes": "2048"})
    log = filled(tmp_path, config, count=30)
    assert len(log.segments) > 1
    log.apply_retention(now_ms=100_000)
    assert (log.log_start_offset, log.log_end_offset) == (30, 30)
    assert len(log.segments) == 1 and log.size_bytes == 0
    assert log.read(30, 100) == b""
    assert append(log, batch(b"new")).base_offset == 30
    log.close()
    reopened = PartitionLog.open(tmp_path / "t-0", config)
    assert (reopened.log_start_offset, reopened.log_end_offset) == (30, 31)
    reopened.close()


def test_infinite_retention(tmp_path: Path) -> None:
    log = filled(tmp_path, LogConfig(segment_bytes=400, retention_ms=-1))
    assert log.apply_retention(now_ms=10**15) == 0
    log.close()


def test_retention_by_size(tmp_path: Path) -> None:
    log = filled(tmp_path, LogConfig(segment_bytes=400, retention_ms=-1, retention_bytes=1_000))
    assert log.apply_retention(now_ms=0) > 0
    # Kafka deletes a segment only if what remains is still >= retention.bytes
    assert log.size_bytes >= 1_000
    assert log.size_bytes - log.segments[0].size < 1_000
    assert [o for o, _, _ in read_all(log)] == list(range(log.log_start_offset, 20))
    log.close()


def test_compact_only_topics_keep_old_segments(tmp_path: Path) -> None:
    config = LogConfig(segment_bytes=400, retention_ms=1, cleanup_policy=frozenset({"compact"}))
    log = filled(tmp_path, config)
    assert log.apply_retention(now_ms=10**12) == 0
    log.close()
