"""The broker process: TopicManager + handlers + Kafka listener, started and stopped as one.

``charter`` (its composition root, ``charter.compose.build_broker``) builds a
``BrokerApp`` from a typed ``BrokerSettings``, the database it opened and migrated,
and everything the broker calls out to: the produce gate, the SASL authenticator
and the topic hooks (event listeners, create policy). The broker never imports
``charter`` and picks none of these itself. ``serve_forever`` logs ``Kafka listener
ready on host:port`` once listening and stops cleanly on SIGINT/SIGTERM, closing
every partition log; a listener that cannot bind (port in use) closes what was
opened and raises ``ListenFailed``.
The produce gate is a ``governance.gate.Gate`` (``BrokerGate`` adapts it, running
its checks off the event loop) and the broker hooks a ``governance.broker_hooks.BrokerHooks``.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import uuid
from collections.abc import Sequence

import peewee

from broker.auth import Authenticator
from broker.cluster_id import load_or_create_cluster_id
from broker.connection import Listener
from broker.gate import BrokerGate
from broker.groups import GroupCoordinator, GroupStore
from broker.handlers import build_handler_table
from broker.handlers.context import BrokerContext
from broker.handlers.fetch_sessions import FetchSessionCache
from broker.handlers.waiters import AppendWaiters
from broker.producer_ids import ProducerIdAllocator
from broker.schemas import SchemaState
from broker.server import KafkaServer
from broker.settings import BrokerSettings
from broker.topics import TopicHooks, TopicManager
from broker.topics import store as topics_store
from broker.topics.log_end import LogEndReporter
from broker.transactions import GroupPendingOffsets, PendingOffsets, TransactionCoordinator
from governance.broker_hooks import BrokerHooks
from governance.gate import Gate
from governance.security.authorizer import AllowEverything, Authorizer
from governance.security.kafka_admin import KafkaSecurityAdmin
from governance.security.ratelimit import RequestRateLimiter

__all__ = ["BrokerApp", "ListenFailed", "freeze_startup_heap", "run_broker"]

log = logging.getLogger(__name__)


class ListenFailed(OSError):
    """A Kafka listener could not bind its address (``errno`` says why: in use, not allowed);
    ``name``, ``host`` and ``port`` say which listener."""

    name: str = ""
    host: str = ""
    port: int = 0


class _TopicManagerLookup:
    """``broker.groups.TopicLookup`` over the broker's ``TopicManager``."""

    def __init__(self, topics: TopicManager) -> None:
        self._topics = topics

    def topic_names(self) -> list[str]:
        return self._topics.names()

    def generation(self) -> int:
        return self._topics.generation

    def topic(self, name: str) -> tuple[uuid.UUID, int] | None:
        info = self._topics.get(name)
        return None if info is None else (info.topic_id, int(info.partitions))

    def topic_by_id(self, topic_id: uuid.UUID) -> tuple[str, int] | None:
        info = self._topics.find_by_id(topic_id)
        return None if info is None else (info.name, int(info.partitions))


