"""What the broker keeps per client connection beyond one request, and the listener it came in on.

A ``Listener`` is one ``NAME://host:port`` the broker accepts clients on (Kafka's
``listeners``): its security protocol decides whether the connection is TLS
(``SSL``, ``SASL_SSL``), must authenticate with SASL before anything else
(``SASL_PLAINTEXT``, ``SASL_SSL``), and which address Metadata advertises to
clients that connected through it (each client is given the brokers of its own
listener, as Kafka does with ``advertised.listeners``).
"""

from __future__ import annotations

import dataclasses
import ssl
from collections.abc import Callable
from typing import Any

__all__ = ["SECURITY_PROTOCOLS", "ConnectionState", "Listener"]

SECURITY_PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")


@dataclasses.dataclass
class Listener:
    """One listening address and how clients on it are secured and told where the broker is."""

    name: str
    security_protocol: str
    host: str
    port: int
    advertised_host: str
    advertised_port: int = 0
    """0: the port actually bound (set by the server once it listens)."""
    ssl_context: ssl.SSLContext | None = None
    """The server context of an ``SSL``/``SASL_SSL`` listener (cert, key, client-cert policy)."""
    certificate_principal: Callable[[bytes], str] | None = None
    """On an ``SSL`` listener: the principal of a client certificate (DER) — the mTLS mapping
    rule; raises ``ValueError`` when no rule applies (the connection is then refused)."""

    def __post_init__(self) -> None:
        if self.security_protocol not in SECURITY_PROTOCOLS:
            raise ValueError(
                f"listener {self.name}: unknown security protocol {self.security_protocol!r}; "
                f"use one of {', '.join(SECURITY_PROTOCOLS)}"
            )
        if self.tls and self.ssl_context is None:
            raise ValueError(f"listener {self.name} ({self.security_protocol}) needs a TLS context")

    @property
    def tls(self) -> bool:
        return self.security_protocol in ("SSL", "SASL_SSL")

    @property
    def sasl(self) -> bool:
        """Clients must authenticate with SASL before any other request."""
        return self.security_protocol.startswith("SASL_")

    @property
    def described(self) -> str:
        """``NAME`` or ``NAME, PROTOCOL`` when they differ."""
        if self.name == self.security_protocol:
            return self.name
        return f"{self.name}, {self.security_protocol}"


@dataclasses.dataclass
class ConnectionState:
    """Per-connection state that outlives one request (SASL progress, principal)."""

    peer: str
    sasl_mechanism: str | None = None
    principal: str | None = None
    sasl_exchange: Any = None
    """The authenticator's state between the steps of a multi-step exchange (SCRAM)."""
    session_expires_ms: int | None = None
    """When the authenticated session ends (KIP-368); None: it does not."""
    listener: Listener | None = None
    """The listener the client connected to; None in tests that build a bare state."""
