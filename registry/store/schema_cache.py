"""A per-process cache of schemas by id that stays correct across processes and hosts.

A schema's content never changes once written, but its id stops being found
when a permanent delete removes the last version using it, possibly in another
worker, process or host. ``GenerationCache`` therefore reads, on every lookup,
the ``registry_generation`` row, which every permanent delete raises in its own
transaction (one primary-key lookup), and empties itself when the value has
moved. That is correct "immediately afterwards": once a delete has committed,
the next lookup in every process sees the new value before it looks at its
entries. An entry is filed only under the value read *before* its row was read,
so a delete committed while the row was being read cannot leave a stale entry
behind. Only found schemas are cached (a registration can make an unknown id
found without any delete). Why this signal and not SQLite's ``PRAGMA
data_version`` or PostgreSQL's LISTEN/NOTIFY, with figures: ``docs/decisions.md``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["GenerationCache"]

T = TypeVar("T")


class GenerationCache(Generic[T]):
    """Found schemas by id, valid while ``read_generation()`` keeps its value.

    Bounded to ``max_entries`` (the oldest entry goes first). Safe to share
    between the threads of a process.
    """

    def __init__(self, read_generation: Callable[[], int], max_entries: int) -> None:
        self.max_entries = max_entries
        self._read_generation = read_generation
        self._entries: dict[int, T] = {}
        self._lock = threading.Lock()
        self._generation = -1  # the value the entries were read under

    def get(self, schema_id: int, load: Callable[[int], T | None]) -> T | None:
        """The schema with ``schema_id`` from the cache when still valid, else from ``load``."""
        generation = self._read_generation()
        if generation == self._generation:
            cached = self._entries.get(schema_id)
            if cached is not None:
                return cached
        else:
            with self._lock:
                if generation > self._generation:
                    self._entries.clear()
                    self._generation = generation
        # Read the row only now: a delete committed before this point is seen by ``load``, and
        # one committed after it moves the generation past the one the entry is filed under.
        stored = load(schema_id)
        if stored is not None:
            with self._lock:
                # An older value than the cache's means an older snapshot: file nothing from it.
                if generation == self._generation:
                    if len(self._entries) >= self.max_entries:
                        del self._entries[next(iter(self._entries))]
                    self._entries[schema_id] = stored
        return stored

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
