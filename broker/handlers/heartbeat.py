"""Heartbeat (key 12): a classic member is alive; REBALANCE_IN_PROGRESS tells it to rejoin."""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_group
from broker.errors import BrokerError
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE, coordinator, error_code
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 12


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    error: BrokerError | None = None
    try:
        require_group(ctx, Action.READ, request.group_id)
        coordinator(ctx).classic.heartbeat(
            request.group_id,
            request.generation_id,
            request.member_id,
            getattr(request, "group_instance_id", None),
        )
    except BrokerError as exc:
        error = exc
    return build(module.HeartbeatResponse, throttle_time=NO_THROTTLE, error_code=error_code(error))


HANDLERS = (ApiHandler(API_KEY, 0, 4, handle),)
