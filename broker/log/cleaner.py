"""Log compaction (cleanup.policy=compact): keep the latest record per key (filling in)."""

from __future__ import annotations

from broker.log.partition import PartitionLog

__all__ = ["compact"]


def compact(log: PartitionLog, now_ms: int) -> int:
    """Compact the closed segments of ``log``; returns the number of records removed."""
    raise NotImplementedError
