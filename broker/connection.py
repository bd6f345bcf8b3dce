"""What the broker keeps per client connection beyond one request: peer, SASL progress, principal."""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["ConnectionState"]


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
