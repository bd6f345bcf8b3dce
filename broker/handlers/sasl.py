"""SaslHandshake (17) and SaslAuthenticate (36): hooks for the later security work.

The broker asks an ``Authenticator`` (``broker.auth``) which mechanisms are
enabled and lets it run the exchange. The default enables none: a handshake gets
UNSUPPORTED_SASL_MECHANISM (33) with an empty list, and an authenticate without a
successful handshake gets ILLEGAL_SASL_STATE (34), as Kafka answers when no
mechanism matches.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

HANDSHAKE_KEY = 17
AUTHENTICATE_KEY = 36


async def handle_handshake(ctx: RequestContext, request: Any) -> Any:
    module = response_module(HANDSHAKE_KEY, ctx.api_version)
    enabled = ctx.broker.authenticator.mechanisms()
    if request.mechanism in enabled:
        ctx.connection.sasl_mechanism = request.mechanism
        error = ErrorCode.none
    else:
        error = ErrorCode.unsupported_sasl_mechanism
    return build(module.SaslHandshakeResponse, error_code=error, mechanisms=tuple(enabled))


async def handle_authenticate(ctx: RequestContext, request: Any) -> Any:
    module = response_module(AUTHENTICATE_KEY, ctx.api_version)
    if ctx.connection.sasl_mechanism is None:
        return build(
            module.SaslAuthenticateResponse,
            error_code=ErrorCode.illegal_sasl_state,
            error_message="SaslAuthenticate before a successful SaslHandshake",
            auth_bytes=b"",
            session_lifetime=datetime.timedelta(0),
        )
    step = ctx.broker.authenticator.authenticate(ctx.connection, request.auth_bytes)
    if step.principal is not None:
        ctx.connection.principal = step.principal
    return build(
        module.SaslAuthenticateResponse,
        error_code=(ErrorCode.sasl_authentication_failed if step.error_message else ErrorCode.none),
        error_message=step.error_message,
        auth_bytes=step.challenge,
        session_lifetime=datetime.timedelta(0),
    )


HANDLERS = (
    ApiHandler(HANDSHAKE_KEY, 0, 1, handle_handshake),
    ApiHandler(AUTHENTICATE_KEY, 0, 2, handle_authenticate),
)
