"""One partition's durable log: a directory of segments plus checkpoint files.

Directory layout (see docs/storage.md)::

    00000000000000000000.log        segment: record batches (broker.log.segment)
    00000000000000000000.index      sparse offset index (broker.log.index)
    00000000000000000000.timeindex  sparse time index (broker.log.time_index)
    00000000000000000000.txnindex   aborted transactions whose marker is in that segment (broker.log.txn_index)
    00000000000000001234.snapshot   producer state as of offset 1234 (broker.log.producer_state)
    log-start-offset                decimal log start offset + "\\n", when above the first segment
    cleaner-offset-checkpoint       where the last compaction pass stopped (broker.log.checkpoints)
    clean-shutdown                  present only while the log is closed cleanly

``recover()`` (run by ``open``) deletes leftovers of interrupted operations
(``*.cleaned``, ``*.tmp``, indexes without a log), fully re-verifies the last
segment (CRC scan, torn tail truncated, indexes rebuilt) unless the previous
run closed cleanly, checks every other segment's indexes, and rebuilds
producer state from the newest snapshot plus the batches after it (and the
aborted-transaction index entries of the ABORT markers among them). Every
append is written with one ``pwrite`` and (by default) fsynced before it is
acknowledged; segments are fsynced when they roll, so only the active segment
can ever hold a torn tail. ``append(defer_flush=True)`` (what the broker uses)
leaves a due fsync to the caller, who runs ``sync()`` in another thread: one
``sync()`` covers every append that returned before it started (group commit,
see broker/log/group_commit.py).

Threads: appends and reads run on the broker's event loop thread, ``sync`` on
the group commit's threads, retention and compaction on the maintenance thread.

Transactions: ``append_marker`` writes the coordinator's COMMIT/ABORT control
batch for a producer with an open transaction here; ``last_stable_offset`` is
the first offset of the oldest open transaction (the log end when none is
open), and ``aborted_transactions`` answers read_committed fetches.
``_lock`` guards the segment list and the
active segment and is only held for short, bounded steps; compaction reads
closed segments (which nothing else writes) through its own file descriptors
without it and takes it only to swap a cleaned segment in (see cleaner.py).
"""

from __future__ import annotations

import dataclasses
import logging
import os
import shutil
import struct
import threading
from bisect import bisect_right
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from broker.errors import (
    BrokerError,
    CorruptRecord,
    InvalidRecord,
    OffsetOutOfRange,
    RecordListTooLarge,
    RecordTooLarge,
    UnsupportedVersion,
)
from broker.log.checkpoints import (
    CleanerCheckpoint,
    read_cleaner_checkpoint,
    read_log_start_offset,
    write_cleaner_checkpoint,
    write_log_start_offset,
)
from broker.log.config import LogConfig
from broker.log.files import fsync_directory
from broker.log.producer_state import ProducerStateManager
from broker.log.segment import Segment
from broker.log.txn_index import AbortedTxn, TxnIndex
from broker.protocol.records import (
    CONTROL_ABORT,
    TIMESTAMP_LOG_APPEND_TIME,
    BatchHeader,
    build_control_batch,
    control_type,
    decompression_limit,
    iter_records,
    read_batches,
    set_log_append_time,
    stamp_base_offset,
)

__all__ = ["AppendResult", "PartitionLog", "TimestampOffset"]

CLEAN_SHUTDOWN_FILE = "clean-shutdown"
_LEFTOVER_SUFFIXES = (".cleaned", ".tmp", ".deleted", ".swap")
_MAX_RELATIVE_OFFSET = 2**31 - 1
_BASE_OFFSET = struct.Struct(">q")  # bytes 0-7 of a batch, outside its CRC


log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AppendResult:
    """Offsets assigned by ``append``; ``log_append_time_ms`` is -1 for CreateTime topics.

    ``flush_due`` is True when ``append(defer_flush=True)`` left a due fsync to
    the caller: the append is durable once a ``sync()`` started after it returns.
    """

    base_offset: int
    last_offset: int
    log_append_time_ms: int
    log_start_offset: int
    flush_due: bool = False


