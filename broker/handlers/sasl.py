"""SaslHandshake (17) and SaslAuthenticate (36): the Kafka listener's authentication.

The broker asks an ``Authenticator`` (``broker.auth``) which mechanisms are
enabled and lets it run the exchange (only on a ``SASL_*`` listener: a PLAINTEXT
or SSL listener offers none). The default enables none: a handshake gets
UNSUPPORTED_SASL_MECHANISM (33) with an empty list, and an authenticate without a
successful handshake gets ILLEGAL_SASL_STATE (34), as Kafka answers when no
mechanism matches. A step runs on a worker thread (checking a password is
deliberately slow). A session lifetime (KIP-368) is sent from v1 on; a
re-authentication must keep the principal.
"""

from __future__ import annotations

import asyncio
import datetime
import time
from typing import Any

from kio.schema.errors import ErrorCode

from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

HANDSHAKE_KEY = 17
AUTHENTICATE_KEY = 36


async def handle_handshake(ctx: RequestContext, request: Any) -> Any:
    module = response_module(HANDSHAKE_KEY, ctx.api_version)
    enabled = ctx.broker.authenticator.mechanisms() if ctx.sasl_required else ()
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
    step = await asyncio.to_thread(
        ctx.broker.authenticator.authenticate, ctx.connection, bytes(request.auth_bytes)
    )
    error_message = step.error_message
    if step.principal is not None and error_message is None:
        previous = ctx.connection.principal
        if previous is not None and previous != step.principal:
            error_message = "a re-authentication cannot change the principal"
        else:
            ctx.connection.principal = step.principal
            ctx.connection.session_expires_ms = (
                int(time.time() * 1000) + step.session_lifetime_ms
                if step.session_lifetime_ms > 0
                else None
            )
    if error_message is not None:
        ctx.connection.sasl_mechanism = None  # a new handshake starts over
    lifetime = step.session_lifetime_ms if step.principal and error_message is None else 0
    return build(
        module.SaslAuthenticateResponse,
        error_code=(ErrorCode.sasl_authentication_failed if error_message else ErrorCode.none),
        error_message=error_message,
        auth_bytes=step.challenge if error_message is None else b"",
        session_lifetime=datetime.timedelta(milliseconds=lifetime),
    )


HANDLERS = (
    ApiHandler(HANDSHAKE_KEY, 0, 1, handle_handshake),
    ApiHandler(AUTHENTICATE_KEY, 0, 2, handle_authenticate),
)
