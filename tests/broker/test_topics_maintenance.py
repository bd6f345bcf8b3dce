"""Log maintenance runs off the event loop: produce and fetch are served during a compaction.

Compaction is made slow deterministically: the cleaner is patched to park on an
event before its first segment rewrite until the test releases it. Waits have a
generous safety timeout only so that a broken implementation fails instead of
hanging; nothing asserts on elapsed time.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import peewee
import pytest

from broker.log import cleaner
from broker.protocol.records import iter_records, read_batches
from broker.settings import BrokerSettings
from broker.topics import TopicManager
from broker.topics import maintenance as log_maintenance
from tests.broker.test_topics import produce, read_all

SAFETY_S = 20
SETTINGS = BrokerSettings(
    data_dir=Path("unused"),  # TopicManager takes its log directory separately
    log_flush_messages=1,
    default_partitions=1,
    log_retention_check_interval_ms=10,
    auto_create_topics=True,
)


class HeldCompaction:
    """Parks the first segment rewrite until ``release``; records what happened."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()
        self.compacted = threading.Event()
        self.released_by_safety_timeout = False
        clean_segment = cleaner._clean_segment
        compact = log_maintenance.compact

        def held_clean_segment(*args: Any) -> Any:
            if not self.entered.is_set():
                self.entered.set()
                if not self.release.wait(SAFETY_S):
                    self.released_by_safety_timeout = True
            return clean_segment(*args)

        def observed_compact(*args: Any, **kwargs: Any) -> int:
            removed = compact(*args, **kwargs)
            if self.entered.is_set():
                self.compacted.set()
            return removed

        monkeypatch.setattr(cleaner, "_clean_segment", held_clean_segment)
        monkeypatch.setattr(log_maintenance, "compact", observed_compact)


def compacted_topic(database: peewee.Database, tmp_path: Path) -> TopicManager:
    """A manager with topic "table": 12 records over keys k0/k1 in 200-byte segments."""
    manager = TopicManager(database, tmp_path / "log", SETTINGS)
    manager.create("table", 1, 1, {"cleanup.policy": "compact", "segment.bytes": "200"})
    for i in range(12):
        produce(manager, "table", 0, b"v%d" % i, key=b"k%d" % (i % 2), now_ms=10_000 + i)
    assert len(manager.partition("table", 0).segments) > 2
    return manager


def records(manager: TopicManager, offset: int) -> list[tuple[int, bytes | None, bytes | None]]:
    data = manager.partition("table", 0).read(offset, 1 << 20)
    return [
        (header.base_offset + record.offset_delta, record.key, record.value)
        for header in read_batches(data)
        for record in iter_records(data, header)
    ]


def test_produce_and_fetch_are_served_while_a_compaction_is_held(
    database: peewee.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldCompaction(monkeypatch)

    async def scenario() -> None:
        manager = compacted_topic(database, tmp_path)
        try:
            manager.start_maintenance()
            # Waiting in a thread leaves the loop free; were compaction run on the
            # loop, this would only return once the safety timeout released it.
            assert await asyncio.to_thread(held.entered.wait, SAFETY_S)
            produce(manager, "table", 0, b"fresh", key=b"k9", now_ms=20_000)
            assert records(manager, 12) == [(12, b"k9", b"fresh")]
            assert not held.released_by_safety_timeout, "produce/fetch waited for compaction"
            held.release.set()
            assert await asyncio.to_thread(held.compacted.wait, SAFETY_S)
            remaining = read_all(manager.partition("table", 0))
            assert len(remaining) < 13
            latest = {key: value for _, key, value in remaining}
            assert latest == {b"k0": b"v10", b"k1": b"v11", b"k9": b"fresh"}
        finally:
            held.release.set()
            await manager.aclose()

    asyncio.run(scenario())


def test_aclose_waits_for_the_running_pass(
    database: peewee.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldCompaction(monkeypatch)

    async def scenario() -> None:
        manager = compacted_topic(database, tmp_path)
        log = manager.partition("table", 0)
        task = manager.start_maintenance()
        try:
            assert await asyncio.to_thread(held.entered.wait, SAFETY_S)
            closing = asyncio.create_task(manager.aclose())
            for _ in range(20):  # let aclose run as far as it can
                await asyncio.sleep(0)
            assert task.done()
            assert not closing.done(), "aclose returned while a pass was running"
            assert not log.closed
        finally:
            held.release.set()
        await closing
        assert held.compacted.is_set()
        assert log.closed

    asyncio.run(scenario())


def test_close_stops_a_pass_between_partitions(
    database: peewee.Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A synchronous close() from another thread waits, then no later partition is touched."""
    held = HeldCompaction(monkeypatch)
    manager = compacted_topic(database, tmp_path)
    manager.create("later", 1, 1, {"cleanup.policy": "compact", "segment.bytes": "200"})
    touched: list[str] = []
    maintain = log_maintenance.maintain_partition

    def recording(name: str, *args: Any, **kwargs: Any) -> None:
        touched.append(name)
        maintain(name, *args, **kwargs)

    monkeypatch.setattr(log_maintenance, "maintain_partition", recording)
    worker = threading.Thread(target=manager.maintenance_pass, kwargs={"now_ms": 20_000})
    worker.start()
    assert held.entered.wait(SAFETY_S)
    closer = threading.Thread(target=manager.close)
    closer.start()
    held.release.set()
    closer.join(SAFETY_S)
    worker.join(SAFETY_S)
    assert not closer.is_alive() and not worker.is_alive()
    assert touched == ["table"]
