"""The composition root: the one place that decides what each tier is built from.

From one ``Settings`` it opens and migrates the database, builds the registry
service the HTTP app serves (with its event bus and registration hooks), and
builds the broker (typed ``BrokerSettings``, produce gate, SASL authenticator,
topic hooks). The packages below never pick a collaborator themselves: what
changes when governance, the catalog indexer or security arrive is this module.
"""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from typing import Any

import peewee

from broker.app import BrokerApp
from broker.auth import Authenticator, NoMechanisms
from broker.config_catalog import BrokerDefaults
from broker.errors import InvalidConfig
from broker.groups import GroupStore
from broker.groups import store as groups_store
from broker.schemas import SchemaState
from broker.settings import BrokerSettings
from broker.topics import TopicHooks
from broker.topics import log_end as broker_log_end
from broker.topics import store as broker_store
from broker.topics.store import broker_outbox
from catalog import migrations as catalog_migrations
from catalog.indexer import Indexer
from catalog.model import TopicInfo
from catalog.service import CatalogService
from charter import security
from charter.config import ConfigError, Settings
from charter.db import apply_migrations, open_database
from charter.errors import StartupError
from charter.kafka_listeners import kafka_listeners
from charter.storage import ensure_data_dir, log_storage_locations
from governance import store as governance_store
from governance.broker_hooks import BrokerHooks
from governance.broker_policy import GovernanceBrokerHooks
from governance.gate import Gate
from governance.registry_hooks import GovernanceRegistryHooks
from governance.runtime import Governance
from governance.schema_gate import SchemaGate
from governance.security import sessions as security_sessions
from governance.security import store as security_store
from governance.security.kafka_admin import KafkaSecurityAdmin
from governance.topic_fields import TopicFields
from registry import store as registry_store
from registry.deks import store as dek_store
from registry.events import registry_outbox
from registry.service import RegistryService

__all__ = [
    "StartupError",
    "broker_settings",
    "ensure_data_dir",
    "build_broker",
    "build_catalog",
    "build_registry",
    "governance_for",
    "log_storage_locations",
    "migrate",
    "open_migrated_database",
]


def migrate(database: peewee.Database) -> None:
    """Bring every package's tables up to date (idempotent, safe across processes)."""
    apply_migrations(
        database,
        [
            registry_store,
            dek_store,
            broker_store,
            groups_store,
            broker_log_end,
            governance_store,
            security_store,
            security_sessions,
            catalog_migrations,
        ],
    )


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


# -- the HTTP tier --------------------------------------------------------------------------


_GOVERNANCE: weakref.WeakKeyDictionary[peewee.Database, Governance] = weakref.WeakKeyDictionary()


def governance_for(database: peewee.Database, settings: Settings | None = None) -> Governance:
    """This process's governance over ``database`` (one policy engine for every door).

    Lineage observed at the gate goes to the broker outbox as ``producer_seen`` events, every
    ``lineage_report_interval_ms`` (of ``settings``, when the first caller gives them).
    """
    governance = _GOVERNANCE.get(database)
    if governance is None:
        interval_ms = (settings or Settings()).lineage_report_interval_ms
        governance = Governance(
            database,
            lineage_sink=_lineage_to_outbox(database),
            lineage_interval_s=interval_ms / 1000,
        )
        _GOVERNANCE[database] = governance
    return governance


def _lineage_to_outbox(database: peewee.Database) -> Any:
    outbox = broker_outbox(database)

    def emit(payloads: Sequence[dict[str, Any]]) -> None:
        try:
            with database.atomic():
                for payload in payloads:
                    outbox.append("producer_seen", payload)
        finally:
            database.close()  # the lineage thread's connection

    return emit


def registry_hooks(settings: Settings, database: peewee.Database) -> list[object]:
    """Checks run before registry changes (``registry.hooks.RegistryHooks``: register, config,
    mode, delete, with the actor): the governance policies."""
    governance = governance_for(database, settings)
    return [GovernanceRegistryHooks(governance.engine, governance.direct_audit)]


def build_registry(settings: Settings, database: peewee.Database) -> RegistryService:
    """The registry service over ``database``, with its hooks (its events go to the outbox)."""
    return RegistryService(database, hooks=registry_hooks(settings, database))


# -- the catalog ---------------------------------------------------------------------------


