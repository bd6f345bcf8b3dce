"""Background log maintenance (segment roll by time, retention, compaction) off the event loop.

``LogMaintenance`` runs a pass over every partition every
``log.retention.check.interval.ms``. The partition list is taken on the event
loop thread; the pass itself runs on one dedicated worker thread, so a large
compaction never delays produce or fetch. ``PartitionLog`` is thread-safe for
this split (see ``broker.log.partition`` and ``broker.log.cleaner``). Closing
stops the pass at the next partition or segment boundary and waits for it, so
no log is closed under a running cleaner.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Sequence

from broker.log import PartitionLog, compact

__all__ = ["LogMaintenance", "PartitionRef", "maintain_partition"]

logger = logging.getLogger(__name__)

PartitionRef = tuple[str, int, PartitionLog]
"""(topic name, partition index, its log)."""


def maintain_partition(
    name: str,
    index: int,
    log: PartitionLog,
    now_ms: int,
    should_stop: Callable[[], bool] | None = None,
) -> None:
    """Roll if due, apply retention, compact if the topic is compacted; errors are logged."""
    try:
        log.roll_if_due(now_ms)
        # Always: besides retention (delete policy) it drops segments below a
        # start offset moved by DeleteRecords.
        log.apply_retention(now_ms)
        if log.config.compact:
            compact(log, now_ms, should_stop=should_stop)
    except Exception:  # one bad partition must not stop maintenance of the others
        if log.closed:
            return  # its topic was deleted while we worked on it
        logger.exception("log maintenance failed for %s-%d", name, index)


class LogMaintenance:
    """Runs maintenance passes over ``partitions()`` on a worker thread until closed."""

    def __init__(self, partitions: Callable[[], list[PartitionRef]], interval_s: float) -> None:
        self._partitions = partitions
        self.interval_s = interval_s
        self._stop = threading.Event()
        self._pass_lock = threading.Lock()
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._running: concurrent.futures.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def run_pass(
        self, now_ms: int | None = None, partitions: Sequence[PartitionRef] | None = None
    ) -> None:
        """One pass in the calling thread (passes never overlap); stops early when closing."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        targets = self._partitions() if partitions is None else partitions
        with self._pass_lock:
            for name, index, log in targets:
                if self._stop.is_set():
                    return
                if not log.closed:
                    maintain_partition(name, index, log, now_ms, self._stop.is_set)

    async def run(self, interval_s: float | None = None) -> None:
        """Every ``interval_s`` seconds, run a pass on the worker thread and wait for it."""
        interval_s = self.interval_s if interval_s is None else interval_s
        while not self._stop.is_set():
            await asyncio.sleep(interval_s)
            if self._stop.is_set():
                break
            partitions = self._partitions()  # read the topic table on the loop thread
            now_ms = int(time.time() * 1000)
            self._running = self._worker().submit(self.run_pass, now_ms, partitions)
            await asyncio.wrap_future(self._running)

    def start(self) -> asyncio.Task[None]:
        """Start ``run`` as a task of the running loop (stopped by ``aclose``)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="log-maintenance")
        return self._task

    async def aclose(self) -> None:
        """Stop the task and wait (without blocking the loop) for a pass in progress."""
        self._stop.set()
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        running = self._running
        if running is not None and not running.done():
            with contextlib.suppress(Exception):  # already logged per partition
                await asyncio.wrap_future(running)
        self.close()

    def close(self) -> None:
        """Stop, and block until a running pass (worker thread or another caller) has ended."""
        self._stop.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None
        with self._pass_lock:
            pass

    def _worker(self) -> concurrent.futures.ThreadPoolExecutor:
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="log-maintenance"
            )
        return self._executor
