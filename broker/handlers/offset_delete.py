"""OffsetDelete (key 47): delete a group's committed offsets of topics it no longer consumes.

As Kafka: DELETE on the group (else GROUP_AUTHORIZATION_FAILED for the request),
then READ on each topic (TOPIC_AUTHORIZATION_FAILED for its partitions, kept),
then the topic must exist (UNKNOWN_TOPIC_OR_PARTITION for its partitions).
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group, require_topic
from broker.errors import BrokerError, UnknownTopicOrPartition, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 47


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    refused: dict[str, BrokerError] = {}
    try:
        require_group(ctx, Action.DELETE, request.group_id)
        for name in dict.fromkeys(t.name for t in request.topics):
            try:
                require_topic(ctx, Action.READ, name)
                if ctx.broker.topics.get(name) is None:
                    raise UnknownTopicOrPartition(f"This server does not host this topic: {name}")
            except BrokerError as exc:
                refused[name] = exc
        keys = [
            (t.name, p.partition_index)
            for t in request.topics
            if t.name not in refused
            for p in t.partitions
        ]
        results = coordinator(ctx).delete_offsets(request.group_id, keys)
    except BrokerError as exc:
        return build(
            module.OffsetDeleteResponse,
            error_code=kafka_error(exc)[0],
            throttle_time=NO_THROTTLE,
            topics=(),
        )
    topics = tuple(
        build(
            module.OffsetDeleteResponseTopic,
            name=topic.name,
            partitions=tuple(
                build(
                    module.OffsetDeleteResponsePartition,
                    partition_index=p.partition_index,
                    error_code=error_code(
                        refused.get(topic.name) or results.get((topic.name, p.partition_index))
                    ),
                )
                for p in topic.partitions
            ),
        )
        for topic in request.topics
    )
    return build(
        module.OffsetDeleteResponse,
        error_code=ErrorCode.none,
        throttle_time=NO_THROTTLE,
        topics=topics,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 0, handle),)