class BrokerTopics:
    """The catalog's view of the broker's topic rows and reported log-end offsets
    (``catalog.model.TopicSource`` and ``LogEndSource``)."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database

    def topics(self) -> list[TopicInfo]:
        with self.database.bind_ctx(broker_store.MODELS):
            configs = broker_store.topic_configs()
            return [
                TopicInfo(row.name, row.partitions, configs.get(row.name, {}), row.is_internal)
                for row in broker_store.Topic.select().order_by(broker_store.Topic.name)
            ]

    def log_end_offsets(self, topic: str) -> dict[int, int]:
        reported = broker_log_end.log_end_offsets(self.database, topic)
        return {index: offsets.log_end_offset for index, offsets in reported.items()}


def build_catalog(
    settings: Settings,
    database: peewee.Database,
    registry: RegistryService,
    governance: Governance | None = None,
) -> CatalogService:
    """The catalog over ``database``: its indexer follows the registry and broker outboxes;
    its edits go to governance's audit log (this process's, unless ``governance`` is given)."""
    broker_topics = BrokerTopics(database)
    indexer = Indexer(
        database,
        registry,
        broker_topics,
        [registry_outbox(database), broker_store.broker_outbox(database)],
    )
    governance = governance or governance_for(database, settings)
    return CatalogService(
        database, registry, indexer, audit=governance.direct_audit, log_end=broker_topics
    )


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
            log_retention_ms=settings.log_retention_ms,
            value_schema_validation=settings.value_schema_validation,
            transaction_max_timeout_ms=settings.transaction_max_timeout_ms,
            transaction_abort_check_interval_ms=settings.transaction_abort_check_interval_ms,
            transactional_id_expiration_ms=settings.transactional_id_expiration_ms,
            transaction_remove_expired_interval_ms=settings.transaction_remove_expired_interval_ms,
            fetch_max_sessions=settings.fetch_max_sessions,
            group_min_session_timeout_ms=settings.group_min_session_timeout_ms,
            group_max_session_timeout_ms=settings.group_max_session_timeout_ms,
            group_initial_rebalance_delay_ms=settings.group_initial_rebalance_delay_ms,
            group_max_size=settings.group_max_size,
            group_max_assignment_bytes=settings.group_max_assignment_bytes,
            offsets_retention_minutes=settings.offsets_retention_minutes,
            offsets_retention_check_interval_ms=settings.offsets_retention_check_interval_ms,
            offset_metadata_max_bytes=settings.offset_metadata_max_bytes,
            group_consumer_heartbeat_interval_ms=settings.group_consumer_heartbeat_interval_ms,
            group_consumer_reconcile_interval_ms=settings.group_consumer_reconcile_interval_ms,
            group_consumer_heartbeat_budget=settings.group_consumer_heartbeat_budget,
            group_consumer_session_timeout_ms=settings.group_consumer_session_timeout_ms,
            group_consumer_assignors=settings.group_consumer_assignors,
            group_offsets_event_interval_ms=settings.group_offsets_event_interval_ms,
            log_end_report_interval_ms=settings.log_end_report_interval_ms,
        )
    except InvalidConfig as exc:
        raise ConfigError(str(exc)) from None


def produce_gate(settings: Settings, database: peewee.Database, schemas: SchemaState) -> Gate:
    """What checks each produced batch: schema id, payload, data-contract rules, policies."""
    governance = governance_for(database, settings)
    return SchemaGate(
        schemas,
        governance.engine,
        lineage=governance.lineage,
        audit=governance.buffered_audit,
    )


def authenticator(settings: Settings) -> Authenticator:
    """SASL for the Kafka listener without auth: no mechanisms (``build_broker`` adds them)."""
    return NoMechanisms()


def broker_hooks(
    settings: Settings, database: peewee.Database, schemas: SchemaState | None = None
) -> BrokerHooks:
    """Checks with the principal before create topic, alter config, produce and fetch: the
    governance policies (``schemas`` tells the consume policies a topic's tagged fields)."""
    governance = governance_for(database, settings)
    topic_defaults = BrokerDefaults.from_settings(broker_settings(settings)).effective({})
    return GovernanceBrokerHooks(
        governance.engine,
        governance.buffered_audit,
        TopicFields(schemas) if schemas is not None else None,
        topic_defaults,
    )


def topic_hooks(settings: Settings) -> TopicHooks:
    """Topic lifecycle listeners and create policy; the catalog indexer plugs in here (planned)."""
    return TopicHooks()


def build_broker(settings: Settings, database: peewee.Database) -> BrokerApp:
    """The broker over an opened, migrated ``database``, with every collaborator passed in.

    With ``auth`` on, SASL and the role-binding authorizer come from ``charter.security``."""
    schemas = SchemaState(database)
    service = security.security_service(settings, database) if settings.auth else None
    return BrokerApp(
        broker_settings(settings),
        database,
        gate=produce_gate(settings, database, schemas),
        hooks=broker_hooks(settings, database, schemas),
        authenticator=security.kafka_authenticator(settings, service)
        if service
        else authenticator(settings),
        topic_hooks=topic_hooks(settings),
        schemas=schemas,
        group_store=group_store(database),
        authorizer=service.authorizer if service else None,
        # SCRAM administration works with auth off too (credentials made ahead of turning it
        # on); the ACL APIs then answer SECURITY_DISABLED, as Kafka without an authorizer
        security_admin=KafkaSecurityAdmin(service or security.security_service(settings, database)),
        request_limiter=security.kafka_request_limiter(settings),
        listeners=kafka_listeners(settings),
    )


def group_store(database: peewee.Database) -> GroupStore:
    """Where the group coordinator keeps committed offsets and group records (the database,
    docs/decisions.md), announcing changes on the broker outbox."""
    return GroupStore(database, broker_store.broker_outbox(database))
