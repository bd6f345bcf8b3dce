"""The Kafka listener's authentication plug: which SASL mechanisms, and the exchange itself.

The security layer implements ``Authenticator``; ``charter`` passes one to the
broker. ``NoMechanisms`` is the listener without SASL.
"""

from __future__ import annotations

import dataclasses
from typing import Protocol

from broker.connection import ConnectionState

__all__ = ["Authenticator", "NoMechanisms", "SaslStep"]


@dataclasses.dataclass(frozen=True, slots=True)
class SaslStep:
    """The outcome of one SASL exchange step."""

    challenge: bytes = b""
    principal: str | None = None  # set when authentication completed
    error_message: str | None = None  # set when authentication failed
    session_lifetime_ms: int = 0  # KIP-368: re-authenticate within this (0: no limit)


class Authenticator(Protocol):
    """The security layer's plug: mechanisms offered and the exchange itself."""

    def mechanisms(self) -> tuple[str, ...]:
        """Mechanism names enabled, e.g. ``("PLAIN", "SCRAM-SHA-256")``."""
        ...

    def authenticate(self, connection: ConnectionState, auth_bytes: bytes) -> SaslStep:
        """Run one step of ``connection.sasl_mechanism`` with the client's bytes."""
        ...


class NoMechanisms:
    """The default authenticator: SASL is not enabled on this listener."""

    def mechanisms(self) -> tuple[str, ...]:
        return ()

    def authenticate(self, connection: ConnectionState, auth_bytes: bytes) -> SaslStep:
        return SaslStep(error_message="SASL authentication is not enabled on this listener")
