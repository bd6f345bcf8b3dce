"""LeaveGroup (key 13): members leave (v3+: a batch, by member id or ``group.instance.id``)."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group
from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 13


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    if ctx.api_version < 3:
        identities = [(request.member_id, None)]
    else:
        identities = [(m.member_id, m.group_instance_id) for m in request.members]
    try:
        require_group(ctx, Action.READ, request.group_id)
    except BrokerError as exc:
        code = kafka_error(exc)[0]
        if ctx.api_version < 3:
            return build(module.LeaveGroupResponse, throttle_time=NO_THROTTLE, error_code=code)
        return build(
            module.LeaveGroupResponse, throttle_time=NO_THROTTLE, error_code=code, members=()
        )
    outcomes = coordinator(ctx).classic.leave(request.group_id, identities)
    if ctx.api_version < 3:
        return build(
            module.LeaveGroupResponse,
            throttle_time=NO_THROTTLE,
            error_code=error_code(outcomes[0].error),
        )
    members = tuple(
        build(
            module.MemberResponse,
            member_id=outcome.member_id,
            group_instance_id=outcome.instance_id,
            error_code=error_code(outcome.error),
        )
        for outcome in outcomes
    )
    return build(
        module.LeaveGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        members=members,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