class TimestampOffset(NamedTuple):
    """Answer of ``offset_for_timestamp``: the first offset whose timestamp >= target."""

    offset: int
    timestamp: int


class PartitionLog:
    """A partition directory of ``<base offset>.log`` segments with indexes and checkpoints.

    All methods are synchronous and thread-safe: the event loop thread appends
    and reads while the maintenance thread applies retention and compacts.
    """

    def __init__(self, directory: Path, config: LogConfig) -> None:
        self.directory = directory
        self.config = config
        self.segments: list[Segment] = []
        self._bases: list[int] = []
        self._log_start_offset = 0
        self.producer_state = ProducerStateManager(directory)
        self.txn_index = TxnIndex(directory)
        self._lock = threading.RLock()
        self.cleaner_lock = threading.Lock()
        """Held by a compaction pass for its whole run: one cleaner per log at a time."""
        self._unflushed_messages = 0
        self._last_flush_ms = 0
        self._closed = False
        self.truncated_bytes = 0
        # compaction bookkeeping, persisted in the cleaner checkpoint
        self.first_dirty_offset = 0
        self.next_tombstone_expiry_ms: int | None = None

    # ------------------------------------------------------------------ opening

    @classmethod
    def open(cls, directory: Path, config: LogConfig) -> PartitionLog:
        """Open (creating if needed) the log in ``directory`` and run ``recover()``."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        log = cls(directory, config)
        log.recover()
        return log

    def recover(self) -> None:
        """Truncate a torn tail, rebuild bad indexes, delete leftovers, rebuild producer state."""
        with self._lock:
            for segment in self.segments:
                segment.close()
            self.segments, self._bases = [], []
            clean_marker = self.directory / CLEAN_SHUTDOWN_FILE
            was_clean = clean_marker.exists()
            clean_marker.unlink(missing_ok=True)
            bases = self._tidy_directory()
            for i, base in enumerate(bases):
                is_last = i == len(bases) - 1
                segment, truncated = Segment.load(
                    self.directory,
                    base,
                    self.config.index_interval_bytes,
                    recover=is_last and not was_clean,
                )
                self.truncated_bytes += truncated
                self.segments.append(segment)
                self._bases.append(base)
            checkpoint = read_log_start_offset(self.directory)
            if not self.segments:
                self._add_segment(Segment.create(self.directory, checkpoint or 0, self._interval))
                fsync_directory(self.directory)
            first_base = self.segments[0].base_offset
            self._log_start_offset = min(max(first_base, checkpoint or 0), self.log_end_offset)
            self._load_cleaner_checkpoint()
            self.txn_index.recover(self._bases)
            self._rebuild_producer_state()
            if not was_clean and bases:  # no segment yet: a new partition, nothing to recover
                log.warning(
                    "%s: recovered after an unclean shutdown; truncated %d torn bytes, "
                    "log end offset %d",
                    self.directory.name,
                    self.truncated_bytes,
                    self.log_end_offset,
                )

    def _load_cleaner_checkpoint(self) -> None:
        cleaned = read_cleaner_checkpoint(self.directory)
        if cleaned is None:
            self.first_dirty_offset, self.next_tombstone_expiry_ms = 0, None
            return
        # A log truncated by recovery cannot have been cleaned beyond its end.
        self.first_dirty_offset = min(cleaned.first_dirty_offset, self.log_end_offset)
        self.next_tombstone_expiry_ms = cleaned.tombstone_expiry_ms

    @property
    def _interval(self) -> int:
        return self.config.index_interval_bytes

    def _tidy_directory(self) -> list[int]:
        """Delete leftovers of interrupted operations; return segment base offsets, sorted."""
        bases: set[int] = set()
        indexes: list[tuple[Path, int]] = []
        for path in self.directory.iterdir():
            name = path.name
            if name.endswith(_LEFTOVER_SUFFIXES):
                path.unlink(missing_ok=True)
                continue
            stem, _, suffix = name.partition(".")
            if not (len(stem) == 20 and stem.isdigit()):
                continue
            if suffix == "log":
                bases.add(int(stem))
            elif suffix in ("index", "timeindex", "txnindex"):
                indexes.append((path, int(stem)))
        for path, base in indexes:
            if base not in bases:
                path.unlink(missing_ok=True)
        return sorted(bases)

    def _rebuild_producer_state(self) -> None:
        """Producer state from the newest snapshot plus the batches after it; the
        aborted-transaction entries of the ABORT markers replayed are dropped and re-added."""
        start = self.producer_state.load_snapshot(self.log_end_offset)
        from_offset = self.segments[0].base_offset if start is None else start
        self.txn_index.truncate_from(from_offset)
        state = self.producer_state
        for segment, header in self._headers_from_offset(from_offset):
            if header.is_control and header.producer_id >= 0:
                first = state.open_transaction(header.producer_id)
                if first is not None and self._marker_type(segment, header) == CONTROL_ABORT:
                    state.replay(header)
                    self.txn_index.append(
                        segment.base_offset,
                        AbortedTxn(
                            header.base_offset,
                            header.producer_id,
                            first,
                            self._stable_offset(header.base_offset + 1),
                        ),
                    )
                    continue
            state.replay(header)

    def _marker_type(self, segment: Segment, header: BatchHeader) -> int | None:
        batch = segment.read_at(header.position, header.size)
        try:
            return control_type(batch, dataclasses.replace(header, position=0))
        except BrokerError:
            return None

    def _headers_from_offset(self, offset: int):
        first = max(0, bisect_right(self._bases, offset) - 1)
        for segment in self.segments[first:]:
            position = segment.find_position(offset) if segment.base_offset < offset else 0
            if position is None:
                continue
            try:
                for header in segment.headers_from(position, verify_crc=False):
                    yield segment, header
            except (CorruptRecord, UnsupportedVersion):  # only an unrecovered tail; stop
                return

    def _write_log_start_checkpoint(self) -> None:
        write_log_start_offset(self.directory, self._log_start_offset)

    def _add_segment(self, segment: Segment) -> None:
        self.segments.append(segment)
        self._bases.append(segment.base_offset)

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        """True once ``close`` or ``delete`` ran."""
        return self._closed

    @property
    def log_start_offset(self) -> int:
        return self._log_start_offset

    @property
    def log_end_offset(self) -> int:
        """The offset the next appended record will get."""
        return self.segments[-1].next_offset

    @property
    def size_bytes(self) -> int:
        return sum(segment.size for segment in self.segments)

    @property
    def active_segment(self) -> Segment:
        return self.segments[-1]

    # ------------------------------------------------------------------ append

    def check_sizes(self, headers: list[BatchHeader]) -> tuple[int, int]:
        """What Kafka checks of a produced request before its records: contiguous batches,
        each within ``max.message.bytes`` (``RecordTooLarge``), all within ``segment.bytes``
        (``RecordListTooLarge``); returns the (start, end) byte span of the batches. The
        produce handler asks it before reading any record."""
        if not headers:
            raise CorruptRecord("produce request holds no record batches")
        config = self.config
        start = headers[0].position
        expected = start
        for header in headers:
            if header.position != expected:
                raise CorruptRecord("record batches are not contiguous in the request")
            if header.size > config.max_message_bytes:
                raise RecordTooLarge(
                    f"record batch of {header.size} bytes exceeds max.message.bytes "
                    f"{config.max_message_bytes}"
                )
            expected += header.size
        total = expected - start
        if total > config.segment_bytes:
            raise RecordListTooLarge(
                f"{total} bytes of record batches exceed segment.bytes {config.segment_bytes}"
            )
        return start, expected

    def append(
        self,
        records: bytes | memoryview,
        headers: list[BatchHeader],
        *,
        now_ms: int,
        first_sequence: int | None = None,
        defer_flush: bool = False,
    ) -> AppendResult:
        """Assign offsets, check producer state and size, write durably, then return.

        ``headers`` is ``read_batches(records)``. ``first_sequence`` is for a
        batch the gate rebuilt with fewer records (see
        ``ProducerStateManager.validate``). When ``flush.messages`` or
        ``flush.ms`` make an fsync due, it runs before returning, unless
        ``defer_flush``: then the result says ``flush_due`` and the caller must
        run ``sync()`` (from any thread) before acknowledging. Raises ``RecordTooLarge``,
        ``RecordListTooLarge``, ``DuplicateSequenceNumber`` (a ``DuplicateBatch``
        with ``.base_offset``/``.last_offset`` of the original append),
        ``OutOfOrderSequenceNumber``, ``InvalidProducerEpoch``, ``InvalidRecord``
        (null key on a compacted topic). Nothing is written when it raises.
        """
        start, expected = self.check_sizes(headers)
        total = expected - start
        config = self.config
        if config.compact:
            _require_keys(records, headers, decompression_limit(config.max_message_bytes))
        log_append_time = config.log_append_time
        with self._lock:
            self._check_open()
            next_offset = self.log_end_offset
            placed: list[BatchHeader] = []
            for header in headers:
                changes: dict[str, int] = {
                    "base_offset": next_offset,
                    "position": header.position - start,
                }
                if log_append_time:
                    changes["max_timestamp"] = now_ms
                    changes["attributes"] = header.attributes | 0x08
                placed.append(dataclasses.replace(header, **changes))
                next_offset += header.last_offset_delta + 1
            pending = self.producer_state.validate(placed, first_sequence=first_sequence)
            data = _stamped(memoryview(records), start, expected, placed, log_append_time, now_ms)
            self._maybe_roll(total, placed, now_ms)
            segment = self.active_segment
            size_before = segment.size
            try:
                segment.append(data, placed)
            except OSError:
                segment.truncate_tail_after_failed_write(size_before)
                raise
            self.producer_state.commit(pending)
            self._unflushed_messages += sum(h.last_offset_delta + 1 for h in placed)
            flush_due = self._flush_due(now_ms)
            if flush_due:
                self._unflushed_messages = 0
                self._last_flush_ms = now_ms
                if not defer_flush:
                    os.fdatasync(segment.fd)
            return AppendResult(
                base_offset=placed[0].base_offset,
                last_offset=placed[-1].last_offset,
                log_append_time_ms=now_ms if log_append_time else -1,
                log_start_offset=self._log_start_offset,
                flush_due=flush_due and defer_flush,
            )

    def skip_sequences(self, header: BatchHeader) -> None:
        """Count an idempotent producer's batch as appended without writing any record.

        For a batch the gate routed elsewhere entirely: the producer's next batch
        then follows on, and a retry of this one is a duplicate (answered with
        offset -1). Kept in producer state and its snapshots, not in the log: after
        an unclean shutdown that producer's next batch may be out of sequence.
        Raises what ``append``'s producer checks raise.
        """
        if header.producer_id < 0 or header.base_sequence < 0:
            return
        unplaced = dataclasses.replace(header, base_offset=-1 - header.last_offset_delta)
        with self._lock:
            self._check_open()
            self.producer_state.commit(self.producer_state.validate([unplaced]))

    # ------------------------------------------------------------------ transactions

    @property
    def last_stable_offset(self) -> int:
        """The first offset of the oldest open transaction; the log end offset when none."""
        with self._lock:
            return self._stable_offset(self.log_end_offset)

    def _stable_offset(self, log_end: int) -> int:
        unstable = self.producer_state.first_unstable_offset()
        return log_end if unstable is None else min(unstable, log_end)

    def open_transaction(self, producer_id: int) -> int | None:
        """First offset of ``producer_id``'s open transaction here, or None."""
        with self._lock:
            return self.producer_state.open_transaction(producer_id)

    def append_marker(
        self,
        producer_id: int,
        producer_epoch: int,
        *,
        commit: bool,
        now_ms: int,
        coordinator_epoch: int = 0,
        defer_flush: bool = False,
    ) -> AppendResult | None:
        """End ``producer_id``'s open transaction here with a COMMIT or ABORT marker.

        None (nothing written) when the producer has no open transaction in this
        partition: ending it twice (a coordinator completing a transaction again
        after a restart) is harmless. An ABORT adds an aborted-transaction index
        entry. Raises ``InvalidProducerEpoch`` when ``producer_epoch`` is older
        than the producer's.
        """
        marker = build_control_batch(
            producer_id,
            producer_epoch,
            commit=commit,
            coordinator_epoch=coordinator_epoch,
            timestamp=now_ms,
        )
        with self._lock:
            self._check_open()
            first = self.producer_state.open_transaction(producer_id)
            if first is None:
                return None
            result = self.append(
                marker, read_batches(marker), now_ms=now_ms, defer_flush=defer_flush
            )
            if not commit:
                self.txn_index.append(
                    self.active_segment.base_offset,
                    AbortedTxn(
                        result.base_offset,
                        producer_id,
                        first,
                        self._stable_offset(self.log_end_offset),
                    ),
                )
            return result

    def aborted_transactions(self, fetch_offset: int, upper_bound: int) -> list[AbortedTxn]:
        """Aborted transactions with records in [fetch_offset, upper_bound) (read_committed fetch)."""
        with self._lock:
            return self.txn_index.collect(fetch_offset, upper_bound)

    def forget_aborted(self, markers: list[tuple[int, int]]) -> None:
        """Drop the index entries of the ABORT markers (producer id, offset) compaction removes."""
        with self._lock:
            self.txn_index.remove(markers)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError(f"partition log {self.directory} is closed")

    def _maybe_roll(self, incoming_bytes: int, placed: list[BatchHeader], now_ms: int) -> None:
        """Kafka's LogSegment.shouldRoll: size, time since the first batch, offset range."""
        segment = self.active_segment
        if segment.size == 0:
            return
        incoming_timestamp = max(header.max_timestamp for header in placed)
        if (
            segment.size > self.config.segment_bytes - incoming_bytes
            or self._time_to_roll(segment, now_ms, incoming_timestamp)
            or placed[-1].last_offset - segment.base_offset > _MAX_RELATIVE_OFFSET
        ):
            self._roll()

    def _time_to_roll(self, segment: Segment, now_ms: int, message_timestamp: int) -> bool:
        """Like Kafka: the incoming timestamp minus the segment's first batch timestamp,
        or wall-clock time since the segment was opened when it has no timestamp."""
        if segment.size == 0:
            return False
        reference = segment.first_batch_timestamp
        if reference is None or reference < 0:
            return now_ms - segment.created_ms > self.config.segment_ms
        return message_timestamp - reference > self.config.segment_ms

    def _roll(self) -> Segment:
        old = self.active_segment
        old.seal()
        self.txn_index.flush(old.base_offset)
        new = Segment.create(self.directory, old.next_offset, self._interval)
        self._add_segment(new)
        fsync_directory(self.directory)
        self.producer_state.write_snapshot(new.base_offset)
        return new

    def _flush_due(self, now_ms: int) -> bool:
        config = self.config
        return bool(self._unflushed_messages) and (
            self._unflushed_messages >= config.flush_messages
            or now_ms - self._last_flush_ms >= config.flush_ms
        )

    def sync(self) -> None:
        """fdatasync everything appended so far; safe to call from any thread.

        Appends go on while it runs: the partition lock is only held to take a
        descriptor of the active segment (segments rolled before it were synced
        when they rolled, and ``close`` syncs too, so that one file is enough).
        """
        with self._lock:
            if self._closed:
                return
            fd = os.dup(self.active_segment.fd)
        try:
            os.fdatasync(fd)
        finally:
            os.close(fd)

    # ------------------------------------------------------------------ read

    def read(self, fetch_offset: int, max_bytes: int, *, max_offset: int | None = None) -> bytes:
        """Whole batches from the one containing ``fetch_offset``; at least one batch.

        Batches whose base offset is >= ``max_offset`` are left out. Raises
        ``OffsetOutOfRange`` outside [log_start_offset, log_end_offset].
        """
        with self._lock:
            self._check_open()
            if fetch_offset < self._log_start_offset or fetch_offset > self.log_end_offset:
                raise OffsetOutOfRange(
                    f"offset {fetch_offset} is outside [{self._log_start_offset}, "
                    f"{self.log_end_offset}]"
                )
            first = max(0, bisect_right(self._bases, fetch_offset) - 1)
            for segment in self.segments[first:]:
                position = segment.find_position(fetch_offset)
                if position is None:
                    continue
                end = segment.batch_ends(position, max(max_bytes, 0), max_offset)
                return segment.read_at(position, end - position) if end > position else b""
            return b""

    def offset_for_timestamp(self, timestamp_ms: int) -> TimestampOffset | None:
        """The earliest record at or above the log start with timestamp >= ``timestamp_ms``."""
        with self._lock:
            self._check_open()
            for segment in self.segments:
                if segment.max_timestamp < timestamp_ms:
                    continue
                found = self._search_segment(segment, timestamp_ms)
                if found is not None:
                    return found
            return None

    def max_timestamp_offset(self) -> TimestampOffset | None:
        """The first record with the largest timestamp in the log (ListOffsets -3), or None."""
        with self._lock:
            self._check_open()
            best: Segment | None = None
            for segment in self.segments:
                if segment.max_timestamp >= 0 and (
                    best is None or segment.max_timestamp > best.max_timestamp
                ):
                    best = segment
            if best is None:
                return None
            return self._search_segment(best, best.max_timestamp)

    def _search_segment(self, segment: Segment, timestamp_ms: int) -> TimestampOffset | None:
        start_offset = segment.time_index.lookup(timestamp_ms)
        position = 0 if start_offset is None else segment.index.lookup(start_offset)
        for header in segment.headers_from(position, verify_crc=False):
            if header.max_timestamp < timestamp_ms or header.last_offset < self._log_start_offset:
                continue
            if header.is_control:
                continue
            batch = segment.read_at(header.position, header.size)
            local = dataclasses.replace(header, position=0)
            limit = decompression_limit(self.config.max_message_bytes)
            for record in iter_records(batch, local, max_decompressed_bytes=limit):
                offset = header.base_offset + record.offset_delta
                if header.timestamp_type == TIMESTAMP_LOG_APPEND_TIME:
                    timestamp = header.max_timestamp
                else:
                    timestamp = header.base_timestamp + record.timestamp_delta
                if timestamp >= timestamp_ms and offset >= self._log_start_offset:
                    return TimestampOffset(offset, timestamp)
        return None

    # ------------------------------------------------------------------ log start

    def delete_records_before(self, offset: int) -> int:
        """Move the log start offset up to ``offset`` (persisted); returns the new start.

        Raises ``OffsetOutOfRange`` when ``offset`` is beyond the log end.
        Segments that end below the new start are deleted at once.
        """
        with self._lock:
            self._check_open()
            if offset > self.log_end_offset or offset < 0:
                raise OffsetOutOfRange(
                    f"cannot delete records before {offset}: log end offset is "
                    f"{self.log_end_offset}"
                )
            if offset > self._log_start_offset:
                self._log_start_offset = offset
                self._write_log_start_checkpoint()
                self._delete_segments_below_start()
            return self._log_start_offset

    def _delete_segments_below_start(self) -> int:
        deleted = 0
        while len(self.segments) > 1 and self.segments[1].base_offset <= self._log_start_offset:
            self._delete_oldest_segment()
            deleted += 1
        return deleted

    def _delete_oldest_segment(self) -> None:
        segment = self.segments.pop(0)
        self._bases.pop(0)
        segment.delete()
        self.txn_index.drop_segment(segment.base_offset)
        if self.segments[0].base_offset > self._log_start_offset:
            self._log_start_offset = self.segments[0].base_offset
            self._write_log_start_checkpoint()

    # ------------------------------------------------------------------ maintenance

    def reconfigure(self, config: LogConfig) -> None:
        """Apply new topic configs; they take effect on the next append or maintenance pass."""
        with self._lock:
            if config.index_interval_bytes != self.config.index_interval_bytes:
                for segment in self.segments:
                    segment.index_interval_bytes = config.index_interval_bytes
            self.config = config

    def roll_if_due(self, now_ms: int) -> bool:
        """Roll the active segment if segment.ms has passed since its first batch."""
        with self._lock:
            self._check_open()
            if self._time_to_roll(self.active_segment, now_ms, now_ms):
                self._roll()
                return True
            return False

    def apply_retention(self, now_ms: int) -> int:
        """Delete whole segments past retention.ms / retention.bytes; returns how many.

        As in Kafka, the active segment is only deleted by time after being
        rolled, and segments below the log start offset are always deleted.
        """
        with self._lock:
            self._check_open()
            deleted = self._delete_segments_below_start()
            config = self.config
            if not config.delete:
                return deleted
            if config.retention_ms >= 0:
                while self.segments:
                    oldest = self.segments[0]
                    if now_ms - oldest.largest_timestamp <= config.retention_ms:
                        break
                    if oldest is self.active_segment:
                        if oldest.size == 0:
                            break
                        self._roll()
                    self._delete_oldest_segment()
                    deleted += 1
            if config.retention_bytes >= 0:
                excess = self.size_bytes - config.retention_bytes
                while len(self.segments) > 1 and excess - self.segments[0].size >= 0:
                    excess -= self.segments[0].size
                    self._delete_oldest_segment()
                    deleted += 1
            return deleted

    def flush(self) -> None:
        """fsync the active segment and its indexes."""
        with self._lock:
            if not self._closed:
                self.active_segment.flush()
                self._unflushed_messages = 0

    def close(self) -> None:
        """Flush, write a producer snapshot and the clean-shutdown marker, close files."""
        with self._lock:
            if self._closed:
                return
            self.active_segment.flush()
            self.txn_index.flush(self.active_segment.base_offset)
            self.producer_state.write_snapshot(self.log_end_offset)
            for segment in self.segments:
                segment.close()
            (self.directory / CLEAN_SHUTDOWN_FILE).write_bytes(b"")
            fsync_directory(self.directory)
            self._closed = True

    def delete(self) -> None:
        """Close (without the marker) and remove the partition directory."""
        with self._lock:
            for segment in self.segments:
                segment.close()
            self._closed = True
            shutil.rmtree(self.directory, ignore_errors=True)

    # ------------------------------------------------------------------ compaction support

    def install_cleaned(self, segment: Segment) -> bool:
        """Swap in the replacement prepared by ``segment.write_cleaned`` (see cleaner.py).

        Returns False, discarding the replacement, when ``segment`` is no longer
        part of the log (deleted by retention or DeleteRecords meanwhile) or the
        log was closed.
        """
        with self._lock:
            slot = next((i for i, live in enumerate(self.segments) if live is segment), None)
            if self._closed or slot is None:
                segment.discard_cleaned()
                return False
            if slot == len(self.segments) - 1:
                raise AssertionError("the active segment is never compacted")
            self.segments[slot] = segment.install_cleaned()
            return True

    def save_cleaner_checkpoint(
        self, first_dirty_offset: int, tombstone_expiry_ms: int | None
    ) -> None:
        """Record a finished compaction pass (in memory and in ``cleaner-offset-checkpoint``)."""
        with self._lock:
            if self._closed:
                return
            self.first_dirty_offset = first_dirty_offset
            self.next_tombstone_expiry_ms = tombstone_expiry_ms
            write_cleaner_checkpoint(
                self.directory, CleanerCheckpoint(first_dirty_offset, tombstone_expiry_ms)
            )


