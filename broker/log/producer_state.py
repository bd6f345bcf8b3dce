"""Idempotent-producer bookkeeping of one partition, and its snapshot files.

For every producer id the partition remembers the current epoch and the
sequence ranges and offsets of its last five batches, which is what Kafka
keeps (``ProducerStateManager``) to answer a retried batch with its original
offsets and to reject gaps. Checks follow Kafka's ``ProducerAppendInfo``:

- epoch below the current one → ``InvalidProducerEpoch``;
- a new (higher) epoch must start at sequence 0 → else ``OutOfOrderSequenceNumber``,
  unless the producer is unknown here (expired or removed state: any sequence
  is accepted, as Kafka does since KIP-360);
- same epoch: a batch whose first and last sequence match a remembered batch is
  a duplicate → ``DuplicateBatch`` (a ``DuplicateSequenceNumber``) carrying the
  original offsets; otherwise its first sequence must follow the last one
  (wrapping after 2**31-1) → else ``OutOfOrderSequenceNumber``.

Snapshot file ``<20-digit offset>.snapshot``: the state after every batch
below ``offset``. Big-endian::

    magic    4 bytes  b"CPS2"
    crc      u32      CRC-32C of everything after this field
    count    i32      number of producers, then per producer:
      producer_id i64, epoch i16, last_timestamp i64, txn_first_offset i64
      (-1: no open transaction), batch_count i8,
      batch_count x (first_seq i32, last_seq i32, base_offset i64, last_offset i64)

``b"CPS1"`` snapshots (written before transactions existed) are read too:
the same without ``txn_first_offset``.

Snapshots are written (to ``.tmp`` then renamed) when a segment rolls and on
close; recovery loads the newest valid one at or below the log end offset and
replays the batch headers after it.
"""

from __future__ import annotations

import struct
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from crc32c import crc32c

from broker.errors import (
    DuplicateSequenceNumber,
    InvalidProducerEpoch,
    InvalidTxnState,
    OutOfOrderSequenceNumber,
)
from broker.log.files import write_atomically
from broker.protocol.records import BatchHeader

__all__ = [
    "DuplicateBatch",
    "ProducerEntry",
    "ProducerStateManager",
    "SNAPSHOT_SUFFIX",
]

SNAPSHOT_SUFFIX = ".snapshot"
BATCHES_KEPT = 5
_INT32_MAX = 2**31 - 1
_MAGIC = b"CPS2"
_MAGIC_V1 = b"CPS1"
_PRODUCER = struct.Struct(">qhqqb")
_PRODUCER_V1 = struct.Struct(">qhqb")
_BATCH = struct.Struct(">iiqq")


class DuplicateBatch(DuplicateSequenceNumber):
    """A retried batch already in the log; the handler answers success with these offsets."""

    def __init__(self, base_offset: int, last_offset: int) -> None:
        super().__init__(
            f"duplicate batch already appended at offsets {base_offset}..{last_offset}"
        )
        self.base_offset = base_offset
        self.last_offset = last_offset


@dataclass(slots=True)
class ProducerEntry:
    """What is remembered about one producer id."""

    epoch: int
    last_timestamp: int = -1
    batches: deque[tuple[int, int, int, int]] = field(
        default_factory=lambda: deque(maxlen=BATCHES_KEPT)
    )
    txn_first_offset: int = -1
    """First offset of this producer's open transaction in the partition; -1 when none."""

    @property
    def last_sequence(self) -> int:
        return self.batches[-1][1] if self.batches else -1

    def copy(self) -> ProducerEntry:
        return ProducerEntry(
            self.epoch,
            self.last_timestamp,
            deque(self.batches, maxlen=BATCHES_KEPT),
            self.txn_first_offset,
        )


def _in_sequence(last_sequence: int, first_sequence: int) -> bool:
    return first_sequence == last_sequence + 1 or (
        first_sequence == 0 and last_sequence == _INT32_MAX
    )


