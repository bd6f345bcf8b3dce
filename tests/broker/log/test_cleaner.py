"""Compaction: latest record per key, tombstone expiry, preserved offsets, crash safety."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from broker.log import LogConfig, PartitionLog, cleaner, compact
from broker.log.cleaner import dirty_ratio
from broker.protocol.records import read_batches
from tests.broker.log.helpers import abandon, append, batch, read_all

CONFIG = LogConfig(
    segment_bytes=300, cleanup_policy=frozenset({"compact"}), delete_retention_ms=1_000
)


def keyed_log(tmp_path: Path, config: LogConfig = CONFIG) -> PartitionLog:
    """Offsets 0..29: key k(i%3) = value v(i); offset 10 is a tombstone for k1."""
    log = PartitionLog.open(tmp_path / "t-0", config)
    for i in range(30):
        value = None if i == 10 else b"v%d" % i
        append(log, batch(value, key=b"k%d" % (i % 3), timestamp=10_000 + i))
    return log


def test_keeps_latest_per_key_in_closed_segments(tmp_path: Path) -> None:
    log = keyed_log(tmp_path)
    before = read_all(log)
    active_base = log.active_segment.base_offset
    removed = compact(log, now_ms=10_100)
    after = read_all(log)
    assert removed == len(before) - len(after) > 0
    closed = [r for r in after if r[0] < active_base]
    latest_closed = {}
    for offset, key, value in before:
        if offset < active_base:
            latest_closed[key] = (offset, key, value)
    assert closed == sorted(latest_closed.values())
    assert [r for r in after if r[0] >= active_base] == [r for r in before if r[0] >= active_base]
    # offsets are preserved: a gap, not a renumbering
    assert log.log_end_offset == 30
    data = log.read(0, 1 << 20)
    assert read_batches(data, strict=False)[0].base_offset == closed[0][0]
    log.close()


def test_tombstones_expire_after_delete_retention(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", CONFIG)
    append(log, batch(b"old", key=b"gone", timestamp=10_000))
    append(log, batch(None, key=b"gone", timestamp=10_001))
    for i in range(20):
        append(log, batch(b"x" * 20, key=b"other", timestamp=10_002 + i))
    compact(log, now_ms=10_500)
    keys = [(key, value) for _, key, value in read_all(log)]
    assert (b"gone", None) in keys and (b"gone", b"old") not in keys
    assert compact(log, now_ms=10_600) == 0  # nothing new, horizon not reached
    compact(log, now_ms=11_002)
    assert b"gone" not in [key for _, key, _ in read_all(log)]
    log.close()


def test_min_compaction_lag(tmp_path: Path) -> None:
    config = LogConfig(
        segment_bytes=300, cleanup_policy=frozenset({"compact"}), min_compaction_lag_ms=1_000
    )
    log = keyed_log(tmp_path, config)
    assert compact(log, now_ms=10_100) == 0
    assert compact(log, now_ms=20_000) > 0
    log.close()


def test_compaction_survives_reopen_and_appends_continue(tmp_path: Path) -> None:
    log = keyed_log(tmp_path)
    compact(log, now_ms=10_100)
    expected = read_all(log)
    log.close()
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert read_all(reopened) == expected
    assert append(reopened, batch(b"z", key=b"k0")).base_offset == 30
    reopened.close()


def test_crash_before_swap_keeps_old_segment(tmp_path: Path) -> None:
    log = keyed_log(tmp_path)
    expected = read_all(log)
    first = log.segments[0]
    leftover = first.log_path.with_name(first.log_path.name + ".cleaned")
    leftover.write_bytes(b"partial")
    abandon(log)
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert not leftover.exists()
    assert read_all(reopened) == expected
    reopened.close()


def test_crash_after_swap_rebuilds_indexes(tmp_path: Path) -> None:
    """Killed after the rename but before indexes were written: they are rebuilt."""
    log = keyed_log(tmp_path)
    compact(log, now_ms=10_100)
    expected = read_all(log)
    for segment in log.segments[:-1]:
        segment.index_path.unlink()
        segment.time_index_path.unlink()
    abandon(log)
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert read_all(reopened) == expected
    reopened.close()


def test_compacted_and_deleted_policy(tmp_path: Path) -> None:
    config = LogConfig(
        segment_bytes=300,
        cleanup_policy=frozenset({"compact", "delete"}),
        retention_ms=5,
    )
    log = keyed_log(tmp_path, config)
    compact(log, now_ms=10_100)
    log.apply_retention(now_ms=10_100)
    assert log.log_start_offset > 0
    log.close()


# --------------------------------------------------------------------------- dirty ratio, lag, checkpoint


def count_rewrites(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Count calls of the cleaner's per-segment rewrite (a pass that ran reads every segment)."""
    calls: list[int] = []
    original = cleaner._clean_segment

    def counting(*args: Any) -> Any:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(cleaner, "_clean_segment", counting)
    return calls


