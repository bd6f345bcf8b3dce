"""OffsetFetch (key 9): a group's committed offsets; v8+ asks for several groups at once.

A partition with no committed offset answers offset -1 and empty metadata; no
topics (null) means every partition the group has committed. Authorization, as
Kafka: DESCRIBE on the group, then on each topic asked for (else its partitions
answer TOPIC_AUTHORIZATION_FAILED); with no topics, the topics the principal
may not describe are left out.
With ``require_stable`` (v7+, what read_committed clients send) a requested partition
whose offset a transaction has staged but not yet ended answers
UNSTABLE_OFFSET_COMMIT (the client retries), as Kafka does.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, may_describe_topic, require_group, require_topic
from broker.errors import BrokerError
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 9


def _topics(
    ctx: RequestContext,
    group_id: str,
    topics: Any,
    member_id: str | None,
    member_epoch: int,
    require_stable: bool,
    partition_class: type,
    topic_class: type,
) -> tuple[tuple[Any, ...], BrokerError | None]:
    keys = None
    denied: dict[str, BrokerError] = {}
    try:
        require_group(ctx, Action.DESCRIBE, group_id)
        if topics is not None:
            for name in dict.fromkeys(t.name for t in topics):
                try:
                    require_topic(ctx, Action.DESCRIBE, name)
                except BrokerError as exc:
                    denied[name] = exc
            keys = [
                (t.name, index)
                for t in topics
                if t.name not in denied
                for index in t.partition_indexes
            ]
        found = coordinator(ctx).fetch_offsets(group_id, keys, member_id, member_epoch)
    except BrokerError as exc:
        return (), exc
    unstable = _unstable(ctx, group_id) if require_stable and keys is not None else set()
    by_topic: dict[str, list[Any]] = {}
    for topic in topics or ():
        for index in topic.partition_indexes if topic.name in denied else ():
            by_topic.setdefault(topic.name, []).append(
                build(
                    partition_class,
                    partition_index=index,
                    committed_offset=-1,
                    committed_leader_epoch=-1,
                    metadata="",
                    error_code=error_code(denied[topic.name]),
                )
            )
    for key, entry in found:
        if keys is None and not may_describe_topic(ctx, key[0]):
            continue  # all topics asked for: only those the principal may describe, as Kafka
        if key in unstable:
            entry = None
        by_topic.setdefault(key[0], []).append(
            build(
                partition_class,
                partition_index=key[1],
                committed_offset=entry.offset if entry else -1,
                committed_leader_epoch=entry.leader_epoch if entry else -1,
                metadata=(entry.metadata or "") if entry else "",
                error_code=ErrorCode.unstable_offset_commit if key in unstable else ErrorCode.none,
            )
        )
    return (
        tuple(
            build(topic_class, name=name, partitions=tuple(parts))
            for name, parts in by_topic.items()
        ),
        None,
    )


def _unstable(ctx: RequestContext, group_id: str) -> set[tuple[str, int]]:
    transactions = ctx.broker.transactions
    return transactions.unstable_offsets(group_id) if transactions is not None else set()


async def handle(ctx: RequestContext, request: Any) -> Any:
    require_stable = bool(getattr(request, "require_stable", False))
    module = response_module(API_KEY, ctx.api_version)
    if ctx.api_version < 8:
        topics, error = _topics(
            ctx,
            request.group_id,
            request.topics,
            None,
            -1,
            require_stable,
            module.OffsetFetchResponsePartition,
            module.OffsetFetchResponseTopic,
        )
        return build(
            module.OffsetFetchResponse,
            throttle_time=NO_THROTTLE,
            topics=topics,
            error_code=error_code(error),
        )
    groups = []
    for group in request.groups:
        topics, error = _topics(
            ctx,
            group.group_id,
            group.topics,
            getattr(group, "member_id", None),
            getattr(group, "member_epoch", -1),
            require_stable,
            module.OffsetFetchResponsePartitions,
            module.OffsetFetchResponseTopics,
        )
        groups.append(
            build(
                module.OffsetFetchResponseGroup,
                group_id=group.group_id,
                topics=topics,
                error_code=error_code(error),
            )
        )
    return build(module.OffsetFetchResponse, throttle_time=NO_THROTTLE, groups=tuple(groups))


HANDLERS = (ApiHandler(API_KEY, 1, 9, handle),)
