"""Peewee models of the broker's metadata in the shared database: topics, their configs, events.

Records live only in the partition logs; what a topic *is* (name, id, partition
count, config overrides) lives here, so the HTTP tier (the catalog) reads topics
by querying these models. Every change to a topic also writes an event to the
broker's outbox (table ``broker_outbox``, ``registry.outbox``) in the same
transaction, which other processes follow (``charter.events``):

- ``topic_created``, ``topic_deleted``, ``topic_config_changed``,
  ``partitions_added``; payload: ``name``, ``topic_id`` (UUID text),
  ``partitions``, ``is_internal``, ``configs`` (the overrides).
 Models are unbound: call ``bind(database)`` (or
``database.bind_ctx(MODELS)``); ``MIGRATIONS`` is applied by ``charter.db.apply_migrations``.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable

import peewee

from registry.outbox import Outbox, outbox_migration

__all__ = [
    "EVENT_NAMES",
    "MIGRATIONS",
    "MODELS",
    "OUTBOX_TABLE",
    "Topic",
    "TopicConfig",
    "bind",
    "broker_outbox",
    "topic_configs",
]


class Topic(peewee.Model):
    """One topic: Kafka's topic id is ``topic_id``; ``id`` is only the row key."""

    id = peewee.AutoField()
    name = peewee.CharField(max_length=249, unique=True)
    topic_id = peewee.UUIDField(unique=True, default=uuid.uuid4)
    partitions = peewee.IntegerField()
    created_at = peewee.DateTimeField(
        default=lambda: datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
    )
    """UTC, without tzinfo (portable between SQLite and PostgreSQL)."""
    is_internal = peewee.BooleanField(default=False)

    class Meta:
        table_name = "broker_topics"


class TopicConfig(peewee.Model):
    """A topic config override (what CreateTopics/AlterConfigs set); defaults are not stored."""

    id = peewee.AutoField()
    topic = peewee.ForeignKeyField(
        Topic, column_name="topic", backref="configs", on_delete="CASCADE"
    )
    key = peewee.CharField(max_length=255)
    value = peewee.TextField()

    class Meta:
        table_name = "broker_topic_configs"
        indexes = ((("topic", "key"), True),)


MODELS: list[type[peewee.Model]] = [Topic, TopicConfig]

EVENT_NAMES = frozenset(
    {
        "topic_created",
        "topic_deleted",
        "topic_config_changed",
        "partitions_added",
        # written by the transaction coordinator (broker.transactions.coordinator)
        "transaction_committed",
        "transaction_aborted",
    }
)
OUTBOX_TABLE = "broker_outbox"
# Any constant shared by every Charter process: orders appends to the broker outbox.
_OUTBOX_LOCK_KEY = 0x4348424F  # "CHBO"


def broker_outbox(database: peewee.Database) -> Outbox:
    """The broker outbox of ``database`` (append inside the topic change's transaction)."""
    return Outbox(database, OUTBOX_TABLE, lock_key=_OUTBOX_LOCK_KEY)


def bind(database: peewee.Database) -> None:
    """Bind the broker's models to ``database`` for this process."""
    database.bind(MODELS)


def topic_configs() -> dict[str, dict[str, str]]:
    """Every topic's config overrides by topic name (one query; for readers such as the catalog)."""
    overrides: dict[str, dict[str, str]] = {row.name: {} for row in Topic.select(Topic.name)}
    query = TopicConfig.select(TopicConfig.key, TopicConfig.value, Topic.name).join(Topic)
    for row in query:
        overrides[row.topic.name][row.key] = row.value
    return overrides


def _create_topic_tables(database: peewee.Database) -> None:
    with database.bind_ctx(MODELS):
        database.create_tables(MODELS)


MIGRATIONS: list[Callable[[peewee.Database], None]] = [
    _create_topic_tables,
    outbox_migration(OUTBOX_TABLE),
]
