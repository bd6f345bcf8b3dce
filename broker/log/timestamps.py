"""Kafka's CreateTime range check of produced records (``LogValidator.validateTimestamp``).

A topic may bound how far a record's CreateTime timestamp lies behind or ahead
of the broker's clock (``message.timestamp.before.max.ms`` /
``message.timestamp.after.max.ms``, or the deprecated
``message.timestamp.difference.max.ms`` for both). Records without a
timestamp (-1) pass; a LogAppendTime topic stamps its own time and checks
nothing. The records are decoded only when a bound is set, so the common
unbounded case costs nothing.
"""

from __future__ import annotations

from collections.abc import Sequence

from broker.config_catalog import LONG_MAX
from broker.log.config import LogConfig
from broker.protocol.records import BatchHeader, decompression_limit, iter_records

__all__ = ["out_of_range_timestamps"]

_NO_TIMESTAMP = -1


def out_of_range_timestamps(
    config: LogConfig,
    records: bytes | memoryview,
    headers: Sequence[BatchHeader],
    now_ms: int,
) -> list[tuple[int, str]]:
    """(record index in the request, Kafka's message) for each record out of range."""
    before, after = config.timestamp_before_max_ms, config.timestamp_after_max_ms
    if config.log_append_time or (before == LONG_MAX and after == LONG_MAX):
        return []
    earliest = now_ms - before if before != LONG_MAX else None
    latest = now_ms + after if after != LONG_MAX else None
    limit = decompression_limit(config.max_message_bytes)
    errors: list[tuple[int, str]] = []
    index = 0
    for header in headers:
        for record in iter_records(records, header, max_decompressed_bytes=limit):
            timestamp = header.base_timestamp + record.timestamp_delta
            if timestamp != _NO_TIMESTAMP and (
                (earliest is not None and timestamp < earliest)
                or (latest is not None and timestamp > latest)
            ):
                errors.append(
                    (
                        index,
                        f"Timestamp {timestamp} of message with offset "
                        f"{header.base_offset + record.offset_delta} is out of range. The "
                        f"timestamp should be within [{max(now_ms - before, -LONG_MAX)}, "
                        f"{min(now_ms + after, LONG_MAX)}]",
                    )
                )
            index += 1
    return errors
