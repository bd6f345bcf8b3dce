"""OffsetCommit (key 8): store a group's consumed positions (offset, leader epoch, metadata).

A group-level refusal (unknown member, stale generation, rebalance in progress)
is answered for every partition of the request, as Kafka does. Authorization,
as Kafka: READ on the group (else GROUP_AUTHORIZATION_FAILED everywhere), then
READ on each topic (TOPIC_AUTHORIZATION_FAILED for its partitions, not stored).
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_group, require_topic
from broker.errors import BrokerError
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 8


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    entries = [
        (
            topic.name,
            partition.partition_index,
            partition.committed_offset,
            getattr(partition, "committed_leader_epoch", -1),
            partition.committed_metadata,
        )
        for topic in request.topics
        for partition in topic.partitions
    ]
    denied: dict[str, BrokerError] = {}
    try:
        require_group(ctx, Action.READ, request.group_id)
        for name in dict.fromkeys(entry[0] for entry in entries):
            try:
                require_topic(ctx, Action.READ, name)
            except BrokerError as exc:
                denied[name] = exc
        allowed = [entry for entry in entries if entry[0] not in denied]
        results: dict[tuple[str, int], BrokerError | None] = (
            coordinator(ctx).commit_offsets(
                request.group_id,
                request.generation_id_or_member_epoch,
                request.member_id,
                getattr(request, "group_instance_id", None),
                allowed,
                principal=ctx.principal,
                client_id=ctx.header.client_id,
            )
            if allowed or not entries
            else {}
        )
        results.update(
            {(entry[0], entry[1]): denied[entry[0]] for entry in entries if entry[0] in denied}
        )
    except BrokerError as exc:
        results = {(entry[0], entry[1]): exc for entry in entries}
    topics = tuple(
        build(
            module.OffsetCommitResponseTopic,
            name=topic.name,
            partitions=tuple(
                build(
                    module.OffsetCommitResponsePartition,
                    partition_index=partition.partition_index,
                    error_code=error_code(results.get((topic.name, partition.partition_index))),
                )
                for partition in topic.partitions
            ),
        )
        for topic in request.topics
    )
    return build(module.OffsetCommitResponse, throttle_time=NO_THROTTLE, topics=topics)


HANDLERS = (ApiHandler(API_KEY, 2, 9, handle),)
