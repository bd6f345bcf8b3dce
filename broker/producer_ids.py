"""Persistent producer id allocation for idempotent producers.

Ids are handed out from blocks; before the first id of a block is used, the
block's end is written (atomically, fsynced) to ``producer_ids`` in the data
directory, so after any restart or crash allocation resumes past every id that
may have been handed out and no id is ever reused. File format: one line, the
decimal next unreserved producer id.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["BLOCK_SIZE", "ProducerIdAllocator"]

BLOCK_SIZE = 1000
FILE_NAME = "producer_ids"


class ProducerIdAllocator:
    """Allocates producer ids, never repeating one across restarts of the same data dir."""

    def __init__(self, data_dir: Path, block_size: int = BLOCK_SIZE) -> None:
        self._path = Path(data_dir) / FILE_NAME
        self._block_size = block_size
        self._next = self._read_reserved()
        self._reserved_until = self._next

    def _read_reserved(self) -> int:
        try:
            text = self._path.read_text(encoding="ascii").strip()
        except FileNotFoundError:
            return 0
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{self._path}: expected a producer id, found {text[:40]!r}") from None
        if value < 0:
            raise ValueError(f"{self._path}: negative producer id {value}")
        return value

    def _reserve(self, until: int) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self._path.with_suffix(".tmp")
        with open(temporary, "w", encoding="ascii") as handle:
            handle.write(f"{until}\n")
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, self._path)
        directory = os.open(self._path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
        self._reserved_until = until

    def allocate(self) -> int:
        """A producer id never handed out before by this data directory."""
        if self._next >= self._reserved_until:
            self._reserve(self._next + self._block_size)
        producer_id = self._next
        self._next += 1
        return producer_id
