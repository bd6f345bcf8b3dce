"""What the broker keeps per client connection beyond one request: peer, SASL progress, principal."""

from __future__ import annotations

import dataclasses

__all__ = ["ConnectionState"]


@dataclasses.dataclass
class ConnectionState:
    """Per-connection state that outlives one request (SASL progress, principal)."""

    peer: str
    sasl_mechanism: str | None = None
    principal: str | None = None
