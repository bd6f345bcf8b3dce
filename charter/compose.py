"""The composition root: the one place that decides what each tier is built from.

From one ``Settings`` it opens and migrates the database, builds the registry
service the HTTP app serves (with its event bus and registration hooks), and
builds the broker (typed ``BrokerSettings``, produce gate, SASL authenticator,
topic hooks). The packages below never pick a collaborator themselves: what
changes when governance, the catalog indexer or security arrive is this module.
"""

from __future__ import annotations

import logging

import peewee

from broker.app import BrokerApp
from broker.auth import Authenticator, NoMechanisms
from broker.errors import InvalidConfig
from broker.schemas import SchemaState
from broker.settings import BrokerSettings
from broker.topics import TopicHooks
from broker.topics import store as broker_store
from catalog import migrations as catalog_migrations
from catalog.audit import LoggingAuditSink
from catalog.indexer import Indexer
from catalog.model import AuditSink, TopicInfo
from catalog.service import CatalogService
from charter.config import ConfigError, Settings
from charter.db import apply_migrations, open_database
from governance.broker_hooks import AllowAll, BrokerHooks
from governance.gate import Gate, PassThroughGate
from registry import store as registry_store
from registry.events import registry_outbox
from registry.service import RegistryService

__all__ = [
    "StartupError",
    "broker_settings",
    "ensure_data_dir",
    "build_broker",
    "build_catalog",
    "build_registry",
    "log_storage_locations",
    "migrate",
    "open_migrated_database",
]

log = logging.getLogger("charter")


def migrate(database: peewee.Database) -> None:
    """Bring every package's tables up to date (idempotent, safe across processes)."""
    apply_migrations(database, [registry_store, broker_store, catalog_migrations])


class StartupError(Exception):
    """The data directory or the database cannot be used; one line naming it (no password)."""


def ensure_data_dir(settings: Settings) -> None:
    """Create the data directory; ``StartupError`` when that is not possible."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(
            f"cannot create the data directory {settings.data_dir}: {exc.strerror or exc}"
        ) from None


def open_migrated_database(settings: Settings) -> peewee.Database:
    """Create the data directory, open the configured database and migrate it.

    Raises ``StartupError`` (no data directory, unreachable server, refused
    login, unwritable file, unknown URL scheme).
    """
    ensure_data_dir(settings)
    try:
        database = open_database(settings.effective_database_url)
        migrate(database)
    except (peewee.DatabaseError, RuntimeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise StartupError(
            f"cannot open the database {settings.database_display_url}: {reason}"
        ) from None
    return database


def log_storage_locations(settings: Settings) -> None:
    """Say where this Charter keeps its data (the database URL without its password)."""
    log.info(
        "data directory %s; database %s",
        settings.data_dir.resolve(),
        settings.database_display_url,
    )


# -- the HTTP tier --------------------------------------------------------------------------


def registry_hooks(settings: Settings) -> list[object]:
    """Checks run before registry changes (``registry.hooks.RegistryHooks``: register, config,
    mode, delete, with the actor); governance policies plug in here (planned)."""
    return []


def build_registry(settings: Settings, database: peewee.Database) -> RegistryService:
    """The registry service over ``database``, with its hooks (its events go to the outbox)."""
    return RegistryService(database, hooks=registry_hooks(settings))


# -- the catalog ---------------------------------------------------------------------------


class BrokerTopics:
    """The catalog's view of the broker's topic rows (``catalog.model.TopicSource``)."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database

    def topics(self) -> list[TopicInfo]:
        with self.database.bind_ctx(broker_store.MODELS):
            configs = broker_store.topic_configs()
            return [
                TopicInfo(row.name, row.partitions, configs.get(row.name, {}), row.is_internal)
                for row in broker_store.Topic.select().order_by(broker_store.Topic.name)
            ]


def catalog_audit(settings: Settings) -> AuditSink:
    """Where catalog edits are recorded: a log line until governance's audit log is wired."""
    return LoggingAuditSink()


def build_catalog(
    settings: Settings, database: peewee.Database, registry: RegistryService
) -> CatalogService:
    """The catalog over ``database``: its indexer follows the registry and broker outboxes."""
    indexer = Indexer(
        database,
        registry,
        BrokerTopics(database),
        [registry_outbox(database), broker_store.broker_outbox(database)],
    )
    return CatalogService(database, registry, indexer, audit=catalog_audit(settings))


# -- the broker ----------------------------------------------------------------------------


def broker_settings(settings: Settings) -> BrokerSettings:
    """The broker's typed settings, taken from Charter's ``Settings``."""
    try:
        return BrokerSettings(
            data_dir=settings.data_dir,
            host=settings.host,
            port=settings.kafka_port,
            advertised_host=settings.advertised_host,
            socket_request_max_bytes=settings.socket_request_max_bytes,
            auto_create_topics=settings.auto_create_topics,
            default_partitions=settings.default_partitions,
            log_flush_messages=settings.log_flush_messages,
            log_retention_check_interval_ms=settings.log_retention_check_interval_ms,
        )
    except InvalidConfig as exc:
        raise ConfigError(str(exc)) from None


def produce_gate(settings: Settings) -> Gate:
    """What checks each produced batch: none yet (the schema gate is planned)."""
    return PassThroughGate()


def authenticator(settings: Settings) -> Authenticator:
    """SASL for the Kafka listener: no mechanisms until security lands (planned)."""
    return NoMechanisms()


def broker_hooks(settings: Settings) -> BrokerHooks:
    """Checks with the principal before create topic, alter config, produce and fetch; governance
    policies plug in here (planned). Allow-all until then."""
    return AllowAll()


def topic_hooks(settings: Settings) -> TopicHooks:
    """Topic lifecycle listeners and create policy; the catalog indexer plugs in here (planned)."""
    return TopicHooks()


def build_broker(settings: Settings, database: peewee.Database) -> BrokerApp:
    """The broker over an opened, migrated ``database``, with every collaborator passed in."""
    return BrokerApp(
        broker_settings(settings),
        database,
        gate=produce_gate(settings),
        hooks=broker_hooks(settings),
        authenticator=authenticator(settings),
        topic_hooks=topic_hooks(settings),
        schemas=SchemaState(database),
    )
