"""What compaction does with transactions: aborted data goes, markers go once nothing needs them.

Kafka's rules (``LogCleaner``'s ``CleanedTransactionMetadata``), applied while
one pass reads the cleanable segments in offset order:

- a transactional batch belongs to an aborted transaction when the partition's
  aborted-transaction index holds an entry of its producer whose range
  ``[first_offset, last_offset]`` covers it; such a batch is removed whole and
  never counts as a key's latest value (an aborted write must not shadow the
  committed value before it);
- a COMMIT/ABORT marker is kept while its transaction still has a batch in the
  log — seen in this pass, even if this pass removes it, so a marker outlives
  its data by at least one pass; after that it is removed once its own
  timestamp is older than ``delete.retention.ms`` (the same horizon as
  tombstones, so a consumer that started reading before the data went still
  finds the marker); until then the pass reports when it may go.

Only whole segments below the last stable offset are cleaned, so every
transaction met here has ended (its marker may lie further on, in a segment not
cleaned yet: such a transaction counts as committed unless the index says
aborted, which is what it is).
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field

from broker.log.txn_index import AbortedTxn
from broker.protocol.records import CONTROL_ABORT, BatchHeader

__all__ = ["AbortedRanges", "MarkerTracker"]


class AbortedRanges:
    """Answers "is this transactional batch aborted?" from aborted-transaction index entries."""

    def __init__(self, entries: list[AbortedTxn]) -> None:
        self.entries = entries
        self._by_producer: dict[int, list[tuple[int, int]]] = {}
        for entry in entries:
            self._by_producer.setdefault(entry.producer_id, []).append(
                (entry.first_offset, entry.last_offset)
            )
        for ranges in self._by_producer.values():
            ranges.sort()

    def is_aborted(self, header: BatchHeader) -> bool:
        if not header.is_transactional or header.is_control:
            return False
        ranges = self._by_producer.get(header.producer_id)
        if not ranges:
            return False
        slot = bisect_right(ranges, (header.base_offset, 2**63)) - 1
        return slot >= 0 and ranges[slot][0] <= header.base_offset <= ranges[slot][1]


@dataclass(slots=True)
class _Txn:
    kept: bool = False
    """A batch of the transaction stays in the log after this pass."""


@dataclass(slots=True)
class MarkerTracker:
    """Follows one pass in offset order and decides each marker's fate."""

    horizon_ms: int
    """Markers whose timestamp is below this may go once their transaction has no data."""
    delete_retention_ms: int
    now_ms: int
    dropped_aborts: list[tuple[int, int]] = field(default_factory=list)
    """(producer id, marker offset) of each ABORT marker removed: their index entries go too."""
    next_expiry_ms: int | None = None
    """When a marker kept by this pass may be removed by a later one (None: no such marker)."""
    _open: dict[int, _Txn] = field(default_factory=dict)

    def on_data(self, header: BatchHeader, kept_records: int) -> None:
        """A transactional data batch was read; ``kept_records`` of it stay."""
        if not header.is_transactional:
            return
        txn = self._open.setdefault(header.producer_id, _Txn())
        txn.kept = txn.kept or kept_records > 0

    def keep_marker(self, header: BatchHeader, marker_type: int | None) -> bool:
        """Whether the control batch ``header`` (``marker_type``) stays in the log."""
        if marker_type is None:
            return True  # not a COMMIT/ABORT marker: left as it is
        txn = self._open.pop(header.producer_id, None)
        if txn is not None:
            if not txn.kept:  # its data goes in this pass: the marker may go in a later one
                self._expire_at(max(header.max_timestamp + self.delete_retention_ms, self.now_ms))
            return True
        if header.max_timestamp >= self.horizon_ms:
            self._expire_at(header.max_timestamp + self.delete_retention_ms)
            return True
        if marker_type == CONTROL_ABORT:
            self.dropped_aborts.append((header.producer_id, header.base_offset))
        return False

    def _expire_at(self, when_ms: int) -> None:
        when_ms += 1
        self.next_expiry_ms = (
            when_ms if self.next_expiry_ms is None else min(self.next_expiry_ms, when_ms)
        )
