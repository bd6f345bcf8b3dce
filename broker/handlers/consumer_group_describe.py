"""ConsumerGroupDescribe (key 69): KIP-848 groups with epochs, members, current and target assignments.

A classic group answers GROUP_ID_NOT_FOUND (not a consumer group), as Kafka
does, which admin clients take as the cue to use DescribeGroups.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import NOT_REQUESTED, Action, authorized_operations, require_group
from broker.errors import BrokerError, GroupIdNotFound, kafka_error
from broker.groups import ConsumerGroup
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator
from broker.protocol import build, response_module
from governance.security.model import ResourceType

__all__ = ["HANDLERS"]

API_KEY = 69


def _assignment(module: Any, ctx: RequestContext, partitions: dict[str, set[int]]) -> Any:
    lookup = coordinator(ctx).topics
    items = []
    for topic, indexes in sorted(partitions.items()):
        found = lookup.topic(topic)
        if found is not None and indexes:
            items.append(
                build(
                    module.TopicPartitions,
                    topic_id=found[0],
                    topic_name=topic,
                    partitions=tuple(sorted(indexes)),
                )
            )
    return build(module.Assignment, topic_partitions=tuple(items))


def _describe(module: Any, ctx: RequestContext, group_id: str, operations: bool) -> Any:
    try:
        require_group(ctx, Action.DESCRIBE, group_id)
        group = coordinator(ctx).describe(group_id)
        if not isinstance(group, ConsumerGroup):
            raise GroupIdNotFound(
                f"group {group_id} "
                + ("is not a consumer group" if group is not None else "not found")
            )
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return build(
            module.DescribedGroup,
            error_code=code,
            error_message=message,
            group_id=group_id,
            group_state="Dead",
            group_epoch=-1,
            assignment_epoch=-1,
            assignor_name="",
            members=(),
            authorized_operations=NOT_REQUESTED,
        )
    members = tuple(
        build(
            module.Member,
            member_id=member.member_id,
            instance_id=member.instance_id,
            rack_id=member.rack_id,
            member_epoch=member.member_epoch,
            client_id=member.client_id,
            client_host=member.client_host,
            subscribed_topic_names=member.subscribed_topic_names,
            subscribed_topic_regex=member.subscribed_topic_regex,
            assignment=_assignment(module, ctx, member.assigned),
            target_assignment=_assignment(module, ctx, group.target.get(member.member_id, {})),
            member_type=1,
        )
        for member in group.members.values()
    )
    return build(
        module.DescribedGroup,
        error_code=ErrorCode.none,
        error_message=None,
        group_id=group_id,
        group_state=group.state.value,
        group_epoch=group.group_epoch,
        assignment_epoch=group.assignment_epoch,
        assignor_name=group.assignor,
        members=members,
        authorized_operations=(
            authorized_operations(ctx, ResourceType.GROUP, group_id)
            if operations
            else NOT_REQUESTED
        ),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    operations = bool(request.include_authorized_operations)
    groups = tuple(_describe(module, ctx, group_id, operations) for group_id in request.group_ids)
    return build(module.ConsumerGroupDescribeResponse, throttle_time=NO_THROTTLE, groups=groups)


HANDLERS = (ApiHandler(API_KEY, 0, 1, handle),)
