"""FindCoordinator (key 10): this single node coordinates every group (and transactional id).

v0-v3 ask for one key; v4+ (KIP-699) for a batch, answered one entry per key. A group
the principal may not describe answers GROUP_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group, require_transactional_id
from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.group_support import NO_THROTTLE
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 10
_KEY_TYPES = (0, 1)  # group, transaction


def _answer(ctx: RequestContext, key: str, key_type: int) -> dict[str, Any]:
    broker = ctx.broker
    if key_type not in _KEY_TYPES or not key:
        return {
            "error_code": ErrorCode.invalid_request,
            "error_message": f"no coordinator for key type {key_type} and key {key!r}",
            "node_id": -1,
            "host": "",
            "port": -1,
        }
    try:
        if key_type == 0:
            require_group(ctx, Action.DESCRIBE, key)
        else:
            require_transactional_id(ctx, Action.DESCRIBE, key)
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return {
            "error_code": code,
            "error_message": message,
            "node_id": -1,
            "host": "",
            "port": -1,
        }
    return {
        "error_code": ErrorCode.none,
        "error_message": None,
        "node_id": broker.node_id,
        "host": ctx.advertised[0],
        "port": ctx.advertised[1],
    }


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    key_type = int(getattr(request, "key_type", 0))
    if ctx.api_version < 4:
        return build(
            module.FindCoordinatorResponse,
            throttle_time=NO_THROTTLE,
            **_answer(ctx, request.key, key_type),
        )
    coordinators = tuple(
        build(module.Coordinator, key=key, **_answer(ctx, key, key_type))
        for key in request.coordinator_keys
    )
    return build(
        module.FindCoordinatorResponse, throttle_time=NO_THROTTLE, coordinators=coordinators
    )


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
