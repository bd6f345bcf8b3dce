"""A per-process cache of found schemas by id, emptied when a permanent delete is announced.

A schema's content never changes once written, but its id stops being found
when a permanent delete removes the last version using it, possibly in another
worker, process or host. The process that makes the delete calls
``invalidate()`` right after its commit; every other process calls it when its
outbox follower delivers the delete's event (``registry.events``), so other
processes stop answering from the cache within the follower's latency, as
Confluent's instances do (why, with figures: ``docs/decisions.md``).

An entry is filed only if no invalidation happened while its row was being
read, so a delete committed during that read cannot leave a stale entry behind.
Only found schemas are cached (a registration can make an unknown id found
without any delete).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["SchemaCache"]

T = TypeVar("T")


class SchemaCache(Generic[T]):
    """Found schemas by id until the next ``invalidate()``.

    Bounded to ``max_entries`` (the oldest entry goes first). Safe to share
    between the threads of a process.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._entries: dict[int, T] = {}
        self._lock = threading.Lock()
        self._epoch = 0  # raised by every invalidate()

    def get(self, schema_id: int, load: Callable[[int], T | None]) -> T | None:
        """The schema with ``schema_id`` from the cache, else from ``load`` (and then cached)."""
        cached = self._entries.get(schema_id)
        if cached is not None:
            return cached
        epoch = self._epoch
        # Read the row only now: an invalidation before this point follows a delete that
        # ``load`` sees, and one after it moves the epoch past the one read above.
        stored = load(schema_id)
        if stored is not None:
            with self._lock:
                if epoch == self._epoch:
                    if len(self._entries) >= self.max_entries:
                        del self._entries[next(iter(self._entries))]
                    self._entries[schema_id] = stored
        return stored

    def invalidate(self) -> None:
        """Forget every entry (a permanent delete committed; some ids may be gone)."""
        with self._lock:
            self._epoch += 1
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
