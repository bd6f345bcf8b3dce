"""Group commit: partition logs fsynced off the event loop, one fsync for every append waiting.

The broker appends with ``PartitionLog.append(defer_flush=True)`` and, when the
append says ``flush_due``, asks ``GroupCommit.flush(log)`` for a future that is
done once the data is on disk. Per log, at most one ``sync()`` runs at a time,
in a worker thread: appends made while it runs wait for the next one, which
starts as soon as it ends and covers all of them. So a busy partition pays one
fsync per fsync-duration rather than one per request, acks=all still waits for
the fsync that covers its append, and other connections are served while the
fsync runs. Different partitions sync in parallel (up to ``max_workers``).

Runs on the event loop thread (``flush`` and the completion callbacks); only
``PartitionLog.sync`` runs in the workers.
"""

from __future__ import annotations

import asyncio
import functools
import weakref
from concurrent.futures import ThreadPoolExecutor

from broker.log.partition import PartitionLog

__all__ = ["GroupCommit"]


class _LogSyncs:
    """A log's sync in progress (if any) and the appends waiting for the next one."""

    __slots__ = ("running", "waiting")

    def __init__(self) -> None:
        self.running = False
        self.waiting: list[asyncio.Future[None]] = []


class GroupCommit:
    """Runs ``PartitionLog.sync`` in worker threads, batching every append that waits."""

    def __init__(self, max_workers: int = 4) -> None:
        self._executor = ThreadPoolExecutor(max_workers, thread_name_prefix="charter-fsync")
        self._logs: weakref.WeakKeyDictionary[PartitionLog, _LogSyncs] = weakref.WeakKeyDictionary()

    def flush(self, log: PartitionLog) -> asyncio.Future[None]:
        """A future done when everything ``log`` holds now is on disk (or failing like fsync).

        Each caller gets its own future, so cancelling one wait affects no other.
        """
        future = asyncio.get_running_loop().create_future()
        syncs = self._logs.get(log)
        if syncs is None:
            syncs = self._logs[log] = _LogSyncs()
        syncs.waiting.append(future)
        if not syncs.running:
            self._start(log, syncs)
        return future

    def _start(self, log: PartitionLog, syncs: _LogSyncs) -> None:
        covered, syncs.waiting = syncs.waiting, []
        syncs.running = True
        done = asyncio.get_running_loop().run_in_executor(self._executor, log.sync)
        done.add_done_callback(functools.partial(self._finished, log, syncs, covered))

    def _finished(
        self,
        log: PartitionLog,
        syncs: _LogSyncs,
        covered: list[asyncio.Future[None]],
        done: asyncio.Future[None],
    ) -> None:
        syncs.running = False
        cancelled = done.cancelled()
        error = None if cancelled else done.exception()
        for future in covered:
            if future.done():
                continue
            if cancelled:
                future.cancel()
            elif error is not None:
                future.set_exception(error)
            else:
                future.set_result(None)
        if syncs.waiting:
            self._start(log, syncs)

    async def aclose(self) -> None:
        """Wait for the syncs in progress, then stop the worker threads."""
        await asyncio.get_running_loop().run_in_executor(None, self._executor.shutdown)
