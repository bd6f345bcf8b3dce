"""Log compaction for ``cleanup.policy=compact``: keep the latest record per key.

One pass (``compact``) works on the closed segments that are older than
``min.compaction.lag.ms`` (the active segment is never touched, as in Kafka):

1. build a map key → latest offset over those segments;
2. rewrite each segment keeping a record only if it is the latest for its key,
   and dropping tombstones (null value) whose timestamp is older than
   ``delete.retention.ms`` (a consumer that started reading within that time
   still sees the delete);
3. batches that lose no record are copied byte for byte; the others are
   re-encoded with the same base offset, last offset delta, producer fields,
   codec and timestamps (CRC recomputed), so offsets are preserved and the
   log simply has gaps. Batches that lose every record disappear; control
   batches are kept as they are.

Crash safety: the new content is written to ``<segment>.log.cleaned`` and
fsynced; then the old indexes are removed and the ``.cleaned`` file is renamed
over the ``.log`` (atomic). A crash before the rename leaves a ``.cleaned``
file that recovery deletes (the old segment is intact and its indexes are
rebuilt); after it, the new segment is complete and its indexes are rebuilt.
"""

from __future__ import annotations

from broker.log.partition import PartitionLog
from broker.log.segment import Segment
from broker.records import (
    TIMESTAMP_LOG_APPEND_TIME,
    BatchHeader,
    Record,
    build_batch,
    iter_batches,
    iter_records,
)

__all__ = ["compact"]


def compact(log: PartitionLog, now_ms: int) -> int:
    """Compact the closed segments of ``log``; returns the number of records removed.

    A pass is skipped when no segment was closed since the last one and no
    retained tombstone has reached its delete horizon.
    """
    config = log.config
    if not config.compact:
        return 0
    with log._lock:
        cleanable = _cleanable_segments(log, now_ms)
        if not cleanable:
            return 0
        newest_end = cleanable[-1].next_offset
        tombstones_due = (
            log.next_tombstone_expiry_ms is not None and log.next_tombstone_expiry_ms <= now_ms
        )
        if newest_end <= log.cleaned_through and not tombstones_due:
            return 0
        latest = _latest_offsets(cleanable)
        horizon = now_ms - config.delete_retention_ms
        removed = 0
        next_expiry: int | None = None
        for segment in cleanable:
            content = segment.read_at(0, segment.size)
            cleaned, dropped, expiry = _clean_segment(content, latest, horizon)
            if expiry is not None:
                expiry += config.delete_retention_ms + 1
                next_expiry = expiry if next_expiry is None else min(next_expiry, expiry)
            if dropped:
                log.replace_segment(segment, cleaned)
                removed += dropped
        log.cleaned_through = newest_end
        log.next_tombstone_expiry_ms = next_expiry
        return removed


def _cleanable_segments(log: PartitionLog, now_ms: int) -> list[Segment]:
    lag = log.config.min_compaction_lag_ms
    cleanable = []
    for segment in log.segments[:-1]:
        if lag and now_ms - segment.max_timestamp < lag:
            break
        cleanable.append(segment)
    return cleanable


def _record_timestamp(header: BatchHeader, record: Record) -> int:
    if header.timestamp_type == TIMESTAMP_LOG_APPEND_TIME:
        return header.max_timestamp
    return header.base_timestamp + record.timestamp_delta


def _latest_offsets(segments: list[Segment]) -> dict[bytes, int]:
    latest: dict[bytes, int] = {}
    for segment in segments:
        content = segment.read_at(0, segment.size)
        for header in iter_batches(content, verify_crc=False):
            if header.is_control:
                continue
            for record in iter_records(content, header):
                if record.key is not None:
                    latest[record.key] = header.base_offset + record.offset_delta
    return latest


def _clean_segment(
    content: bytes, latest: dict[bytes, int], horizon: int
) -> tuple[bytes, int, int | None]:
    """Return (new content, records dropped, oldest retained tombstone timestamp)."""
    out = bytearray()
    dropped = 0
    oldest_tombstone: int | None = None
    for header in iter_batches(content, verify_crc=False):
        raw = content[header.position : header.position + header.size]
        if header.is_control:
            out += raw
            continue
        records = list(iter_records(content, header))
        kept = []
        for record in records:
            if record.key is None:
                kept.append(record)  # written before the topic became compacted
                continue
            if latest.get(record.key) != header.base_offset + record.offset_delta:
                continue
            if record.value is None:
                timestamp = _record_timestamp(header, record)
                if timestamp < horizon:
                    continue
                if oldest_tombstone is None or timestamp < oldest_tombstone:
                    oldest_tombstone = timestamp
            kept.append(record)
        dropped += len(records) - len(kept)
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
