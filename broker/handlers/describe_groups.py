"""DescribeGroups (key 15): state, protocol and members of classic groups.

As in Kafka, members' metadata and assignments are shown only in the Stable
state. Up to v5 an unknown group is described as Dead with no members and no
error, and a KIP-848 group is described here too (its members without classic
metadata). From v6 (KIP-1043) both answer GROUP_ID_NOT_FOUND with a message,
as Kafka 4 does: only classic groups are described here, a KIP-848 group's
view is ConsumerGroupDescribe.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import NOT_REQUESTED, Action, authorized_operations, require_group
from broker.errors import BrokerError, GroupIdNotFound, kafka_error
from broker.groups import ClassicGroup, GroupState
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator
from broker.protocol import build, response_module
from governance.security.model import ResourceType

__all__ = ["HANDLERS"]

API_KEY = 15
NOT_FOUND_FROM_VERSION = 6


def _members(module: Any, group: Any) -> tuple[Any, ...]:
    stable = group.state is GroupState.STABLE
    members = []
    for member in group.members.values():
        classic = isinstance(group, ClassicGroup)
        members.append(
            build(
                module.DescribedGroupMember,
                member_id=member.member_id,
                group_instance_id=member.instance_id,
                client_id=member.client_id,
                client_host=member.client_host,
                member_metadata=member.metadata(group.protocol_name) if classic and stable else b"",
                member_assignment=member.assignment if classic and stable else b"",
            )
        )
    return tuple(members)


def _failed(module: Any, group_id: str, exc: BrokerError, state: str = "") -> Any:
    code, message = kafka_error(exc)
    return build(
        module.DescribedGroup,
        error_code=code,
        error_message=message,
        group_id=group_id,
        group_state=state,
        protocol_type="",
        protocol_data="",
        members=(),
        authorized_operations=NOT_REQUESTED,
    )


def _describe(module: Any, ctx: RequestContext, group_id: str, operations: bool) -> Any:
    try:
        require_group(ctx, Action.DESCRIBE, group_id)
    except BrokerError as exc:
        return _failed(module, group_id, exc)
    group = coordinator(ctx).describe(group_id)
    if ctx.api_version >= NOT_FOUND_FROM_VERSION:
        if group is None:
            missing = GroupIdNotFound(f"Group {group_id} not found.")
            return _failed(module, group_id, missing, GroupState.DEAD.value)
        if not isinstance(group, ClassicGroup):
            other = GroupIdNotFound(f"Group {group_id} is not a classic group.")
            return _failed(module, group_id, other, GroupState.DEAD.value)
    if group is None:
        return build(
            module.DescribedGroup,
            error_code=ErrorCode.none,
            error_message=None,
            group_id=group_id,
            group_state=GroupState.DEAD.value,
            protocol_type="",
            protocol_data="",
            members=(),
            authorized_operations=NOT_REQUESTED,
        )
    stable = group.state is GroupState.STABLE
    allowed = (
        authorized_operations(ctx, ResourceType.GROUP, group_id) if operations else NOT_REQUESTED
    )
    protocol = getattr(group, "protocol_name", None) if isinstance(group, ClassicGroup) else None
    return build(
        module.DescribedGroup,
        error_code=ErrorCode.none,
        error_message=None,
        group_id=group_id,
        group_state=group.state.value,
        protocol_type=group.protocol_type,
        protocol_data=(protocol or "") if stable else "",
        members=_members(module, group),
        authorized_operations=allowed,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    operations = bool(getattr(request, "include_authorized_operations", False))
    groups = tuple(_describe(module, ctx, group_id, operations) for group_id in request.groups)
    return build(module.DescribeGroupsResponse, throttle_time=NO_THROTTLE, groups=groups)


HANDLERS = (ApiHandler(API_KEY, 0, 6, handle),)
