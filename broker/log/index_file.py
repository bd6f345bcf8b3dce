"""What the offset index and the time index share: a flat file of fixed-size entries.

Each index keeps its entries in memory (for bisecting) and holds an append-only
descriptor to add entries at the end; the file is a cache of the segment and is
rebuilt by recovery, so it is never fsynced on its own except on ``flush``.
"""

from __future__ import annotations

import os
import struct
from pathlib import Path

__all__ = ["IndexFile"]


class IndexFile:
    """Base of ``OffsetIndex`` and ``TimeIndex``; subclasses set ``ENTRY``."""

    ENTRY: struct.Struct

    def __init__(self, path: Path, base_offset: int) -> None:
        self.path = path
        self.base_offset = base_offset
        self._fd = -1

    @classmethod
    def read_entries(cls, path: Path) -> list[tuple[int, ...]] | None:
        """Every entry of ``path``; None when the file is missing or not whole entries."""
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return None
        if len(raw) % cls.ENTRY.size:
            return None
        return list(cls.ENTRY.iter_unpack(raw))

    def _write_new(self, payload: bytes) -> None:
        self.path.write_bytes(payload)
        self._open()

    def _open(self) -> None:
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def _append_entry(self, *fields: int) -> None:
        os.write(self._fd, self.ENTRY.pack(*fields))

    def flush(self) -> None:
        if self._fd >= 0:
            os.fsync(self._fd)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
