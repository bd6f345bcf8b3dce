"""Shared helpers for the log tests: batch builders and an unclean-shutdown stand-in."""

from __future__ import annotations

from broker.log import PartitionLog
from broker.protocol.records import Record, build_batch, iter_records, read_batches


def batch(
    *values: bytes | None,
    key: bytes | None = b"k",
    keys: list[bytes | None] | None = None,
    timestamp: int = 1_000,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    compression: int = 0,
) -> bytes:
    """One batch holding ``values`` (keys default to ``key``), timestamps 1 ms apart."""
    keys = keys if keys is not None else [key] * len(values)
    return build_batch(
        [Record(i, i, keys[i], value) for i, value in enumerate(values)],
        timestamp=timestamp,
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        base_sequence=base_sequence,
        compression=compression,
    )


def append(log: PartitionLog, data: bytes, now_ms: int = 10_000):
    return log.append(data, read_batches(data), now_ms=now_ms)


def read_all(
    log: PartitionLog, start: int | None = None
) -> list[tuple[int, bytes | None, bytes | None]]:
    """Every (offset, key, value) from ``start`` to the end, following segment boundaries."""
    offset = log.log_start_offset if start is None else start
    out: list[tuple[int, bytes | None, bytes | None]] = []
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        if not data:
            break
        for header in read_batches(data, strict=False):
            for record in iter_records(data, header):
                record_offset = header.base_offset + record.offset_delta
                if record_offset >= offset:
                    out.append((record_offset, record.key, record.value))
            offset = header.last_offset + 1
    return out


def abandon(log: PartitionLog) -> None:
    """Drop the log like a killed process would: close descriptors, no snapshot, no marker."""
    for segment in log.segments:
        segment.close()