def _stamped(
    view: memoryview,
    start: int,
    end: int,
    placed: list[BatchHeader],
    log_append_time: bool,
    now_ms: int,
) -> list[bytes | bytearray | memoryview]:
    """The bytes to write for ``view[start:end]``, base offsets (and append times) stamped.

    Without LogAppendTime only each batch's first 8 bytes change, so the
    request's bytes are written as they are, between 8-byte stamped offsets
    (no copy of the records); with it, the batches are copied and re-CRCed.
    """
    if log_append_time:
        data = bytearray(view[start:end])
        for header in placed:
            stamp_base_offset(data, header.position, header.base_offset)
            set_log_append_time(data, header.position, now_ms)
        return [data]
    buffers: list[bytes | bytearray | memoryview] = []
    for header in placed:
        position = start + header.position
        buffers.append(_BASE_OFFSET.pack(header.base_offset))
        buffers.append(view[position + _BASE_OFFSET.size : position + header.size])
    return buffers


def _require_keys(records: bytes | memoryview, headers: list[BatchHeader], limit: int) -> None:
    for header in headers:
        if header.is_control:
            continue
        for record in iter_records(records, header, max_decompressed_bytes=limit):
            if record.key is None:
                raise InvalidRecord("compacted topic cannot accept a record without a key")
