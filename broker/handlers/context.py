"""What a handler gets: the broker's shared state and the request's own context."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from broker.log.group_commit import GroupCommit
from broker.protocol import RequestHeader
from governance.broker_hooks import AllowAll, BrokerHooks
from governance.gate import ANONYMOUS

if TYPE_CHECKING:
    from broker.gate import BrokerGate
    from broker.handlers import ApiHandler
    from broker.handlers.sasl import Authenticator
    from broker.handlers.waiters import AppendWaiters
    from broker.producer_ids import ProducerIdAllocator
    from broker.settings import BrokerSettings
    from broker.topics import TopicManager
__all__ = ["BrokerContext", "ConnectionState", "RequestContext"]


@dataclasses.dataclass
class BrokerContext:
    """State shared by every connection of one broker process."""

    settings: BrokerSettings
    topics: TopicManager
    cluster_id: str
    advertised_host: str
    advertised_port: int
    producer_ids: ProducerIdAllocator
    gate: BrokerGate
    authenticator: Authenticator
    appends: AppendWaiters
    handlers: dict[int, ApiHandler]
    node_id: int = 0
    hooks: BrokerHooks = dataclasses.field(default_factory=AllowAll)
    group_commit: GroupCommit = dataclasses.field(default_factory=GroupCommit)


@dataclasses.dataclass
class ConnectionState:
    """Per-connection state that outlives one request (SASL progress, principal)."""

    peer: str
    sasl_mechanism: str | None = None
    principal: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class RequestContext:
    """One request being handled: its header, its connection and the broker."""

    header: RequestHeader
    broker: BrokerContext
    connection: ConnectionState

    @property
    def api_version(self) -> int:
        return self.header.api_version

    @property
    def principal(self) -> str:
        """The connection's authenticated principal, ``User:ANONYMOUS`` without SASL."""
        return self.connection.principal or ANONYMOUS
