"""ListOffsets (key 2): earliest (-2), latest (-1), max timestamp (-3), earliest local (-4),
latest tiered (-5), or the first offset at/after a timestamp.

Latest is the high watermark for READ_UNCOMMITTED and the last stable offset
for READ_COMMITTED (v2+). -3 (v7+) is the offset and timestamp of the first
record with the largest timestamp; -4 (v8+) is the log start offset (every
record is local); -5 (v9+) answers offset -1, as Kafka does without tiered
storage. A negative timestamp the request's version does not know answers
UNSUPPORTED_VERSION. A timestamp lookup (and -3) finds only offsets a consumer
of the request's isolation level may read: one at or past the last stable
offset answers -1 for READ_COMMITTED, as Kafka filters by the last fetchable
offset.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_topic
from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.topic_access import partition_log
from broker.protocol import build, response_module

__all__ = [
    "EARLIEST_LOCAL_TIMESTAMP",
    "EARLIEST_TIMESTAMP",
    "HANDLERS",
    "LATEST_TIERED_TIMESTAMP",
    "LATEST_TIMESTAMP",
    "MAX_TIMESTAMP",
]

API_KEY = 2
LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2
MAX_TIMESTAMP = -3
EARLIEST_LOCAL_TIMESTAMP = -4
LATEST_TIERED_TIMESTAMP = -5
_READ_COMMITTED = 1
_FIRST_VERSION = {MAX_TIMESTAMP: 7, EARLIEST_LOCAL_TIMESTAMP: 8, LATEST_TIERED_TIMESTAMP: 9}


def _lookup(log: Any, timestamp: int, version: int, committed: bool) -> tuple[int, int]:
    """(timestamp, offset) answering one partition's query."""
    fetchable = log.last_stable_offset if committed else log.log_end_offset
    if timestamp in (EARLIEST_TIMESTAMP, EARLIEST_LOCAL_TIMESTAMP):
        if version < _FIRST_VERSION.get(timestamp, 0):
            raise _InvalidTimestamp(timestamp)
        return -1, log.log_start_offset
    if timestamp == LATEST_TIMESTAMP:
        return -1, fetchable
    if timestamp == MAX_TIMESTAMP and version >= _FIRST_VERSION[MAX_TIMESTAMP]:
        found = log.max_timestamp_offset()
    elif timestamp == LATEST_TIERED_TIMESTAMP and version >= _FIRST_VERSION[timestamp]:
        return -1, -1
    elif timestamp < 0:
        raise _InvalidTimestamp(timestamp)
    else:
        found = log.offset_for_timestamp(timestamp)
    if found is None or found.offset >= fetchable:
        return -1, -1
    return found.timestamp, found.offset


class _InvalidTimestamp(Exception):
    pass


def _partition(module: Any, ctx: RequestContext, topic: str, query: Any, committed: bool) -> Any:
    index = query.partition_index
    try:
        require_topic(ctx, Action.DESCRIBE, topic)
        log = partition_log(ctx.broker.topics, topic, index)
        timestamp, offset = _lookup(log, query.timestamp, ctx.api_version, committed)
        error = ErrorCode.none
    except BrokerError as exc:
        timestamp, offset, error = -1, -1, kafka_error(exc)[0]
    except _InvalidTimestamp:
        timestamp, offset, error = -1, -1, ErrorCode.unsupported_version
    return build(
        module.ListOffsetsPartitionResponse,
        partition_index=index,
        error_code=error,
        timestamp=timestamp,
        offset=offset,
        leader_epoch=0 if error == ErrorCode.none else -1,
        old_style_offsets=(offset,) if offset >= 0 else (),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    committed = getattr(request, "isolation_level", 0) == _READ_COMMITTED
    topics = tuple(
        build(
            module.ListOffsetsTopicResponse,
            name=topic.name,
            partitions=tuple(
                _partition(module, ctx, topic.name, query, committed) for query in topic.partitions
            ),
        )
        for topic in request.topics
    )
    return build(module.ListOffsetsResponse, throttle_time=datetime.timedelta(0), topics=topics)


HANDLERS = (ApiHandler(API_KEY, 1, 9, handle),)
