"""Log compaction for ``cleanup.policy=compact``: keep the latest record per key.

A pass (``compact``) runs when the partition is dirty enough, as Kafka's
``LogCleanerManager`` decides: over the closed segments older than
``min.compaction.lag.ms`` (the active segment is never touched), the bytes
above the cleaner checkpoint ("dirty") divided by all those bytes must exceed
``min.cleanable.dirty.ratio``; or a dirty segment's first batch is older than
``max.compaction.lag.ms``; or a tombstone kept by the last pass has reached its
delete horizon. Then:

1. build a map key -> latest offset over the dirty segments only (the clean
   ones already hold one record per key);
2. rewrite every cleanable segment keeping a record unless the map holds a
   later offset for its key (Kafka's rule), and dropping tombstones (null
   value) whose timestamp is older than ``delete.retention.ms``;
3. batches that lose no record are copied byte for byte; the others are
   re-encoded with the same base offset, last offset delta, producer fields,
   codec and timestamps (CRC recomputed), so offsets are preserved and the
   log simply has gaps. Batches that lose every record disappear;
4. transactions (``broker.log.cleaner_txn``): only whole segments below the
   last stable offset are cleanable (an open transaction may still abort, so
   nothing it could shadow is compacted); batches of aborted transactions are
   removed and never shadow an older value; COMMIT/ABORT markers stay while
   their transaction has data and go once it has none and they are older than
   ``delete.retention.ms``; the aborted-transaction index entry of a removed
   ABORT marker is dropped first (a stale entry without its marker would make
   a read_committed client skip that producer's later batches);
5. record the end of the cleaned range in the cleaner checkpoint
   (``broker.log.checkpoints``), so a restart does not clean everything again.

Concurrency: a pass runs on the maintenance thread while the event loop
appends and reads. It holds the log's ``cleaner_lock`` throughout (one pass per
log), takes the log's ``_lock`` only to pick segments (opening its own file
descriptors for them, so a segment deleted meanwhile stays readable) and to
swap each cleaned segment in; reading, cleaning and writing happen without it.
Closed segments never change except through this module, so nothing is lost:
appends only touch the active segment, and a segment that retention or
DeleteRecords removed meanwhile is simply not swapped in.

Crash safety: the new content is written to ``<segment>.log.cleaned`` (fsynced)
with ready-made ``.index.cleaned``/``.timeindex.cleaned``; then the old
indexes are removed, the ``.log.cleaned`` is renamed over the ``.log`` (the
commit point) and the new indexes are renamed into place. A crash before the
rename leaves ``*.cleaned`` files that recovery deletes (the old segment is
intact and its indexes are rebuilt); after it, the new segment is complete and
missing indexes are rebuilt.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from broker.errors import BrokerError
from broker.log.cleaner_txn import AbortedRanges, MarkerTracker
from broker.log.config import LogConfig
from broker.log.partition import PartitionLog
from broker.log.segment import Segment
from broker.protocol.records import (
    TIMESTAMP_LOG_APPEND_TIME,
    BatchHeader,
    Record,
    build_batch,
    control_type,
    decompression_limit,
    iter_batches,
    iter_records,
)

__all__ = ["compact", "dirty_ratio"]


@dataclass(slots=True)
class _Source:
    """A cleanable segment and a descriptor of our own to read it without the log's lock."""

    segment: Segment
    fd: int
    size: int
    dirty: bool

    def read(self) -> bytes:
        return os.pread(self.fd, self.size, 0)


@dataclass(slots=True)
class _Plan:
    config: LogConfig
    sources: list[_Source]
    end_offset: int
    """The first offset after the cleanable range: the next pass's first dirty offset."""
    aborted: AbortedRanges
    """The aborted transactions with data in the cleanable range (from the txn index)."""