class ProducerStateManager:
    """Producer entries of one partition plus the snapshot files in its directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.producers: dict[int, ProducerEntry] = {}

    # ------------------------------------------------------------------ checks

    def validate(
        self, headers: list[BatchHeader], *, first_sequence: int | None = None
    ) -> dict[int, ProducerEntry]:
        """Check batches (with their assigned offsets) and return the updated entries.

        ``first_sequence`` (one batch only) is the sequence the producer sent the
        batch with when the gate dropped records from its front of the range
        (``records.rebuild_batch``): the batch then claims that whole range.
        Nothing changes until ``commit`` is called with the result, so a
        rejected append leaves no trace.
        """
        if first_sequence is not None and len(headers) != 1:
            raise ValueError("first_sequence applies to a single batch")
        pending: dict[int, ProducerEntry] = {}
        for header in headers:
            if header.producer_id < 0:
                continue
            current = pending.get(header.producer_id) or self.producers.get(header.producer_id)
            entry = self._check(current, header, first_sequence)
            pending[header.producer_id] = entry
        return pending

    def _check(
        self, current: ProducerEntry | None, header: BatchHeader, claimed_first: int | None = None
    ) -> ProducerEntry:
        pid, epoch = header.producer_id, header.producer_epoch
        if current is not None and epoch < current.epoch:
            raise InvalidProducerEpoch(
                f"producer {pid} epoch {epoch} is older than the current epoch {current.epoch}"
            )
        if (
            not header.is_transactional
            and current is not None
            and current.txn_first_offset >= 0
            and epoch == current.epoch
        ):
            raise InvalidTxnState(
                f"producer {pid} has an open transaction in this partition; a "
                "non-transactional batch is not allowed before it ends"
            )
        if header.is_control or header.base_sequence < 0:
            return self._advance(current, header)
        first_seq, last_seq = header.base_sequence, header.last_sequence
        if claimed_first is not None:
            first_seq = claimed_first
        if current is not None and epoch == current.epoch:
            for b_first, b_last, b_base, b_end in current.batches:
                if (b_first, b_last) == (first_seq, last_seq):
                    raise DuplicateBatch(b_base, b_end)
            if current.batches and not _in_sequence(current.last_sequence, first_seq):
                raise OutOfOrderSequenceNumber(
                    f"producer {pid} epoch {epoch}: expected sequence "
                    f"{_next_sequence(current.last_sequence)}, got {first_seq}"
                )
            if not current.batches and first_seq != 0:
                raise OutOfOrderSequenceNumber(
                    f"producer {pid} epoch {epoch}: no sequence known, a batch must start at 0, "
                    f"got {first_seq}"
                )
        elif current is not None and first_seq != 0:
            raise OutOfOrderSequenceNumber(
                f"producer {pid}: the first batch of new epoch {epoch} must have sequence 0, "
                f"got {first_seq}"
            )
        return self._advance(current, header, first_seq)

    @staticmethod
    def _advance(
        current: ProducerEntry | None, header: BatchHeader, first_sequence: int | None = None
    ) -> ProducerEntry:
        """The entry after ``header`` is appended (no checks)."""
        if current is None or header.producer_epoch != current.epoch:
            entry = ProducerEntry(header.producer_epoch)
        else:
            entry = current.copy()
        entry.last_timestamp = max(entry.last_timestamp, header.max_timestamp)
        if header.is_control:
            entry.txn_first_offset = -1
        elif header.is_transactional and entry.txn_first_offset < 0:
            entry.txn_first_offset = header.base_offset
        if not header.is_control and header.base_sequence >= 0:
            first = header.base_sequence if first_sequence is None else first_sequence
            entry.batches.append(
                (first, header.last_sequence, header.base_offset, header.last_offset)
            )
        return entry

    def commit(self, pending: dict[int, ProducerEntry]) -> None:
        self.producers.update(pending)

    def open_transaction(self, producer_id: int) -> int | None:
        """First offset of ``producer_id``'s open transaction here, or None."""
        entry = self.producers.get(producer_id)
        if entry is None or entry.txn_first_offset < 0:
            return None
        return entry.txn_first_offset

    def first_unstable_offset(self) -> int | None:
        """The smallest first offset of an open transaction (the LSO), or None when none is open."""
        open_offsets = [
            entry.txn_first_offset
            for entry in self.producers.values()
            if entry.txn_first_offset >= 0
        ]
        return min(open_offsets) if open_offsets else None

    def replay(self, header: BatchHeader) -> None:
        """Apply a batch read back from the log during recovery (no checks)."""
        if header.producer_id >= 0:
            current = self.producers.get(header.producer_id)
            if current is not None and header.producer_epoch < current.epoch:
                return
            self.producers[header.producer_id] = self._advance(current, header)

    # ------------------------------------------------------------------ snapshots

    def snapshot_path(self, offset: int) -> Path:
        return self.directory / f"{offset:020d}{SNAPSHOT_SUFFIX}"

    def snapshot_offsets(self) -> list[int]:
        offsets = []
        for path in self.directory.glob(f"*{SNAPSHOT_SUFFIX}"):
            stem = path.name[: -len(SNAPSHOT_SUFFIX)]
            if stem.isdigit():
                offsets.append(int(stem))
        return sorted(offsets)

    def write_snapshot(self, offset: int, *, keep: int = 2) -> None:
        """Persist the current state as of ``offset``, keeping the newest ``keep`` snapshots."""
        body = bytearray(struct.pack(">i", len(self.producers)))
        for pid, entry in self.producers.items():
            body += _PRODUCER.pack(
                pid, entry.epoch, entry.last_timestamp, entry.txn_first_offset, len(entry.batches)
            )
            for batch in entry.batches:
                body += _BATCH.pack(*batch)
        payload = _MAGIC + struct.pack(">I", crc32c(bytes(body))) + body
        write_atomically(self.snapshot_path(offset), payload, sync_directory=False)
        for old in self.snapshot_offsets()[:-keep]:
            self.snapshot_path(old).unlink(missing_ok=True)

    def load_snapshot(self, max_offset: int) -> int | None:
        """Load the newest valid snapshot at or below ``max_offset``; returns its offset.

        Snapshots above ``max_offset`` (the log was truncated) and unreadable
        ones are deleted. None means: start empty and replay the whole log.
        """
        self.producers = {}
        for offset in reversed(self.snapshot_offsets()):
            path = self.snapshot_path(offset)
            if offset > max_offset:
                path.unlink(missing_ok=True)
                continue
            producers = _parse_snapshot(path.read_bytes())
            if producers is None:
                path.unlink(missing_ok=True)
                continue
            self.producers = producers
            return offset
        return None

    def delete_snapshots(self) -> None:
        for offset in self.snapshot_offsets():
            self.snapshot_path(offset).unlink(missing_ok=True)


