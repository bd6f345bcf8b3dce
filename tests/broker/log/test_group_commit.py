"""Group commit: deferred fsyncs, one sync for every append waiting, failures reach the waiters."""

from __future__ import annotations

import asyncio
import os
import threading
from pathlib import Path

import pytest

from broker.log import LogConfig, PartitionLog
from broker.log.group_commit import GroupCommit
from broker.protocol.records import read_batches
from tests.broker.log.helpers import batch


class _FakeLog:
    """Stands in for a PartitionLog: ``sync`` blocks until released and counts its calls."""

    def __init__(self) -> None:
        self.syncs = 0
        self.entered = threading.Semaphore(0)
        self.release = threading.Semaphore(0)
        self.error: OSError | None = None

    def sync(self) -> None:
        self.syncs += 1
        self.entered.release()
        self.release.acquire(timeout=30)
        if self.error is not None:
            raise self.error


async def _entered(log: _FakeLog) -> None:
    assert await asyncio.to_thread(log.entered.acquire, True, 30)


def test_appends_waiting_during_a_sync_share_the_next_one() -> None:
    async def scenario() -> None:
        commit = GroupCommit()
        log = _FakeLog()
        first = commit.flush(log)  # type: ignore[arg-type]
        await _entered(log)
        waiting = [commit.flush(log) for _ in range(5)]  # type: ignore[arg-type]
        assert not first.done() and not any(f.done() for f in waiting)
        log.release.release()
        await first
        await _entered(log)  # the second sync covers all five
        assert not any(f.done() for f in waiting)
        log.release.release()
        await asyncio.gather(*waiting)
        assert log.syncs == 2
        await commit.aclose()

    asyncio.run(scenario())


def test_a_failed_sync_fails_every_append_it_covered() -> None:
    async def scenario() -> None:
        commit = GroupCommit()
        log = _FakeLog()
        log.error = OSError(5, "Input/output error")
        futures = [commit.flush(log) for _ in range(3)]  # type: ignore[arg-type]
        log.release.release(2)  # the first covers one, the second the other two
        results = await asyncio.gather(*futures, return_exceptions=True)
        assert all(isinstance(result, OSError) for result in results)
        assert log.syncs == 2
        await commit.aclose()

    asyncio.run(scenario())


def test_cancelling_one_wait_leaves_the_others() -> None:
    async def scenario() -> None:
        commit = GroupCommit()
        log = _FakeLog()
        running = commit.flush(log)  # type: ignore[arg-type]
        await _entered(log)
        cancelled, kept = commit.flush(log), commit.flush(log)  # type: ignore[arg-type]
        cancelled.cancel()
        log.release.release()
        await running
        await _entered(log)
        log.release.release()
        await kept
        assert log.syncs == 2 and cancelled.cancelled()
        await commit.aclose()

    asyncio.run(scenario())


def test_separate_logs_sync_separately() -> None:
    async def scenario() -> None:
        commit = GroupCommit()
        one, two = _FakeLog(), _FakeLog()
        futures = [commit.flush(one), commit.flush(two)]  # type: ignore[arg-type]
        await _entered(one)
        await _entered(two)  # both run at once, in two worker threads
        one.release.release()
        two.release.release()
        await asyncio.gather(*futures)
        assert (one.syncs, two.syncs) == (1, 1)
        await commit.aclose()

    asyncio.run(scenario())


def _count_fdatasync(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    real = os.fdatasync

    def counting(fd: int) -> None:
        calls.append(fd)
        real(fd)

    monkeypatch.setattr(os, "fdatasync", counting)
    return calls


def test_deferred_append_leaves_the_fsync_to_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig())
    calls = _count_fdatasync(monkeypatch)
    data = batch(b"a", b"b")
    result = log.append(data, read_batches(data), now_ms=1, defer_flush=True)
    assert result.flush_due and calls == []
    log.sync()
    assert len(calls) == 1
    inline = log.append(data, read_batches(data), now_ms=2)  # not deferred: synced inline
    assert not inline.flush_due and len(calls) == 2
    log.close()


def test_flush_messages_still_decides_when_an_fsync_is_due(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    log = PartitionLog.open(tmp_path / "t-0", LogConfig(flush_messages=5))
    calls = _count_fdatasync(monkeypatch)
    data = batch(b"a", b"b")
    due = [
        log.append(data, read_batches(data), now_ms=1, defer_flush=True).flush_due for _ in range(6)
    ]
    assert due == [False, False, True, False, False, True]  # at 6 messages, then 6 more
    assert calls == []
    log.close()
