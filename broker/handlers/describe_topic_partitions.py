"""DescribeTopicPartitions (key 75, KIP-966): topics and their partitions, paginated.

What Metadata says of a topic (this broker leads every partition, its only
replica, epoch 0; no eligible leader replicas) plus the operations the
principal may do on it. Topics come sorted by name (no names: every topic the
principal may describe), from the request's cursor on; once
``response_partition_limit`` partitions are listed, ``next_cursor`` names the
first partition left out, as Kafka pages. An unknown topic answers
UNKNOWN_TOPIC_OR_PARTITION, one the principal may not describe
TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import authorized_operations, may_describe_topic
from broker.handlers.admin_support import NO_THROTTLE
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.topic_access import (
    TopicView,
    all_topics,
    find_topic,
    single_replica_partition,
)
from broker.protocol import build, response_module
from governance.security.model import ResourceType

__all__ = ["HANDLERS"]

API_KEY = 75
_ZERO_UUID = uuid.UUID(int=0)


def _error_topic(module: Any, name: str, code: ErrorCode) -> Any:
    return build(
        module.DescribeTopicPartitionsResponseTopic,
        error_code=code,
        name=name,
        topic_id=_ZERO_UUID,
        is_internal=False,
        partitions=(),
    )


def _topic(module: Any, ctx: RequestContext, topic: TopicView, indexes: range) -> Any:
    return build(
        module.DescribeTopicPartitionsResponseTopic,
        error_code=ErrorCode.none,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=False,
        partitions=tuple(
            build(
                module.DescribeTopicPartitionsResponsePartition,
                **single_replica_partition(ctx, index),
                eligible_leader_replicas=(),
                last_known_elr=(),
            )
            for index in indexes
        ),
        topic_authorized_operations=authorized_operations(ctx, ResourceType.TOPIC, topic.name),
    )


def _wanted(ctx: RequestContext, request: Any) -> list[tuple[str, TopicView | None]]:
    topics = ctx.broker.topics
    if not request.topics:
        return [
            (topic.name, topic)
            for topic in all_topics(topics)
            if may_describe_topic(ctx, topic.name)
        ]
    names = sorted({topic.name for topic in request.topics})
    return [(name, find_topic(topics, name)) for name in names]


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    cursor = request.cursor
    budget = max(int(request.response_partition_limit), 1)
    entries: list[Any] = []
    next_cursor = None
    for name, topic in _wanted(ctx, request):
        if cursor is not None and name < cursor.topic_name:
            continue
        if not may_describe_topic(ctx, name):
            entries.append(_error_topic(module, name, ErrorCode.topic_authorization_failed))
            continue
        if topic is None:
            entries.append(_error_topic(module, name, ErrorCode.unknown_topic_or_partition))
            continue
        if budget == 0:
            next_cursor = build(module.Cursor, topic_name=name, partition_index=0)
            break
        first = 0
        if cursor is not None and name == cursor.topic_name:
            first = min(max(int(cursor.partition_index), 0), topic.partitions)
        last = min(topic.partitions, first + budget)
        entries.append(_topic(module, ctx, topic, range(first, last)))
        budget -= last - first
        if last < topic.partitions:
            next_cursor = build(module.Cursor, topic_name=name, partition_index=last)
            break
    return build(
        module.DescribeTopicPartitionsResponse,
        throttle_time=NO_THROTTLE,
        topics=tuple(entries),
        next_cursor=next_cursor,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 0, handle),)
