"""Compaction on another thread than appends and reads: nothing lost, duplicated or altered."""

from __future__ import annotations

import threading
from pathlib import Path

from broker.log import LogConfig, PartitionLog, compact
from tests.broker.log.helpers import append, batch, read_all

APPENDS = 800
CONFIG = LogConfig(
    segment_bytes=400,
    cleanup_policy=frozenset({"compact"}),
    min_cleanable_dirty_ratio=0.0,  # clean whenever anything is dirty: as many passes as possible
    flush_messages=1 << 40,  # no fsync per append: more appends per compaction pass
)


def key_for(i: int) -> bytes:
    """Mostly a few hot keys (rewritten often), sometimes a key seen once."""
    return b"u%d" % i if i % 5 == 0 else b"hot%d" % (i % 7)


def test_concurrent_appends_reads_and_compaction(tmp_path: Path) -> None:
    log = PartitionLog.open(tmp_path / "t-0", CONFIG)
    appended: dict[int, tuple[bytes, bytes]] = {}
    stop = threading.Event()
    failures: list[BaseException] = []
    passes = [0]

    def clean_until_stopped() -> None:
        try:
            while not stop.is_set():
                compact(log, now_ms=1_000_000)
                passes[0] += 1
        except BaseException as exc:  # reported by the main thread
            failures.append(exc)

    cleaner = threading.Thread(target=clean_until_stopped)
    cleaner.start()
    try:
        for i in range(APPENDS):
            key, value = key_for(i), b"value-%d" % i
            result = append(log, batch(value, key=key, timestamp=10_000 + i))
            appended[result.base_offset] = (key, value)
            if i % 100 == 0:
                seen = read_all(log)  # reads interleave with swaps too
                assert all(appended[offset] == (k, v) for offset, k, v in seen)
    finally:
        stop.set()
        cleaner.join(timeout=60)
    assert not cleaner.is_alive()
    assert failures == []
    assert passes[0] > 0
    compact(log, now_ms=1_000_000)

    after = read_all(log)
    offsets = [offset for offset, _, _ in after]
    assert offsets == sorted(set(offsets)), "an offset was duplicated or reordered"
    for offset, key, value in after:
        assert appended[offset] == (key, value), f"record at {offset} was altered"
    latest: dict[bytes, int] = {}
    for offset, (key, _) in sorted(appended.items()):
        latest[key] = offset
    assert set(latest.values()) <= set(offsets), "the latest record of a key was lost"
    active_base = log.active_segment.base_offset
    closed_keys = [key for offset, key, _ in after if offset < active_base]
    assert len(closed_keys) == len(set(closed_keys)), "closed segments were not fully compacted"
    assert log.log_end_offset == APPENDS
    log.close()

    reopened = PartitionLog.open(tmp_path / "t-0", CONFIG)
    assert read_all(reopened) == after
    reopened.close()
