"""Idempotent-producer bookkeeping per partition (filling in)."""

from __future__ import annotations

from broker.errors import DuplicateSequenceNumber

__all__ = ["DuplicateBatch"]


class DuplicateBatch(DuplicateSequenceNumber):
    """A retried batch already in the log; the handler answers success with these offsets."""

    def __init__(self, base_offset: int, last_offset: int) -> None:
        super().__init__(
            f"duplicate batch already appended at offsets {base_offset}..{last_offset}"
        )
        self.base_offset = base_offset
        self.last_offset = last_offset