class BrokerApp:
    """One broker: call ``await start()``, then ``await stop()`` (or ``await serve_forever()``)."""

    def __init__(
        self,
        settings: BrokerSettings,
        database: peewee.Database,
        *,
        gate: Gate,
        hooks: BrokerHooks,
        authenticator: Authenticator,
        topic_hooks: TopicHooks,
        schemas: SchemaState,
        pending_offsets: PendingOffsets | None = None,
        group_store: GroupStore | None = None,
        authorizer: Authorizer | None = None,
        security_admin: KafkaSecurityAdmin | None = None,
        request_limiter: RequestRateLimiter | None = None,
        listeners: Sequence[Listener] = (),
    ) -> None:
        self.settings = settings
        self.listeners = list(listeners) or [self._default_listener(settings, authenticator)]
        """Where clients connect (Kafka's ``listeners``); default: one on ``host:port``,
        SASL_PLAINTEXT when the authenticator has mechanisms, else PLAINTEXT."""
        self.database = database
        self._gate = BrokerGate(gate)
        self._hooks = hooks
        self._authenticator = authenticator
        self._authorizer = authorizer or AllowEverything()
        self._security_admin = security_admin
        self._request_limiter = request_limiter
        self._topic_hooks = topic_hooks
        self.schemas = schemas
        """The registry's schemas as this process knows them (kept current by ``charter``)."""
        self.pending_offsets = pending_offsets or GroupPendingOffsets(database, lambda: self.groups)
        """Where TxnOffsetCommit stages offsets until their transaction ends, then the groups'."""
        self.transactions: TransactionCoordinator | None = None
        self._group_store = group_store or GroupStore(
            database, topics_store.broker_outbox(database)
        )
        self.topics: TopicManager | None = None
        self.groups: GroupCoordinator | None = None
        self.log_end: LogEndReporter | None = None
        """Publishes log-end offsets for the HTTP tier (consumer lag in the catalog)."""
        self.servers: list[KafkaServer] = []
        self._stopped = asyncio.Event()

    @staticmethod
    def _default_listener(settings: BrokerSettings, authenticator: Authenticator) -> Listener:
        protocol = "SASL_PLAINTEXT" if authenticator.mechanisms() else "PLAINTEXT"
        return Listener(
            name=protocol,
            security_protocol=protocol,
            host=settings.host,
            port=settings.port,
            advertised_host=settings.advertised_host or settings.host,
            advertised_port=settings.port,
        )

    @property
    def server(self) -> KafkaServer | None:
        """The first listener's server (None before ``start``)."""
        return self.servers[0] if self.servers else None

    @property
    def port(self) -> int:
        """The first listener's bound port."""
        assert self.servers, "start() first"
        return self.servers[0].port

    def port_of(self, name: str) -> int:
        """The bound port of the listener called ``name``."""
        for server in self.servers:
            if server.listener.name == name:
                return server.port
        raise KeyError(name)

    async def start(self) -> None:
        """Open the topics and listen; on failure (e.g. port in use) close what was opened."""
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.topics = TopicManager.open(settings, database=self.database, hooks=self._topic_hooks)
        self.groups = GroupCoordinator(
            settings, self._group_store, _TopicManagerLookup(self.topics)
        )
        await self.groups.start()
        context = BrokerContext(
            settings=settings,
            topics=self.topics,
            cluster_id=load_or_create_cluster_id(settings.data_dir),
            advertised_host=settings.advertised_host or settings.host,
            advertised_port=settings.port,
            producer_ids=ProducerIdAllocator(settings.data_dir),
            gate=self._gate,
            authenticator=self._authenticator,
            appends=AppendWaiters(),
            handlers=build_handler_table(),
            node_id=settings.node_id,
            hooks=self._hooks,
            authorizer=self._authorizer,
            security_admin=self._security_admin,
            request_limiter=self._request_limiter,
            fetch_sessions=FetchSessionCache(settings.fetch_max_sessions),
            groups=self.groups,
        )
        transactions = TransactionCoordinator(
            self.database,
            self.topics,
            context.producer_ids,
            self.pending_offsets,
            max_timeout_ms=settings.transaction_max_timeout_ms,
            id_expiration_ms=settings.transactional_id_expiration_ms,
            flush=context.group_commit.flush,
            notify=context.appends.notify,
        )
        try:
            await transactions.recover()
        except BaseException:
            await self.topics.aclose()
            self.topics = None
            raise
        context.transactions = self.transactions = transactions
        try:
            for listener in self.listeners:
                server = KafkaServer(
                    context, listener, max_request_bytes=settings.socket_request_max_bytes
                )
                await server.start()
                self.servers.append(server)
        except BaseException as exc:
            for server in self.servers:
                await server.close()
            self.servers = []
            await self.groups.stop()
            self.groups = None
            await self.topics.aclose()
            self.topics = None
            if isinstance(exc, OSError):
                failed = ListenFailed(exc.errno, exc.strerror or str(exc))
                failed.name, failed.host, failed.port = listener.name, listener.host, listener.port
                raise failed from exc
            raise
        if settings.port == 0:  # ephemeral port: advertise the one we got
            context.advertised_port = self.servers[0].port
        self.topics.start_maintenance()
        self.log_end = LogEndReporter(
            self.database, self.topics.all_partitions, settings.log_end_report_interval_ms / 1000
        )
        self.log_end.start()
        transactions.start_expiry(
            settings.transaction_abort_check_interval_ms,
            settings.transaction_remove_expired_interval_ms,
        )
        for server in self.servers:
            listener = server.listener
            named = (
                ""
                if listener.name == "PLAINTEXT" == listener.security_protocol
                else (f" ({listener.described})")
            )
            log.info("Kafka listener ready on %s:%d%s", listener.host, server.port, named)

    async def stop(self) -> None:
        """Stop listening, end connections, close every log."""
        if self.transactions is not None:
            await self.transactions.aclose()
        if self.servers:
            for server in self.servers:
                await server.close()
            await self.servers[0].broker.group_commit.aclose()
            self.servers = []
        if self.log_end is not None:
            await self.log_end.aclose()  # a last report: the offsets at shutdown
            self.log_end = None
        if self.groups is not None:
            await self.groups.stop()
            self.groups = None
        if self.topics is not None:
            await self.topics.aclose()
            self.topics = None
        self._stopped.set()
        log.info("Kafka listener stopped")

    async def serve_forever(self) -> None:
        """Start, run until SIGINT/SIGTERM, then stop."""
        loop = asyncio.get_running_loop()
        stop_requested = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, stop_requested.set)
        await self.start()
        freeze_startup_heap()
        try:
            await stop_requested.wait()
        finally:
            await self.stop()


def freeze_startup_heap() -> None:
    """Move every object alive after start-up out of the garbage collector's reach.

    Modules, protocol schemas, settings and the database layer are hundreds of thousands
    of objects that live as long as the process; each full collection walked them all, a
    40–160 ms pause of the event loop (measured on a 2-core machine: every append, fetch
    and heartbeat waited) that landed in the latency tail whenever one came during
    traffic. Frozen, they are never scanned again; collections see only what was
    allocated since.
    """
    gc.collect()
    gc.freeze()


def run_broker(app: BrokerApp) -> None:
    """Run ``app`` in this process until SIGINT/SIGTERM."""
    asyncio.run(app.serve_forever())
