"""SyncGroup (key 14): the leader hands in the assignments; every member gets its own back."""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group
from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 14


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    try:
        require_group(ctx, Action.READ, request.group_id)
        result = await coordinator(ctx).classic.sync(
            request.group_id,
            request.generation_id,
            request.member_id,
            getattr(request, "group_instance_id", None),
            getattr(request, "protocol_type", None),
            getattr(request, "protocol_name", None),
            [(item.member_id, bytes(item.assignment)) for item in request.assignments],
        )
    except BrokerError as exc:
        return build(
            module.SyncGroupResponse,
            throttle_time=NO_THROTTLE,
            error_code=kafka_error(exc)[0],
            protocol_type=None,
            protocol_name=None,
            assignment=b"",
        )
    return build(
        module.SyncGroupResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        protocol_type=result.protocol_type,
        protocol_name=result.protocol_name,
        assignment=result.assignment,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
