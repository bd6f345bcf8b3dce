"""The registry's tables (peewee models bound per database) and their migrations.

Tables:

- ``registry_schema``: one row per distinct schema (id, type, canonical text,
  references, metadata, rule set); ``fingerprint`` is unique, so concurrent
  registrations of the same schema converge on one id. Rows are never deleted,
  so an id is never reused; a schema no subject version points at any more is
  "not found" to readers.
- ``registry_schema_reference``: the references of each schema, one row each,
  indexed by the referenced (subject, version) for "referenced by" queries.
- ``registry_subject_version``: (subject, version) -> schema id with a soft
  ``deleted`` flag; unique (subject, version) and unique live (subject, schema_id).
- ``registry_config`` / ``registry_mode``: per-subject settings; the global
  setting is the row whose scope is the empty string.
- ``registry_outbox``: the registry's events, each written in the transaction
  of the change it announces (``registry.outbox``, ``registry.events``).
  Migration 2 created ``registry_generation``, a counter every permanent
  delete raised so other processes' schema caches knew when to empty; the
  outbox replaced it and migration 4 drops it. Migration 5 adds ``guid``
  (``registry.store.guids``), indexed, to ``registry_schema``.

Models are created per database (``_models(database)``) so no module holds a
connection.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import peewee

from registry.events import OUTBOX_TABLE
from registry.outbox import outbox_migration
from registry.store.guids import schema_guid
from registry.store.rows import Reference

__all__ = ["MIGRATIONS", "dump_json", "load_json", "models"]


def models(database: peewee.Database) -> dict[str, type[peewee.Model]]:
    """Model classes bound to ``database`` (fresh classes per database)."""
    bound_database = database

    class _Base(peewee.Model):
        class Meta:
            database = bound_database
            legacy_table_names = False

    class SchemaRow(_Base):
        id = peewee.IntegerField(primary_key=True)
        schema_type = peewee.CharField(max_length=32)
        schema_text = peewee.TextField()
        fingerprint = peewee.CharField(max_length=64, unique=True)
        references_json = peewee.TextField(default="[]")
        metadata_json = peewee.TextField(null=True)
        rule_set_json = peewee.TextField(null=True)
        guid = peewee.CharField(max_length=36, null=True, index=True)

        class Meta:
            table_name = "registry_schema"

    class ReferenceRow(_Base):
        schema_id = peewee.IntegerField()
        position = peewee.IntegerField()
        name = peewee.TextField()
        subject = peewee.TextField()
        version = peewee.IntegerField()

        class Meta:
            table_name = "registry_schema_reference"
            primary_key = peewee.CompositeKey("schema_id", "position")
            indexes = ((("subject", "version"), False),)

    class VersionRow(_Base):
        id = peewee.AutoField()
        subject = peewee.TextField()
        version = peewee.IntegerField()
        schema_id = peewee.IntegerField(index=True)
        deleted = peewee.BooleanField(default=False)

        class Meta:
            table_name = "registry_subject_version"
            indexes = ((("subject", "version"), True),)

    class ConfigRow(_Base):
        scope = peewee.TextField(primary_key=True)
        compatibility = peewee.CharField(max_length=32, null=True)
        options_json = peewee.TextField(null=True)

        class Meta:
            table_name = "registry_config"

    class ModeRow(_Base):
        scope = peewee.TextField(primary_key=True)
        mode = peewee.CharField(max_length=32)

        class Meta:
            table_name = "registry_mode"

    return {
        "SchemaRow": SchemaRow,
        "ReferenceRow": ReferenceRow,
        "VersionRow": VersionRow,
        "ConfigRow": ConfigRow,
        "ModeRow": ModeRow,
    }


def _create_tables(database: peewee.Database) -> None:
    bound = models(database)
    database.create_tables(list(bound.values()), safe=True)
    # At most one live version of a schema per subject; soft-deleted rows may repeat it.
    database.execute_sql(
        "CREATE UNIQUE INDEX IF NOT EXISTS registry_subject_version_live "
        "ON registry_subject_version (subject, schema_id) WHERE NOT deleted"
    )


def _create_generation(database: peewee.Database) -> None:
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS registry_generation "
        "(id INTEGER NOT NULL PRIMARY KEY, value BIGINT NOT NULL)"
    )
    param = database.param
    database.execute_sql(
        f"INSERT INTO registry_generation (id, value) VALUES ({param}, {param})", (1, 0)
    )


def _drop_generation(database: peewee.Database) -> None:
    database.execute_sql("DROP TABLE IF EXISTS registry_generation")


def _add_guid(database: peewee.Database) -> None:
    """Migration 5: each schema's GUID (``registry.store.guids``), indexed for
    ``GET /schemas/guids/{guid}``; a fresh database already has the column from migration 1."""
    if isinstance(database, peewee.PostgresqlDatabase):
        # IF NOT EXISTS: the table may live in any schema of the search path.
        database.execute_sql(
            "ALTER TABLE registry_schema ADD COLUMN IF NOT EXISTS guid VARCHAR(36)"
        )
    elif "guid" not in {column.name for column in database.get_columns("registry_schema")}:
        database.execute_sql("ALTER TABLE registry_schema ADD COLUMN guid VARCHAR(36)")
    database.execute_sql(
        "CREATE INDEX IF NOT EXISTS registry_schema_guid ON registry_schema (guid)"
    )
    rows = database.execute_sql(
        "SELECT id, schema_text, references_json, metadata_json, rule_set_json "
        "FROM registry_schema WHERE guid IS NULL"
    ).fetchall()
    param = database.param
    for schema_id, schema_text, references_json, metadata_json, rule_set_json in rows:
        references = [
            Reference(item["name"], item["subject"], int(item["version"]))
            for item in json.loads(references_json or "[]")
        ]
        guid = schema_guid(
            schema_text, references, load_json(metadata_json), load_json(rule_set_json)
        )
        database.execute_sql(
            f"UPDATE registry_schema SET guid = {param} WHERE id = {param}", (guid, schema_id)
        )


MIGRATIONS: list[Callable[[peewee.Database], None]] = [
    _create_tables,
    _create_generation,
    outbox_migration(OUTBOX_TABLE),
    _drop_generation,
    _add_guid,
]


def dump_json(value: Any) -> str | None:
    if value is None:
        return None
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def load_json(text: str | None) -> Any:
    return None if text is None else json.loads(text)
