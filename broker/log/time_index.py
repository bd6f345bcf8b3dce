"""Sparse time index of one segment: ``<20-digit base offset>.timeindex``.

File format: a flat array of 12-byte entries, big-endian::

    timestamp        i64   largest batch max-timestamp seen so far in the segment
    relative_offset  u32   base offset of the batch holding that timestamp,
                           minus the segment's base offset

Timestamps strictly increase. Entries are added alongside offset-index entries
(when the running maximum grew) and once more when the segment is rolled. An
entry (T, O) promises that every batch before O has max timestamp <= T, so the
earliest record with timestamp >= t lies at or after the batch at O of the
last entry with T < t. Like the offset index, it is rebuilt from the log when
missing or inconsistent.
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_left
from pathlib import Path

from broker.log.index_file import IndexFile

__all__ = ["TimeIndex"]

_ENTRY = struct.Struct(">qI")


class TimeIndex(IndexFile):
    """In-memory copy of the entries plus an append-only file handle."""

    ENTRY = _ENTRY

    def __init__(self, path: Path, base_offset: int) -> None:
        super().__init__(path, base_offset)
        self._timestamps = array("q")
        self._relative = array("I")

    @classmethod
    def load(cls, path: Path, base_offset: int, next_offset: int) -> TimeIndex | None:
        """Read ``path``; None when missing or inconsistent with a segment ending before ``next_offset``."""
        entries = cls.read_entries(path)
        if entries is None:
            return None
        index = cls(path, base_offset)
        previous = (None, -1)
        for timestamp, relative in entries:
            if previous[0] is not None and timestamp <= previous[0]:
                return None
            if relative < previous[1] or base_offset + relative >= max(
                next_offset, base_offset + 1
            ):
                return None
            index._timestamps.append(timestamp)
            index._relative.append(relative)
            previous = (timestamp, relative)
        index._open()
        return index

    @classmethod
    def create(cls, path: Path, base_offset: int, entries: list[tuple[int, int]]) -> TimeIndex:
        """Write a fresh index holding ``entries`` of (timestamp, absolute offset)."""
        index = cls(path, base_offset)
        for timestamp, offset in entries:
            index._timestamps.append(timestamp)
            index._relative.append(offset - base_offset)
        index._write_new(cls.encode(base_offset, entries))
        return index

    @staticmethod
    def encode(base_offset: int, entries: list[tuple[int, int]]) -> bytes:
        """File content for ``entries`` of (timestamp, absolute offset)."""
        return b"".join(
            _ENTRY.pack(timestamp, offset - base_offset) for timestamp, offset in entries
        )

    def __len__(self) -> int:
        return len(self._timestamps)

    def last_timestamp(self) -> int | None:
        return self._timestamps[-1] if self._timestamps else None

    def maybe_append(self, timestamp: int, offset: int) -> None:
        """Add (timestamp, offset) if ``timestamp`` is above the last entry's."""
        if self._timestamps and timestamp <= self._timestamps[-1]:
            return
        self._timestamps.append(timestamp)
        self._relative.append(offset - self.base_offset)
        self._append_entry(timestamp, offset - self.base_offset)

    def lookup(self, timestamp: int) -> int | None:
        """Offset of the last entry whose timestamp is < ``timestamp`` (None: scan from the start)."""
        slot = bisect_left(self._timestamps, timestamp) - 1
        return self.base_offset + self._relative[slot] if slot >= 0 else None
