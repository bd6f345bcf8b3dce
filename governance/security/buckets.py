"""Where ``RequestRateLimiter`` keeps its token buckets: in this process, or shared by workers.

A bucket is ``(tokens, at)`` under a principal. ``LocalBuckets`` is a dict
behind a thread lock (the broker's one process). ``SharedBuckets`` is a table
in anonymous shared memory with a process lock, made by gunicorn's master
before it forks the HTTP workers, so a principal's rate is counted once across
all of them, not once per worker.

``SharedBuckets`` layout: ``slots`` fixed records of 32 bytes (a 16-byte
BLAKE2b digest of the principal, then ``tokens`` and ``at`` as float64;
``at`` is ``time.monotonic()``, one clock for every process of the host).
A principal's record sits in the first free or matching slot of the 16 after
its digest's home slot; with none free, the one touched longest ago is
reused (that principal starts again from a full bucket). An all-zero digest
marks a free slot. Nothing is written to disk; it ends with the processes.
"""

from __future__ import annotations

import hashlib
import mmap
import multiprocessing
import struct
import threading
from typing import Any, Protocol

__all__ = ["BucketStore", "LocalBuckets", "SharedBuckets"]

_MAX_KEYS = 50_000


class BucketStore(Protocol):
    lock: Any
    """Held around a read-modify-write of one bucket."""

    def get(self, key: str) -> tuple[float, float] | None: ...

    def put(self, key: str, tokens: float, at: float) -> None: ...


class LocalBuckets:
    """Buckets of this process only."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def get(self, key: str) -> tuple[float, float] | None:
        return self._buckets.get(key)

    def put(self, key: str, tokens: float, at: float) -> None:
        if len(self._buckets) >= _MAX_KEYS and key not in self._buckets:
            self._buckets.clear()  # a flood of principals: start over rather than grow
        self._buckets[key] = (tokens, at)


_RECORD = struct.Struct("=16sdd")
_PROBE = 16
_FREE = bytes(16)


class SharedBuckets:
    """Buckets in shared memory: make it before forking; every child shares it."""

    def __init__(self, slots: int = 8192) -> None:
        self.slots = slots
        self.lock = multiprocessing.Lock()
        self._memory = mmap.mmap(-1, slots * _RECORD.size)  # anonymous and MAP_SHARED

    def _read(self, slot: int) -> tuple[bytes, float, float]:
        return _RECORD.unpack_from(self._memory, slot * _RECORD.size)  # type: ignore[return-value]

    def _find(self, digest: bytes) -> tuple[int, bool]:
        """The slot holding ``digest`` (True), else the slot to write it to (False)."""
        home = int.from_bytes(digest[:8], "little") % self.slots
        oldest, oldest_at = home, float("inf")
        for step in range(_PROBE):
            slot = (home + step) % self.slots
            held, _tokens, at = self._read(slot)
            if held == digest:
                return slot, True
            if held == _FREE:
                return slot, False
            if at < oldest_at:
                oldest, oldest_at = slot, at
        return oldest, False

    def get(self, key: str) -> tuple[float, float] | None:
        slot, found = self._find(_digest(key))
        if not found:
            return None
        _held, tokens, at = self._read(slot)
        return tokens, at

    def put(self, key: str, tokens: float, at: float) -> None:
        digest = _digest(key)
        slot, _found = self._find(digest)
        _RECORD.pack_into(self._memory, slot * _RECORD.size, digest, tokens, at)


def _digest(key: str) -> bytes:
    digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
    return digest if digest != _FREE else b"\x01" + digest[1:]
