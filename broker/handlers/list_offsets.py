"""ListOffsets (key 2): earliest (-2), latest (-1) or first offset at/after a timestamp.

With no transactions yet, the last stable offset equals the high watermark, so
READ_COMMITTED and READ_UNCOMMITTED give the same latest offset.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.topic_access import partition_log
from broker.protocol import build, response_module

__all__ = ["EARLIEST_TIMESTAMP", "HANDLERS", "LATEST_TIMESTAMP"]

API_KEY = 2
LATEST_TIMESTAMP = -1
EARLIEST_TIMESTAMP = -2


def _lookup(log: Any, timestamp: int) -> tuple[int, int]:
    """(timestamp, offset) answering one partition's query."""
    if timestamp == EARLIEST_TIMESTAMP:
        return -1, log.log_start_offset
    if timestamp == LATEST_TIMESTAMP:
        return -1, log.log_end_offset
    if timestamp < 0:
        raise _InvalidTimestamp(timestamp)
    found = log.offset_for_timestamp(timestamp)
    if found is None:
        return -1, -1
    return found.timestamp, found.offset


class _InvalidTimestamp(Exception):
    pass


def _partition(module: Any, ctx: RequestContext, topic: str, query: Any) -> Any:
    index = query.partition_index
    try:
        log = partition_log(ctx.broker.topics, topic, index)
        timestamp, offset = _lookup(log, query.timestamp)
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
    topics = tuple(
        build(
            module.ListOffsetsTopicResponse,
            name=topic.name,
            partitions=tuple(
                _partition(module, ctx, topic.name, query) for query in topic.partitions
            ),
        )
        for topic in request.topics
    )
    return build(module.ListOffsetsResponse, throttle_time=datetime.timedelta(0), topics=topics)


HANDLERS = (ApiHandler(API_KEY, 1, 6, handle),)
