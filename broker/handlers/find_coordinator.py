"""FindCoordinator (key 10): this broker coordinates every group and transactional id.

A single-node broker is the coordinator of every key, of both key types
(0 group, 1 transaction); v4+ asks for many keys at once. An unknown key type
answers INVALID_REQUEST; a group the principal may not describe,
GROUP_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_group
from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 10
_KEY_TYPES = frozenset({0, 1})
_BATCHED_VERSION = 4


def _answer(ctx: RequestContext, key_type: int, key: str) -> tuple[Any, ...]:
    """(error, message, node id, host, port) for one key."""
    broker = ctx.broker
    if key_type not in _KEY_TYPES:
        return ErrorCode.invalid_request, f"unknown coordinator key type {key_type}", -1, "", -1
    if key_type == 0:
        try:
            require_group(ctx, Action.DESCRIBE, key)
        except BrokerError as exc:
            code, message = kafka_error(exc)
            return code, message, -1, "", -1
    return ErrorCode.none, None, broker.node_id, broker.advertised_host, broker.advertised_port


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    key_type = getattr(request, "key_type", 0)
    if ctx.api_version < _BATCHED_VERSION:
        error, message, node_id, host, port = _answer(ctx, key_type, request.key)
        return build(
            module.FindCoordinatorResponse,
            throttle_time=datetime.timedelta(0),
            error_code=error,
            error_message=message,
            node_id=node_id,
            host=host,
            port=port,
        )
    return build(
        module.FindCoordinatorResponse,
        throttle_time=datetime.timedelta(0),
        coordinators=tuple(
            build(
                module.Coordinator,
                key=key,
                node_id=node_id,
                host=host,
                port=port,
                error_code=error,
                error_message=message,
            )
            for key in request.coordinator_keys
            for error, message, node_id, host, port in [_answer(ctx, key_type, key)]
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
