"""Sparse offset index of one segment: ``<20-digit base offset>.index``.

File format: a flat array of 8-byte entries, big-endian::

    relative_offset  u32   base offset of a batch minus the segment's base offset
    position         u32   byte position of that batch in the ``.log`` file

Both columns strictly increase. An entry is added for the first batch written
after at least ``index.interval.bytes`` bytes since the previous entry, so a
lookup lands at most about that many bytes before the batch wanted and the log
is scanned forward from there (no entry means: start at position 0).

The index is a cache of the log: recovery rebuilds it from the ``.log`` file
whenever it is missing or fails ``is_consistent``. It is written with plain
appends and never fsynced on its own (the segment's recovery does not need it).
"""

from __future__ import annotations

import struct
from array import array
from bisect import bisect_right
from pathlib import Path

from broker.log.index_file import IndexFile

__all__ = ["OffsetIndex"]

_ENTRY = struct.Struct(">II")


class OffsetIndex(IndexFile):
    """In-memory copy of the entries plus an append-only file handle."""

    ENTRY = _ENTRY

    def __init__(self, path: Path, base_offset: int) -> None:
        super().__init__(path, base_offset)
        self._relative = array("I")
        self._positions = array("I")

    @classmethod
    def load(cls, path: Path, base_offset: int, log_size: int) -> OffsetIndex | None:
        """Read ``path``; None when it is missing or inconsistent with a log of ``log_size``."""
        entries = cls.read_entries(path)
        if entries is None:
            return None
        index = cls(path, base_offset)
        previous = (-1, -1)
        for relative, position in entries:
            if relative <= previous[0] or position <= previous[1] or position >= log_size:
                return None
            index._relative.append(relative)
            index._positions.append(position)
            previous = (relative, position)
        index._open()
        return index

    @classmethod
    def create(cls, path: Path, base_offset: int, entries: list[tuple[int, int]]) -> OffsetIndex:
        """Write a fresh index holding ``entries`` of (absolute offset, position)."""
        index = cls(path, base_offset)
        for offset, position in entries:
            index._relative.append(offset - base_offset)
            index._positions.append(position)
        index._write_new(cls.encode(base_offset, entries))
        return index

    @staticmethod
    def encode(base_offset: int, entries: list[tuple[int, int]]) -> bytes:
        """File content for ``entries`` of (absolute offset, position)."""
        return b"".join(_ENTRY.pack(offset - base_offset, position) for offset, position in entries)

    def __len__(self) -> int:
        return len(self._relative)

    def last(self) -> tuple[int, int] | None:
        """(absolute offset, position) of the last entry."""
        if not self._relative:
            return None
        return self.base_offset + self._relative[-1], self._positions[-1]

    def append(self, offset: int, position: int) -> None:
        relative = offset - self.base_offset
        self._relative.append(relative)
        self._positions.append(position)
        self._append_entry(relative, position)

    def lookup(self, offset: int) -> int:
        """Position of the last indexed batch whose base offset is <= ``offset`` (else 0)."""
        slot = bisect_right(self._relative, offset - self.base_offset) - 1
        return self._positions[slot] if slot >= 0 else 0
