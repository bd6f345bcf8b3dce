"""DescribeProducers (key 61, KIP-664): the active idempotent/transactional producers of
partitions, from each partition's producer state.

Per producer: its id and epoch, the last sequence and timestamp it wrote, and
the first offset of its open transaction (-1: none). The coordinator epoch is
not kept per partition here, so it is -1. Needs Read on the topic (else
TOPIC_AUTHORIZATION_FAILED); an unknown topic or partition answers
UNKNOWN_TOPIC_OR_PARTITION, as Kafka.
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_topic
from broker.handlers.admin_support import NO_THROTTLE, attempt
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.topic_access import partition_log
from broker.log.producer_state import ProducerEntry
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 61


def _producers(ctx: RequestContext, topic: str, partition: int) -> dict[int, ProducerEntry]:
    require_topic(ctx, Action.READ, topic)
    return dict(partition_log(ctx.broker.topics, topic, partition).producer_state.producers)


def _partition_response(module: Any, ctx: RequestContext, topic: str, partition: int) -> Any:
    producers, code, message = attempt(
        lambda: _producers(ctx, topic, partition),
        f"describing the producers of {topic}-{partition}",
    )
    return build(
        module.PartitionResponse,
        partition_index=partition,
        error_code=code,
        error_message=message,
        active_producers=tuple(
            build(
                module.ProducerState,
                producer_id=producer_id,
                producer_epoch=entry.epoch,
                last_sequence=entry.last_sequence,
                last_timestamp=entry.last_timestamp,
                coordinator_epoch=-1,
                current_txn_start_offset=entry.txn_first_offset,
            )
            for producer_id, entry in sorted((producers or {}).items())
        ),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    return build(
        module.DescribeProducersResponse,
        throttle_time=NO_THROTTLE,
        topics=tuple(
            build(
                module.TopicResponse,
                name=topic.name,
                partitions=tuple(
                    _partition_response(module, ctx, topic.name, partition)
                    for partition in topic.partition_indexes
                ),
            )
            for topic in request.topics
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 0, handle),)
