"""SASL server exchanges, sans-io: PLAIN (RFC 4616) and SCRAM-SHA-256/512 (RFC 5802/7677).

``start_exchange(mechanism, service, address)`` gives an object whose
``step(client_bytes)`` answers a ``SaslOutcome``: bytes to send back, and once
done either the principal or an error message. Nothing here touches a socket;
the broker's ``Authenticator`` plug (wired in ``charter``) drives it.

SCRAM as Kafka clients speak it: GS2 header ``n,,`` (``a=`` authzid allowed if
it names the same user; channel binding refused), attributes after the nonce
are extensions (``tokenauth=true`` is refused: delegation tokens are not
supported). An unknown user gets a salt derived from the name and fails at the
proof, so the exchange does not tell which users exist.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hashlib
import hmac
import secrets

from governance.security.credentials import SCRAM_ALGORITHMS, SCRAM_ITERATIONS
from governance.security.errors import SecurityError
from governance.security.service import SecurityService

__all__ = ["MECHANISMS", "SaslOutcome", "start_exchange"]

MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_MAX_MESSAGE = 4096


@dataclasses.dataclass(frozen=True, slots=True)
class SaslOutcome:
    challenge: bytes = b""
    principal: str | None = None
    error: str | None = None
    expires_ms: int | None = None
    """When the credential itself expires (an OAUTHBEARER token's ``exp``); KIP-368 caps
    the session at it."""


class _Failed(Exception):
    pass


class PlainExchange:
    def __init__(self, service: SecurityService, address: str | None) -> None:
        self.service = service
        self.address = address
        self.done = False

    def step(self, data: bytes) -> SaslOutcome:
        if self.done:
            return SaslOutcome(error="PLAIN takes one message")
        self.done = True
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            return SaslOutcome(error="malformed PLAIN message")
        parts = text.split("\x00")
        if len(parts) != 3 or len(data) > _MAX_MESSAGE:
            return SaslOutcome(error="malformed PLAIN message")
        authzid, user, password = parts
        if not user or (authzid and authzid != user):
            return SaslOutcome(error="authorization id must be empty or the user name")
        try:
            principal = self.service.authenticate_password(user, password, self.address)
        except SecurityError as exc:
            return SaslOutcome(error=_failure_message("PLAIN", exc))
        return SaslOutcome(principal=principal)


def _failure_message(mechanism: str, exc: SecurityError) -> str:
    return f"Authentication failed during authentication with SASL mechanism {mechanism}: {exc}"


def _attributes(message: str) -> list[tuple[str, str]]:
    pairs = []
    for part in message.split(","):
        key, eq, value = part.partition("=")
        if not eq or len(key) != 1:
            raise _Failed("malformed SCRAM message")
        pairs.append((key, value))
    return pairs


def _unescape_name(name: str) -> str:
    if "=" in name.replace("=2C", "").replace("=3D", ""):
        raise _Failed("malformed user name")
    return name.replace("=2C", ",").replace("=3D", "=")


class ScramExchange:
    def __init__(self, mechanism: str, service: SecurityService, address: str | None) -> None:
        self.mechanism = mechanism
        self.algorithm = SCRAM_ALGORITHMS[mechanism]
        self.service = service
        self.address = address
        self.state = "first"
        self.user = ""
        self.gs2_header = ""
        self.nonce = ""
        self.auth_message_start = ""
        self.credential = None

    def step(self, data: bytes) -> SaslOutcome:
        try:
            if len(data) > _MAX_MESSAGE:
                raise _Failed("SCRAM message too long")
            text = bytes(data).decode("utf-8")
            if self.state == "first":
                return self._first(text)
            if self.state == "final":
                return self._final(text)
            raise _Failed("the SCRAM exchange is over")
        except UnicodeDecodeError:
            self.state = "done"
            return SaslOutcome(error="malformed SCRAM message")
        except _Failed as exc:
            self.state = "done"
            return SaslOutcome(error=str(exc))
        except SecurityError as exc:
            self.state = "done"
            return SaslOutcome(error=_failure_message(self.mechanism, exc))

    def _first(self, text: str) -> SaslOutcome:
        cbind, _, rest = text.partition(",")
        authzid, _, bare = rest.partition(",")
        if cbind not in ("n", "y") or not bare:
            raise _Failed("channel binding is not supported; the GS2 header must be n,,")
        attributes = _attributes(bare)
        if len(attributes) < 2 or attributes[0][0] != "n" or attributes[1][0] != "r":
            raise _Failed("malformed SCRAM client-first message")
        self.user = _unescape_name(attributes[0][1])
        client_nonce = attributes[1][1]
        if not self.user or not client_nonce:
            raise _Failed("malformed SCRAM client-first message")
        if authzid and authzid != f"a={attributes[0][1]}":
            raise _Failed("authorization id must be empty or the user name")
        if any(key == "t" or value == "tokenauth=true" for key, value in attributes[2:]) or (
            "tokenauth=true" in bare
        ):
            raise _Failed("delegation tokens are not supported")
        self.service.refuse_if_blocked(self.user, self.address, self.mechanism)
        self.credential = self.service.scram_credential(self.user, self.mechanism)
        salt = (
            self.credential.salt
            if self.credential is not None
            else self.service.decoy_salt(self.user)
        )
        iterations = self.credential.iterations if self.credential else SCRAM_ITERATIONS
        self.gs2_header = f"{cbind},{authzid},"
        self.nonce = client_nonce + secrets.token_urlsafe(18)
        server_first = f"r={self.nonce},s={base64.b64encode(salt).decode()},i={iterations}"
        self.auth_message_start = f"{bare},{server_first}"
        self.state = "final"
        return SaslOutcome(challenge=server_first.encode())

    def _final(self, text: str) -> SaslOutcome:
        self.state = "done"
        without_proof, sep, proof_text = text.rpartition(",p=")
        if not sep:
            raise _Failed("malformed SCRAM client-final message")
        attributes = dict(_attributes(without_proof))
        expected_binding = base64.b64encode(self.gs2_header.encode()).decode()
        if attributes.get("c") != expected_binding or attributes.get("r") != self.nonce:
            raise _Failed("SCRAM channel binding or nonce does not match")
        try:
            proof = base64.b64decode(proof_text, validate=True)
        except (binascii.Error, ValueError):
            raise _Failed("malformed SCRAM proof") from None
        auth_message = f"{self.auth_message_start},{without_proof}".encode()
        credential = self.credential
        stored_key = credential.stored_key if credential else b"\0" * len(proof)
        signature = hmac.digest(stored_key, auth_message, self.algorithm)
        if len(proof) != len(signature):
            self.service.failed(self.user, self.address, self.mechanism)
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        computed = hashlib.new(self.algorithm, client_key).digest()
        if not hmac.compare_digest(computed, stored_key) or credential is None:
            self.service.failed(self.user, self.address, self.mechanism)
        self.service.limiter.succeeded(self.user, self.address)
        server_signature = hmac.digest(credential.server_key, auth_message, self.algorithm)
        return SaslOutcome(
            challenge=b"v=" + base64.b64encode(server_signature),
            principal=f"User:{self.user}",
        )


def start_exchange(
    mechanism: str, service: SecurityService, address: str | None
) -> PlainExchange | ScramExchange:
    if mechanism == "PLAIN":
        return PlainExchange(service, address)
    return ScramExchange(mechanism, service, address)
