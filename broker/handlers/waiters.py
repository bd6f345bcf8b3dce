"""Wake-ups for long-polling fetches: produce notifies, fetch waits until data or timeout."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

__all__ = ["AppendWaiters"]


class AppendWaiters:
    """Futures of fetches waiting for appends to any of a set of (topic, partition)s."""

    def __init__(self) -> None:
        self._waiting: dict[tuple[str, int], set[asyncio.Future[None]]] = {}

    def notify(self, topic: str, partition: int) -> None:
        """Wake every fetch waiting on this partition."""
        futures = self._waiting.pop((topic, partition), None)
        if futures:
            for future in futures:
                if not future.done():
                    future.set_result(None)

    async def wait(self, partitions: Iterable[tuple[str, int]], timeout: float) -> bool:
        """Wait until one of ``partitions`` gets an append; False when ``timeout`` passes first."""
        keys = list(partitions)
        if timeout <= 0 or not keys:
            return False
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        for key in keys:
            self._waiting.setdefault(key, set()).add(future)
        try:
            await asyncio.wait_for(asyncio.shield(future), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            for key in keys:
                waiting = self._waiting.get(key)
                if waiting is not None:
                    waiting.discard(future)
                    if not waiting:
                        del self._waiting[key]
