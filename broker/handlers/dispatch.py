"""From one request frame to one response frame: decode, look up the handler, encode.

Protocol errors propagate (the server logs them and closes the connection),
except an unsupported ApiVersions version, which is answered with error 35. A
handler's ``Deferred`` response comes back as a ``Deferred`` encoded frame.

On a ``SASL_*`` listener, a connection that has not authenticated
(or whose KIP-368 session has expired) may only send ApiVersions,
SaslHandshake and SaslAuthenticate; anything else closes it, as Kafka does.

With a request rate limit (``RequestRateLimiter``), each request of a principal
is charged to its token bucket; over the limit its response carries
``throttle_time_ms`` and the principal's next request is held until the debt is
paid, as Kafka's request quotas do (KIP-124/KIP-219), never a dropped connection.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import time
from typing import Any

from broker.connection import ConnectionState
from broker.handlers.api_versions import API_KEY as API_VERSIONS_KEY
from broker.handlers.api_versions import unsupported_version_response
from broker.handlers.context import BrokerContext, RequestContext
from broker.handlers.deferred import Deferred
from broker.protocol import (
    ProtocolError,
    RequestHeader,
    UnknownApiKey,
    UnsupportedApiVersion,
    decode_request,
    encode_response,
)
from broker.protocol.entities import field_names
from governance.gate import ANONYMOUS
from governance.security.ratelimit import RequestRateLimiter

__all__ = ["AuthenticationRequired", "dispatch"]

_SASL_HANDSHAKE_KEY = 17
_SASL_AUTHENTICATE_KEY = 36
_BEFORE_AUTHENTICATION = frozenset({API_VERSIONS_KEY, _SASL_HANDSHAKE_KEY, _SASL_AUTHENTICATE_KEY})


class AuthenticationRequired(ProtocolError):
    """A request other than ApiVersions/SASL on a connection that is not (or no longer)
    authenticated; the connection is closed."""


def _check_authenticated(broker: BrokerContext, connection: ConnectionState, api_key: int) -> None:
    if api_key in _BEFORE_AUTHENTICATION:
        return
    if connection.principal is None:
        listener = connection.listener
        sasl = listener.sasl if listener is not None else bool(broker.authenticator.mechanisms())
        if sasl:
            raise AuthenticationRequired(
                f"request with api key {api_key} before SASL authentication"
            )
    elif connection.session_expires_ms is not None and (
        time.time() * 1000 > connection.session_expires_ms
    ):
        raise AuthenticationRequired("the SASL session expired without re-authentication")


async def dispatch(
    broker: BrokerContext, connection: ConnectionState, frame: bytes | memoryview
) -> bytes | Deferred[bytes] | None:
    """Handle one request frame; return the size-prefixed response, or None for no response."""
    try:
        request = decode_request(frame)
    except UnsupportedApiVersion as exc:
        header: RequestHeader | None = getattr(exc, "header", None)
        if exc.api_key == API_VERSIONS_KEY and header is not None:
            return encode_response(header, unsupported_version_response(broker.handlers))
        raise
    header = request.header
    _check_authenticated(broker, connection, header.api_key)
    handler = broker.handlers.get(header.api_key)
    if handler is None:
        raise UnknownApiKey(header.api_key)
    if not handler.supports(header.api_version):
        if header.api_key == API_VERSIONS_KEY:
            return encode_response(header, unsupported_version_response(broker.handlers))
        raise UnsupportedApiVersion(header.api_key, header.api_version)
    throttle_s = 0.0
    limiter = broker.request_limiter
    if limiter is not None and header.api_key not in _BEFORE_AUTHENTICATION:
        throttle_s = await _rate_limit(limiter, connection.principal or ANONYMOUS)
    response = await handler.handle(RequestContext(header, broker, connection), request.body)
    if response is None:
        return None
    if isinstance(response, Deferred):
        value = _throttled(response.value, throttle_s)
        return Deferred(encode_response(header, value), response.ready)
    return encode_response(header, _throttled(response, throttle_s))


async def _rate_limit(limiter: RequestRateLimiter, principal: str) -> float:
    """Wait out the principal's debt (Kafka mutes a throttled channel for its throttle time),
    then charge this request; the throttle time its response carries, in seconds."""
    debt = limiter.debt(principal)
    if debt > 0:
        await asyncio.sleep(debt)
    return limiter.charge(principal)


def _throttled(response: Any, throttle_s: float) -> Any:
    if throttle_s <= 0 or "throttle_time" not in field_names(type(response)):
        return response
    throttle = datetime.timedelta(milliseconds=min(int(throttle_s * 1000) + 1, 2**31 - 1))
    return dataclasses.replace(response, throttle_time=throttle)