def test_min_cleanable_dirty_ratio_gates_a_pass(tmp_path: Path) -> None:
    config = LogConfig(
        segment_bytes=300, cleanup_policy=frozenset({"compact"}), min_cleanable_dirty_ratio=0.5
    )
    log = PartitionLog.open(tmp_path / "t-0", config)
    for i in range(40):  # 20 keys twice: the cleaned part stays large
        append(log, batch(b"v%d" % i, key=b"k%d" % (i % 20), timestamp=10_000 + i))
    assert dirty_ratio(log, 10_100) == 1.0
    assert compact(log, now_ms=10_100) > 0
    assert dirty_ratio(log, 10_100) == 0.0
    # One more closed segment: dirty, but far less than half of the cleanable bytes.
    segments = len(log.segments)
    while len(log.segments) == segments:
        append(log, batch(b"new", key=b"k0", timestamp=10_100))
    before = read_all(log)
    assert 0 < dirty_ratio(log, 10_100) <= 0.5
    assert compact(log, now_ms=10_100) == 0
    assert read_all(log) == before
    # Enough new data to make the dirty part more than half: the pass runs.
    while dirty_ratio(log, 10_100) <= 0.5:
        append(log, batch(b"more", key=b"k1", timestamp=10_100))
    assert compact(log, now_ms=10_100) > 0
    log.close()


def test_max_compaction_lag_forces_a_pass(tmp_path: Path) -> None:
    config = LogConfig(
        segment_bytes=300,
        cleanup_policy=frozenset({"compact"}),
        min_cleanable_dirty_ratio=1.0,  # the ratio alone never triggers (strictly greater)
        max_compaction_lag_ms=5_000,
    )
    log = keyed_log(tmp_path, config)
    assert compact(log, now_ms=10_100) == 0
    assert compact(log, now_ms=15_000) > 0  # the first dirty batch (10_000) waited 5 s
    log.close()


def test_cleaner_checkpoint_spares_a_restart_from_cleaning_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = keyed_log(tmp_path)
    compact(log, now_ms=10_100)
    first_dirty = log.first_dirty_offset
    expiry = log.next_tombstone_expiry_ms
    assert first_dirty == log.segments[-2].next_offset
    assert (tmp_path / "t-0" / "cleaner-offset-checkpoint").read_text() == (
        f"1\n{first_dirty}\n{-1 if expiry is None else expiry}\n"
    )
    expected = read_all(log)
    log.close()
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert (reopened.first_dirty_offset, reopened.next_tombstone_expiry_ms) == (first_dirty, expiry)
    rewrites = count_rewrites(monkeypatch)
    assert compact(reopened, now_ms=10_100) == 0
    assert rewrites == []
    assert read_all(reopened) == expected
    reopened.close()


@pytest.mark.parametrize(
    "content", [b"", b"garbage\n", b"2\n5\n-1\n", b"1\n-3\n-1\n", b"1\n5\n", b"\xff\xfe\n"]
)
def test_unreadable_cleaner_checkpoint_means_clean_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: bytes
) -> None:
    log = keyed_log(tmp_path)
    compact(log, now_ms=10_100)
    expected = read_all(log)
    log.close()
    (tmp_path / "t-0" / "cleaner-offset-checkpoint").write_bytes(content)
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert reopened.first_dirty_offset == 0
    rewrites = count_rewrites(monkeypatch)
    assert compact(reopened, now_ms=10_100) == 0  # already compact: nothing to remove
    assert rewrites  # but the pass ran over everything
    assert read_all(reopened) == expected
    reopened.close()


def test_checkpoint_beyond_a_truncated_log_is_clamped(tmp_path: Path) -> None:
    log = keyed_log(tmp_path)
    end = log.log_end_offset
    log.close()
    (tmp_path / "t-0" / "cleaner-offset-checkpoint").write_text(f"1\n{end + 100}\n-1\n")
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert reopened.first_dirty_offset == end
    reopened.close()


def test_a_segment_deleted_during_a_pass_is_not_swapped_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DeleteRecords on the loop thread while the cleaner works on a segment."""
    log = keyed_log(tmp_path)
    second_base = log.segments[1].base_offset
    original = cleaner._clean_segment
    calls: list[int] = []

    def delete_first_segment_meanwhile(*args: Any) -> Any:
        if not calls:
            log.delete_records_before(second_base)
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(cleaner, "_clean_segment", delete_first_segment_meanwhile)
    compact(log, now_ms=10_100)
    assert log.log_start_offset == second_base
    assert all(offset >= second_base for offset, _, _ in read_all(log))
    assert not list((tmp_path / "t-0").glob("*.cleaned"))
    log.close()
    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert reopened.log_start_offset == second_base
    reopened.close()
