"""SASL/OAUTHBEARER (RFC 7628, KIP-255), sans-io: one client message carrying a bearer JWT.

The client sends ``gs2-header %x01 auth=Bearer <token> %x01 *(key=value %x01) %x01``;
the token is checked by ``oauth.JwtValidator`` and the principal comes from its
claim. An authorization id (``a=``) must name the same user. SASL extensions
are accepted and ignored (Kafka's default validator does the same). Any
failure ends the exchange with a message saying what is wrong with the token
(the broker answers SASL_AUTHENTICATION_FAILED); the failure is counted and
audited like a wrong password.
"""

from __future__ import annotations

import re

from governance.security.errors import SecurityError
from governance.security.oauth import JwtValidator
from governance.security.sasl import SaslOutcome
from governance.security.service import SecurityService

__all__ = ["MECHANISM", "OAuthBearerExchange"]

MECHANISM = "OAUTHBEARER"
_MAX_MESSAGE = 32 * 1024
_KEY = re.compile(r"^[A-Za-z]+$")


class _Malformed(Exception):
    pass


def _parse(message: bytes) -> tuple[str, str]:
    """(authorization id, token) of a client message; ``_Malformed`` otherwise."""
    try:
        text = message.decode("utf-8")
    except UnicodeDecodeError:
        raise _Malformed("the OAUTHBEARER message is not UTF-8") from None
    header, sep, rest = text.partition("\x01")
    if not sep or not rest.endswith("\x01\x01"):
        raise _Malformed("malformed OAUTHBEARER message (RFC 7628)")
    flag, _, remainder = header.partition(",")
    authzid, comma, tail = remainder.partition(",")
    if flag not in ("n", "y") or not comma or tail:
        raise _Malformed("malformed OAUTHBEARER GS2 header; expected n,, or n,a=USER,")
    if authzid and not authzid.startswith("a="):
        raise _Malformed("malformed OAUTHBEARER authorization id")
    token = None
    for pair in rest[:-2].split("\x01"):
        key, eq, value = pair.partition("=")
        if not eq or not _KEY.match(key):
            raise _Malformed("malformed OAUTHBEARER key/value pair")
        if key == "auth":
            scheme, space, token_text = value.partition(" ")
            if scheme.lower() != "bearer" or not space or not token_text.strip():
                raise _Malformed("the OAUTHBEARER auth value must be 'Bearer <token>'")
            token = token_text.strip()
    if token is None:
        raise _Malformed("the OAUTHBEARER message has no auth=Bearer token")
    return authzid[2:], token


class OAuthBearerExchange:
    """One OAUTHBEARER authentication: a single client message, then done."""

    mechanism = MECHANISM

    def __init__(
        self, validator: JwtValidator, service: SecurityService, address: str | None
    ) -> None:
        self.validator = validator
        self.service = service
        self.address = address
        self.done = False

    def step(self, data: bytes) -> SaslOutcome:
        if self.done:
            return SaslOutcome(error="OAUTHBEARER takes one message")
        self.done = True
        try:
            self.service.refuse_if_blocked(None, self.address, MECHANISM)
        except SecurityError as exc:
            return SaslOutcome(error=exc.message)
        try:
            if len(data) > _MAX_MESSAGE:
                raise _Malformed("the OAUTHBEARER message is too long")
            authzid, token = _parse(bytes(data))
            validated = self.validator.validate(token)
            if authzid and f"User:{authzid}" != validated.principal:
                raise _Malformed("the authorization id does not match the token's principal")
        except (_Malformed, SecurityError) as exc:
            message = exc.message if isinstance(exc, SecurityError) else str(exc)
            self.service.record_failure(None, self.address, MECHANISM, message)
            return SaslOutcome(
                error=f"Authentication failed during authentication with SASL mechanism "
                f"{MECHANISM}: {message}"
            )
        return SaslOutcome(principal=validated.principal, expires_ms=validated.expires_ms)
