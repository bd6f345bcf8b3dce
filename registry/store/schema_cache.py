"""The one per-process cache of schemas by id: rows, and which of them are still found.

A schema row never changes once committed and is never deleted, so rows are
kept until the cache is full (the oldest goes first). What can change is
whether an id is *found*: a permanent delete that removes the last version
using a schema makes its id "not found", possibly in another worker, process or
host. The process that makes the delete calls ``invalidate()`` right after its
commit; every other process calls it when its outbox follower delivers the
delete's event (``registry.events``), so other processes stop answering from
the cache within the follower's latency, as Confluent's instances do (why,
with figures: ``docs/decisions.md``). ``invalidate()`` forgets which ids are
found, not the rows.

A found mark is filed only if no invalidation happened while its row was being
read, so a delete committed during that read cannot leave a stale mark behind.
Only found ids are marked (a registration can make an unknown id found without
any delete).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["SchemaCache"]

T = TypeVar("T")


class SchemaCache(Generic[T]):
    """Committed schema rows by id, and the ids found until the next ``invalidate()``.

    Bounded to ``max_entries`` rows. Safe to share between the threads of a process.
    """

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self._rows: dict[int, T] = {}
        self._found: set[int] = set()
        self._lock = threading.Lock()
        self._epoch = 0  # raised by every invalidate()

    def row(self, schema_id: int, load: Callable[[int], T | None], *, file: bool) -> T | None:
        """The row with ``schema_id``, from the cache or ``load``; filed only when ``file``
        (the caller read it outside any transaction, so it is committed)."""
        cached = self._rows.get(schema_id)
        if cached is not None:
            return cached
        stored = load(schema_id)
        if stored is not None and file:
            with self._lock:
                self._file(schema_id, stored)
        return stored

    def found(self, schema_id: int, load_found: Callable[[int], T | None]) -> T | None:
        """The row with ``schema_id`` if some version uses it: from the cache while marked
        found, else from ``load_found`` (and then marked)."""
        if schema_id in self._found:
            cached = self._rows.get(schema_id)
            if cached is not None:
                return cached
        epoch = self._epoch
        # Read only now: an invalidation before this point follows a delete that
        # ``load_found`` sees, and one after it moves the epoch past the one read above.
        stored = load_found(schema_id)
        if stored is not None:
            with self._lock:
                self._file(schema_id, stored)
                if epoch == self._epoch:
                    self._found.add(schema_id)
        return stored

    def invalidate(self) -> None:
        """Forget which ids are found (a permanent delete committed; some may be gone)."""
        with self._lock:
            self._epoch += 1
            self._found.clear()

    def _file(self, schema_id: int, stored: T) -> None:
        if schema_id not in self._rows and len(self._rows) >= self.max_entries:
            oldest = next(iter(self._rows))
            del self._rows[oldest]
            self._found.discard(oldest)
        self._rows[schema_id] = stored

    def __len__(self) -> int:
        return len(self._rows)
