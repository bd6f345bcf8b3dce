"""Peewee models of consumer groups in the shared database: committed offsets and group records.

Committed offsets live in the database rather than in a ``__consumer_offsets``
topic (docs/decisions.md says why): a commit, and the outbox event announcing
it, are one transaction; the HTTP tier reads lag without the broker. Tables::

    broker_group_offsets   (group_id, topic, partition) unique
        committed_offset BIGINT, leader_epoch INT (-1 unknown), metadata TEXT NULL,
        commit_timestamp_ms BIGINT
    broker_groups          group_id unique
        group_type "classic" | "consumer", protocol_type, state (GroupState value),
        generation (classic generation / KIP-848 group epoch), protocol_name, leader,
        members TEXT (JSON list, see ``broker.groups.coordinator``), empty_since_ms,
        updated_at_ms

Events (in ``broker_outbox``, written by ``GroupStore`` in the change's transaction):
``group_state_changed``, ``group_member_joined``, ``group_member_left``,
``group_deleted``, ``group_offsets_committed`` (a per-group summary, at most one
per ``group_offsets_event_interval_ms``), ``group_offsets_deleted``.
"""

from __future__ import annotations

from collections.abc import Callable

import peewee

__all__ = [
    "GROUP_EVENT_NAMES",
    "GroupOffset",
    "GroupRecord",
    "MIGRATIONS",
    "MIGRATION_KEY",
    "MODELS",
]

MIGRATION_KEY = "broker.groups"
"""This store's migration series (``charter.db.apply_migrations``), apart from ``broker.topics``."""


class GroupOffset(peewee.Model):
    """One committed offset of a group for one partition."""

    id = peewee.AutoField()
    group_id = peewee.CharField(max_length=255)
    topic = peewee.CharField(max_length=249)
    partition = peewee.IntegerField()
    committed_offset = peewee.BigIntegerField()
    leader_epoch = peewee.IntegerField(default=-1)
    metadata = peewee.TextField(null=True)
    commit_timestamp_ms = peewee.BigIntegerField()

    class Meta:
        table_name = "broker_group_offsets"
        indexes = ((("group_id", "topic", "partition"), True),)


class GroupRecord(peewee.Model):
    """A group as last persisted by the coordinator (its state, generation and members)."""

    id = peewee.AutoField()
    group_id = peewee.CharField(max_length=255, unique=True)
    group_type = peewee.CharField(max_length=16)
    protocol_type = peewee.CharField(max_length=255, default="")
    state = peewee.CharField(max_length=32)
    generation = peewee.IntegerField(default=0)
    protocol_name = peewee.CharField(max_length=255, null=True)
    leader = peewee.CharField(max_length=512, null=True)
    members = peewee.TextField(default="[]")
    empty_since_ms = peewee.BigIntegerField(null=True)
    updated_at_ms = peewee.BigIntegerField()

    class Meta:
        table_name = "broker_groups"


MODELS: list[type[peewee.Model]] = [GroupOffset, GroupRecord]

GROUP_EVENT_NAMES = frozenset(
    {
        "group_state_changed",
        "group_member_joined",
        "group_member_left",
        "group_deleted",
        "group_offsets_committed",
        "group_offsets_deleted",
    }
)


def _create_group_tables(database: peewee.Database) -> None:
    with database.bind_ctx(MODELS):
        database.create_tables(MODELS)


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_group_tables]
