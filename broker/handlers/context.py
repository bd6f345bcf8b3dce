"""What a handler is and what it gets: the broker's shared state and the request's own context."""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable
from typing import Any

from broker.auth import Authenticator
from broker.connection import ConnectionState
from broker.errors import CoordinatorNotAvailable
from broker.gate import BrokerGate
from broker.groups import GroupCoordinator
from broker.handlers.fetch_sessions import FetchSessionCache
from broker.handlers.waiters import AppendWaiters
from broker.log.group_commit import GroupCommit
from broker.producer_ids import ProducerIdAllocator
from broker.protocol import RequestHeader
from broker.settings import BrokerSettings
from broker.topics import TopicManager
from broker.transactions import TransactionCoordinator
from governance.broker_hooks import AllowAll, BrokerHooks
from governance.gate import ANONYMOUS
from governance.security.authorizer import AllowEverything, Authorizer
from governance.security.kafka_admin import KafkaSecurityAdmin
from governance.security.ratelimit import RequestRateLimiter

__all__ = ["ApiHandler", "BrokerContext", "ConnectionState", "Handle", "RequestContext"]


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
    authorizer: Authorizer = dataclasses.field(default_factory=AllowEverything)
    """Role-binding checks at each door (``broker.authorization``); allow-all when auth is off."""
    request_limiter: RequestRateLimiter | None = None
    """Requests per principal (``broker.handlers.dispatch`` throttles); None: no limit."""
    security_admin: KafkaSecurityAdmin | None = None
    """ACL and SCRAM administration (with auth on); None answers SECURITY_DISABLED."""
    group_commit: GroupCommit = dataclasses.field(default_factory=GroupCommit)
    transactions: TransactionCoordinator | None = None
    """The transaction coordinator (``BrokerApp.start`` builds it once the topics are open)."""
    fetch_sessions: FetchSessionCache = dataclasses.field(
        default_factory=lambda: FetchSessionCache(1000)
    )

    def coordinator(self) -> TransactionCoordinator:
        """The transaction coordinator; COORDINATOR_NOT_AVAILABLE before it is loaded."""
        if self.transactions is None:
            raise CoordinatorNotAvailable("the transaction coordinator is loading")
        return self.transactions

    groups: GroupCoordinator | None = None
    """The consumer-group coordinator (every group's coordinator is this node)."""


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
    def advertised(self) -> tuple[str, int]:
        """The host and port given to this client: those of the listener it connected to."""
        listener = self.connection.listener
        if listener is not None:
            return listener.advertised_host, listener.advertised_port
        return self.broker.advertised_host, self.broker.advertised_port

    @property
    def sasl_required(self) -> bool:
        """The connection's listener takes SASL (``SASL_PLAINTEXT``/``SASL_SSL``)."""
        listener = self.connection.listener
        if listener is not None:
            return listener.sasl
        return bool(self.broker.authenticator.mechanisms())

    @property
    def principal(self) -> str:
        """The connection's authenticated principal, ``User:ANONYMOUS`` without SASL."""
        return self.connection.principal or ANONYMOUS


Handle = Callable[[RequestContext, Any], Awaitable[Any]]
"""A handler: the request context and the typed request in, the typed response (or None) out."""


@dataclasses.dataclass(frozen=True, slots=True)
class ApiHandler:
    """One API: its key, the inclusive version range advertised, and its coroutine."""

    api_key: int
    min_version: int
    max_version: int
    handle: Handle

    def supports(self, api_version: int) -> bool:
        return self.min_version <= api_version <= self.max_version
