"""ConsumerGroupHeartbeat (key 68): the KIP-848 consumer protocol's one request.

Joining, staying, reconciling and leaving are all heartbeats; the coordinator
answers each with the member's epoch and, when it changed, its assignment (by
topic id). Errors (FENCED_MEMBER_EPOCH, UNKNOWN_MEMBER_ID, …) come with a
message and make the client rejoin with epoch 0.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group
from broker.errors import BrokerError, kafka_error
from broker.groups import ConsumerHeartbeatRequest
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, client_host, coordinator, milliseconds
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 68


def _owned(ctx: RequestContext, request: Any) -> dict[str, set[int]] | None:
    if request.topic_partitions is None:
        return None
    lookup = coordinator(ctx).topics
    owned: dict[str, set[int]] = {}
    for item in request.topic_partitions:
        found = lookup.topic_by_id(item.topic_id)
        if found is not None:
            owned.setdefault(found[0], set()).update(int(p) for p in item.partitions)
    return owned


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    groups = coordinator(ctx)
    heartbeat = ConsumerHeartbeatRequest(
        group_id=request.group_id,
        member_id=request.member_id,
        member_epoch=request.member_epoch,
        instance_id=request.instance_id,
        rack_id=request.rack_id,
        rebalance_timeout_ms=milliseconds(request.rebalance_timeout),
        subscribed_topic_names=(
            None
            if request.subscribed_topic_names is None
            else tuple(request.subscribed_topic_names)
        ),
        subscribed_topic_regex=getattr(request, "subscribed_topic_regex", None),
        server_assignor=request.server_assignor,
        owned=_owned(ctx, request),
        client_id=ctx.header.client_id or "",
        client_host=client_host(ctx),
        member_id_from_client=ctx.api_version >= 1,
    )
    try:
        require_group(ctx, Action.READ, request.group_id)
        result = groups.consumer.heartbeat(heartbeat)
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return build(
            module.ConsumerGroupHeartbeatResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            error_message=message,
            member_id=None,
            member_epoch=-1,
            heartbeat_interval=datetime.timedelta(0),
            assignment=None,
        )
    assignment = None
    if result.assignment is not None:
        partitions = []
        for topic, indexes in sorted(result.assignment.items()):
            found = groups.topics.topic(topic)
            if found is not None and indexes:
                partitions.append(
                    build(
                        module.TopicPartitions, topic_id=found[0], partitions=tuple(sorted(indexes))
                    )
                )
        assignment = build(module.Assignment, topic_partitions=tuple(partitions))
    return build(
        module.ConsumerGroupHeartbeatResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        member_id=result.member_id,
        member_epoch=result.member_epoch,
        heartbeat_interval=datetime.timedelta(milliseconds=result.heartbeat_interval_ms),
        assignment=assignment,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 1, handle),)
