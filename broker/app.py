"""The broker process: TopicManager + handlers + Kafka listener, started and stopped as one.

``run_broker(settings, database)`` is what ``charter serve broker`` (and so
``charter up``) calls with the database ``charter`` opened and migrated; the
broker never imports ``charter``, settings are duck-typed. It logs ``Kafka listener
ready on host:port`` once listening and stops cleanly on SIGINT/SIGTERM,
closing every partition log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from typing import Any

import peewee

from broker.cluster_id import load_or_create_cluster_id
from broker.gate import PassThroughGate, ProduceGate
from broker.handlers import build_handler_table
from broker.handlers.context import BrokerContext
from broker.handlers.sasl import Authenticator, NoMechanisms
from broker.handlers.waiters import AppendWaiters
from broker.producer_ids import ProducerIdAllocator
from broker.schemas import SchemaState
from broker.server import KafkaServer
from broker.topics import TopicManager

__all__ = ["BrokerApp", "run_broker"]

log = logging.getLogger(__name__)

Settings = Any  # charter.config.Settings, duck-typed (the broker never imports charter)
TopicsFactory = Callable[[Settings, peewee.Database], TopicManager]


def _default_topics(settings: Settings, database: peewee.Database) -> TopicManager:
    return TopicManager.open(settings, database=database)


class BrokerApp:
    """One broker: call ``await start()``, then ``await stop()`` (or ``await serve_forever()``)."""

    def __init__(
        self,
        settings: Settings,
        database: peewee.Database,
        *,
        topics_factory: TopicsFactory = _default_topics,
        gate: ProduceGate | None = None,
        authenticator: Authenticator | None = None,
        schemas: SchemaState | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self._topics_factory = topics_factory
        self._gate = gate or PassThroughGate()
        self._authenticator = authenticator or NoMechanisms()
        self.schemas = schemas or SchemaState(database)
        """The registry's schemas as this process knows them (kept current by ``charter``)."""
        self.topics: TopicManager | None = None
        self.server: KafkaServer | None = None
        self._stopped = asyncio.Event()

    @property
    def port(self) -> int:
        assert self.server is not None, "start() first"
        return self.server.port

    async def start(self) -> None:
        settings = self.settings
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.topics = self._topics_factory(settings, self.database)
        context = BrokerContext(
            settings=settings,
            topics=self.topics,
            cluster_id=load_or_create_cluster_id(settings.data_dir),
            advertised_host=settings.advertised_host or settings.host,
            advertised_port=settings.kafka_port,
            producer_ids=ProducerIdAllocator(settings.data_dir),
            gate=self._gate,
            authenticator=self._authenticator,
            appends=AppendWaiters(),
            handlers=build_handler_table(),
        )
        self.server = KafkaServer(
            context,
            settings.host,
            settings.kafka_port,
            max_request_bytes=settings.socket_request_max_bytes,
        )
        await self.server.start()
        if settings.kafka_port == 0:  # ephemeral port: advertise the one we got
            context.advertised_port = self.server.port
        self.topics.start_maintenance()
        log.info("Kafka listener ready on %s:%d", settings.host, self.server.port)

    async def stop(self) -> None:
        """Stop listening, end connections, close every log."""
        if self.server is not None:
            await self.server.close()
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
        try:
            await stop_requested.wait()
        finally:
            await self.stop()


def run_broker(settings: Settings, database: peewee.Database, **options: Any) -> None:
    """Run a broker in this process until SIGINT/SIGTERM."""
    asyncio.run(BrokerApp(settings, database, **options).serve_forever())
