"""One partition's durable log: a directory of segments plus checkpoints (API first; filling in)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from broker.log.config import LogConfig
from broker.records import BatchHeader

__all__ = ["AppendResult", "PartitionLog", "TimestampOffset"]


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Offsets assigned by ``append``; ``log_append_time_ms`` is -1 for CreateTime topics."""

    base_offset: int
    last_offset: int
    log_append_time_ms: int
    log_start_offset: int


class TimestampOffset(NamedTuple):
    """Answer of ``offset_for_timestamp``: the first offset whose timestamp >= target."""

    offset: int
    timestamp: int


class PartitionLog:
    """A partition directory of ``<base offset>.log`` segments with indexes and checkpoints.

    All methods are synchronous and meant to be called from the broker's event
    loop thread (an internal lock also makes calls from a maintenance thread safe).
    """

    @classmethod
    def open(cls, directory: Path, config: LogConfig) -> PartitionLog:
        """Open (creating if needed) the log in ``directory`` and run ``recover()``."""
        raise NotImplementedError

    @property
    def log_start_offset(self) -> int:
        raise NotImplementedError

    @property
    def log_end_offset(self) -> int:
        """The offset the next appended record will get."""
        raise NotImplementedError

    @property
    def size_bytes(self) -> int:
        raise NotImplementedError

    def recover(self) -> None:
        """Truncate a torn tail, rebuild bad indexes, delete leftovers, rebuild producer state."""
        raise NotImplementedError

    def append(
        self, records: bytes | memoryview, headers: list[BatchHeader], *, now_ms: int
    ) -> AppendResult:
        """Assign offsets, check producer state and size, write durably, then return.

        ``headers`` is ``read_batches(records)``. Raises ``RecordTooLarge``,
        ``DuplicateSequenceNumber`` (with ``.base_offset``/``.last_offset`` of the
        original append), ``OutOfOrderSequenceNumber``, ``InvalidProducerEpoch``,
        ``InvalidRecord`` (null key on a compacted topic).
        """
        raise NotImplementedError

    def read(self, fetch_offset: int, max_bytes: int, *, max_offset: int | None = None) -> bytes:
        """Whole batches from the one containing ``fetch_offset``; at least one batch.

        Batches whose base offset is >= ``max_offset`` are left out. Raises
        ``OffsetOutOfRange`` outside [log_start_offset, log_end_offset].
        """
        raise NotImplementedError

    def offset_for_timestamp(self, timestamp_ms: int) -> TimestampOffset | None:
        """The earliest record with timestamp >= ``timestamp_ms``, or None."""
        raise NotImplementedError

    def delete_records_before(self, offset: int) -> int:
        """Move the log start offset up to ``offset`` (persisted); returns the new start."""
        raise NotImplementedError

    def reconfigure(self, config: LogConfig) -> None:
        raise NotImplementedError

    def roll_if_due(self, now_ms: int) -> bool:
        """Roll the active segment if segment.ms has passed; True if it rolled."""
        raise NotImplementedError

    def apply_retention(self, now_ms: int) -> int:
        """Delete whole segments past retention.ms / retention.bytes; returns how many."""
        raise NotImplementedError

    def flush(self) -> None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def delete(self) -> None:
        """Close and remove the partition directory."""
        raise NotImplementedError