def compact(
    log: PartitionLog, now_ms: int, *, should_stop: Callable[[], bool] | None = None
) -> int:
    """Compact the closed segments of ``log`` if due; returns the number of records removed.

    ``should_stop`` is polled between segments: when it answers True the pass
    ends early (what it swapped in stays; the checkpoint is not advanced).
    """
    if not log.config.compact:
        return 0
    with log.cleaner_lock:
        plan = _plan(log, now_ms)
        if plan is None:
            return 0
        try:
            return _clean(log, plan, now_ms, should_stop or (lambda: False))
        finally:
            for source in plan.sources:
                os.close(source.fd)


def dirty_ratio(log: PartitionLog, now_ms: int) -> float:
    """Dirty bytes / cleanable bytes of ``log`` now (0.0 when nothing is cleanable)."""
    with log._lock:
        cleanable = _cleanable_segments(log, now_ms)
        first_dirty = max(log.first_dirty_offset, log.segments[0].base_offset)
        return _ratio(cleanable, first_dirty)


def _ratio(cleanable: list[Segment], first_dirty: int) -> float:
    total = sum(segment.size for segment in cleanable)
    dirty = sum(segment.size for segment in cleanable if segment.next_offset > first_dirty)
    return dirty / total if total else 0.0


def _plan(log: PartitionLog, now_ms: int) -> _Plan | None:
    """Decide under the log's lock whether a pass is due and what it covers."""
    with log._lock:
        if log.closed:
            return None
        config = log.config
        cleanable = _cleanable_segments(log, now_ms)
        if not cleanable:
            return None
        # A checkpoint below the log start (retention, DeleteRecords) means: from the start.
        first_dirty = max(log.first_dirty_offset, log.segments[0].base_offset)
        dirty = [segment for segment in cleanable if segment.next_offset > first_dirty]
        dirty_bytes = sum(segment.size for segment in dirty)
        tombstones_due = (
            log.next_tombstone_expiry_ms is not None and log.next_tombstone_expiry_ms <= now_ms
        )
        due = (
            dirty_bytes > 0
            and (
                _ratio(cleanable, first_dirty) > config.min_cleanable_dirty_ratio
                or _max_lag_passed(dirty, config, now_ms)
            )
        ) or tombstones_due
        if not due:
            return None
        sources = []
        try:
            for segment in cleanable:
                fd = os.open(segment.log_path, os.O_RDONLY)
                sources.append(_Source(segment, fd, segment.size, segment in dirty))
        except OSError:
            for source in sources:
                os.close(source.fd)
            raise
        end_offset = cleanable[-1].next_offset
        aborted = AbortedRanges(log.aborted_transactions(log.segments[0].base_offset, end_offset))
        return _Plan(config, sources, end_offset, aborted)


def _clean(log: PartitionLog, plan: _Plan, now_ms: int, should_stop: Callable[[], bool]) -> int:
    config = plan.config
    limit = decompression_limit(config.max_message_bytes)
    dirty = [source for source in plan.sources if source.dirty]
    latest = _latest_offsets(dirty, plan.aborted, limit)
    horizon = now_ms - config.delete_retention_ms
    markers = MarkerTracker(horizon, config.delete_retention_ms, now_ms)
    removed = 0
    next_expiry: int | None = None
    for source in plan.sources:
        if should_stop():
            return removed
        cleaned, dropped, oldest_tombstone = _clean_segment(
            source.read(), latest, horizon, limit, plan.aborted, markers
        )
        if oldest_tombstone is not None:
            expiry = oldest_tombstone + config.delete_retention_ms + 1
            next_expiry = expiry if next_expiry is None else min(next_expiry, expiry)
        if markers.dropped_aborts:
            log.forget_aborted(markers.dropped_aborts)
            markers.dropped_aborts = []
        if not dropped:
            continue
        segment = source.segment
        if log.closed:
            return removed
        # Keep the original age for retention of a segment that was emptied
        # (Kafka sets the cleaned file's last-modified time the same way).
        segment.write_cleaned(cleaned, segment.largest_timestamp)
        if log.install_cleaned(segment):
            removed += dropped
    if markers.next_expiry_ms is not None:
        next_expiry = (
            markers.next_expiry_ms
            if next_expiry is None
            else min(next_expiry, markers.next_expiry_ms)
        )
    log.save_cleaner_checkpoint(plan.end_offset, next_expiry)
    return removed