def _next_sequence(sequence: int) -> int:
    return 0 if sequence == _INT32_MAX else sequence + 1


def _parse_snapshot(raw: bytes) -> dict[int, ProducerEntry] | None:
    if len(raw) < 12 or raw[:4] not in (_MAGIC, _MAGIC_V1):
        return None
    version_1 = raw[:4] == _MAGIC_V1
    (crc,) = struct.unpack_from(">I", raw, 4)
    if crc32c(raw[8:]) != crc:
        return None
    try:
        (count,) = struct.unpack_from(">i", raw, 8)
        position = 12
        producers: dict[int, ProducerEntry] = {}
        for _ in range(count):
            if version_1:
                pid, epoch, last_timestamp, batch_count = _PRODUCER_V1.unpack_from(raw, position)
                txn_first_offset = -1
                position += _PRODUCER_V1.size
            else:
                pid, epoch, last_timestamp, txn_first_offset, batch_count = _PRODUCER.unpack_from(
                    raw, position
                )
                position += _PRODUCER.size
            entry = ProducerEntry(epoch, last_timestamp, txn_first_offset=txn_first_offset)
            for _ in range(batch_count):
                entry.batches.append(_BATCH.unpack_from(raw, position))
                position += _BATCH.size
            producers[pid] = entry
    except struct.error:
        return None
    return producers if position == len(raw) else None
