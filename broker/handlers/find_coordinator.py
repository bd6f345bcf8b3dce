"""FindCoordinator (key 10): this broker coordinates every group and transactional id.

A single-node broker is the coordinator of every key, of both key types
(0 group, 1 transaction); v4+ asks for many keys at once. An unknown key type
answers INVALID_REQUEST.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 10
_KEY_TYPES = frozenset({0, 1})
_BATCHED_VERSION = 4


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    broker = ctx.broker
    key_type = getattr(request, "key_type", 0)
    error = ErrorCode.none if key_type in _KEY_TYPES else ErrorCode.invalid_request
    message = None if error == ErrorCode.none else f"unknown coordinator key type {key_type}"
    node_id, host, port = (
        (broker.node_id, broker.advertised_host, broker.advertised_port)
        if error == ErrorCode.none
        else (-1, "", -1)
    )
    if ctx.api_version < _BATCHED_VERSION:
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
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 5, handle),)
