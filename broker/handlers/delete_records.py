"""DeleteRecords (key 21): move partitions' log start offsets up ("delete records before").

Offset -1 means the high watermark (here the log end offset). An offset beyond
it, or negative, answers OFFSET_OUT_OF_RANGE; the answer's ``low_watermark`` is
the partition's new log start offset (segments wholly below it are deleted). A
topic whose ``cleanup.policy`` lacks ``delete`` (compact only) answers
POLICY_VIOLATION, as Kafka's partition leader does.
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_topic
from broker.errors import OffsetOutOfRange, PolicyViolation
from broker.handlers.admin_support import NO_THROTTLE, attempt
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 21
HIGH_WATERMARK = -1


def _delete_before(ctx: RequestContext, topic: str, partition: int, offset: int) -> int:
    require_topic(ctx, Action.DELETE, topic)
    log = ctx.broker.topics.partition(topic, partition)
    if not log.config.delete:
        raise PolicyViolation(
            f"Records of partition {topic}-{partition} can not be deleted due to the "
            "configured policy"
        )
    high_watermark = log.log_end_offset
    if offset == HIGH_WATERMARK:
        offset = high_watermark
    if offset < 0 or offset > high_watermark:
        raise OffsetOutOfRange(
            f"Cannot increment the log start offset to {offset} of partition "
            f"{topic}-{partition} since it is larger than the high watermark {high_watermark}"
            if offset >= 0
            else f"Cannot delete records before negative offset {offset} of {topic}-{partition}"
        )
    return log.delete_records_before(offset)


def _partition_result(module: Any, ctx: RequestContext, topic: str, wanted: Any) -> Any:
    low_watermark, code, _ = attempt(
        lambda: _delete_before(ctx, topic, wanted.partition_index, wanted.offset),
        f"deleting records of {topic}-{wanted.partition_index}",
    )
    return build(
        module.DeleteRecordsPartitionResult,
        partition_index=wanted.partition_index,
        low_watermark=-1 if low_watermark is None else low_watermark,
        error_code=code,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    topics = tuple(
        build(
            module.DeleteRecordsTopicResult,
            name=topic.name,
            partitions=tuple(
                _partition_result(module, ctx, topic.name, wanted) for wanted in topic.partitions
            ),
        )
        for topic in request.topics
    )
    return build(module.DeleteRecordsResponse, throttle_time=NO_THROTTLE, topics=topics)


HANDLERS = (ApiHandler(API_KEY, 0, 2, handle),)