def _cleanable_segments(log: PartitionLog, now_ms: int) -> list[Segment]:
    """Closed segments wholly below the last stable offset and past min.compaction.lag.ms."""
    lag = log.config.min_compaction_lag_ms
    stable = log.last_stable_offset
    cleanable = []
    for segment in log.segments[:-1]:
        if segment.next_offset > stable or (lag and now_ms - segment.max_timestamp < lag):
            break
        cleanable.append(segment)
    return cleanable


def _max_lag_passed(dirty: list[Segment], config: LogConfig, now_ms: int) -> bool:
    """Kafka's ``needCompactionNow``: a dirty segment's first batch waited max.compaction.lag.ms."""
    for segment in dirty:
        first = segment.first_batch_timestamp
        timestamp = first if first is not None and first >= 0 else segment.largest_timestamp
        if now_ms - timestamp >= config.max_compaction_lag_ms:
            return True
    return False


def _record_timestamp(header: BatchHeader, record: Record) -> int:
    if header.timestamp_type == TIMESTAMP_LOG_APPEND_TIME:
        return header.max_timestamp
    return header.base_timestamp + record.timestamp_delta


def _latest_offsets(sources: list[_Source], aborted: AbortedRanges, limit: int) -> dict[bytes, int]:
    latest: dict[bytes, int] = {}
    for source in sources:
        content = source.read()
        for header in iter_batches(content, verify_crc=False):
            if header.is_control or aborted.is_aborted(header):
                continue
            for record in iter_records(content, header, max_decompressed_bytes=limit):
                if record.key is not None:
                    latest[record.key] = header.base_offset + record.offset_delta
    return latest


def _clean_segment(
    content: bytes,
    latest: dict[bytes, int],
    horizon: int,
    limit: int,
    aborted: AbortedRanges,
    markers: MarkerTracker,
) -> tuple[bytes, int, int | None]:
    """Return (new content, records dropped, oldest retained tombstone timestamp)."""
    out = bytearray()
    dropped = 0
    oldest_tombstone: int | None = None
    for header in iter_batches(content, verify_crc=False):
        raw = content[header.position : header.position + header.size]
        if header.is_control:
            if markers.keep_marker(header, _marker_type(content, header)):
                out += raw
            else:
                dropped += header.records_count
            continue
        if aborted.is_aborted(header):
            markers.on_data(header, 0)
            dropped += header.records_count
            continue
        records = list(iter_records(content, header, max_decompressed_bytes=limit))
        kept = []
        for record in records:
            if record.key is None:
                kept.append(record)  # written before the topic became compacted
                continue
            newest = latest.get(record.key)
            if newest is not None and newest > header.base_offset + record.offset_delta:
                continue
            if record.value is None:
                timestamp = _record_timestamp(header, record)
                if timestamp < horizon:
                    continue
                if oldest_tombstone is None or timestamp < oldest_tombstone:
                    oldest_tombstone = timestamp
            kept.append(record)
        dropped += len(records) - len(kept)
        markers.on_data(header, len(kept))
        if len(kept) == len(records):
            out += raw
        elif kept:
            out += build_batch(
                kept,
                base_offset=header.base_offset,
                compression=header.compression,
                producer_id=header.producer_id,
                producer_epoch=header.producer_epoch,
                base_sequence=header.base_sequence,
                timestamp=header.base_timestamp,
                is_transactional=header.is_transactional,
                partition_leader_epoch=header.partition_leader_epoch,
                timestamp_type=header.timestamp_type,
                last_offset_delta=header.last_offset_delta,
                max_timestamp=header.max_timestamp,
            )
    return bytes(out), dropped, oldest_tombstone


def _marker_type(content: bytes, header: BatchHeader) -> int | None:
    try:
        return control_type(content, header)
    except BrokerError:  # an unreadable control batch is left as it is
        return None
