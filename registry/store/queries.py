"""Queries over the registry tables of one database: reads, and writes inside a transaction.

Decisions live in ``registry.service``; this module only reads and writes rows.
Writers rely on the unique constraints (a duplicate raises ``IntegrityError``).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any

import peewee

from registry.events import RegistryOutbox, registry_outbox
from registry.store.guids import schema_guid
from registry.store.rows import Reference, StoredSchema, StoredVersion
from registry.store.schema_cache import SchemaCache
from registry.store.tables import dump_json, load_json, models
from registry.store.transactions import write_transaction

__all__ = ["SCHEMA_CACHE_SIZE", "Store"]


# Schemas kept per process by ``Store.schema_by_id``; beyond this the oldest entries go first.
SCHEMA_CACHE_SIZE = 10_000


class Store:
    """Queries over the registry tables of one database."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        bound = models(database)
        self._schema = bound["SchemaRow"]
        self._reference = bound["ReferenceRow"]
        self._version = bound["VersionRow"]
        self._config = bound["ConfigRow"]
        self._mode = bound["ModeRow"]
        self._is_postgres = isinstance(database, peewee.PostgresqlDatabase)
        param = database.param
        # The hot path (GET /schemas/ids/{id}) as one indexed query.
        self._schema_by_id_sql = (
            "SELECT s.id, s.schema_type, s.schema_text, s.references_json, "
            "s.metadata_json, s.rule_set_json FROM registry_schema s "
            f"WHERE s.id = {param} AND EXISTS (SELECT 1 FROM registry_subject_version v "
            "WHERE v.schema_id = s.id)"
        )
        self._schema_id_by_guid_sql = (
            f"SELECT s.id FROM registry_schema s WHERE s.guid = {param} AND EXISTS "
            "(SELECT 1 FROM registry_subject_version v WHERE v.schema_id = s.id) ORDER BY s.id"
        )
        # The queries every registration runs, built once: peewee's query builder costs more
        # than SQLite's execution of them.
        columns = "id, schema_type, schema_text, references_json, metadata_json, rule_set_json"
        self._schema_row_sql = f"SELECT {columns} FROM registry_schema WHERE id = {param}"
        self._schema_by_fingerprint_sql = (
            f"SELECT {columns} FROM registry_schema WHERE fingerprint = {param}"
        )
        version_columns = (
            "SELECT subject, version, schema_id, deleted FROM registry_subject_version"
        )
        self._versions_sql = f"{version_columns} WHERE subject = {param} ORDER BY version"
        self._live_versions_sql = (
            f"{version_columns} WHERE subject = {param} AND NOT deleted ORDER BY version"
        )
        self._config_sql = (
            f"SELECT compatibility, options_json FROM registry_config WHERE scope = {param}"
        )
        self._mode_sql = f"SELECT mode FROM registry_mode WHERE scope = {param}"
        self._insert_version_sql = (
            "INSERT INTO registry_subject_version (subject, version, schema_id, deleted) "
            f"VALUES ({param}, {param}, {param}, {param})"
        )
        self._thread = threading.local()  # per thread: inside ``write()`` or not
        schema_values = f"{param}, {param}, {param}, {param}, {param}, {param}, {param}"
        insert_schema = (
            "INSERT INTO registry_schema (id, schema_type, schema_text, fingerprint, "
            "references_json, metadata_json, rule_set_json, guid) "
        )
        self._insert_schema_sql = f"{insert_schema}VALUES ({param}, {schema_values})"
        self._insert_next_schema_sql = (
            f"{insert_schema}SELECT COALESCE(MAX(id), 0) + 1, {schema_values} "
            "FROM registry_schema RETURNING id"
        )
        self.schema_cache: SchemaCache[StoredSchema] = SchemaCache(SCHEMA_CACHE_SIZE)
        self.outbox: RegistryOutbox = registry_outbox(database)

    def _one(self, sql: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        return self.database.execute_sql(sql, params).fetchone()

    @contextlib.contextmanager
    def write(self) -> Iterator[None]:
        """A write transaction holding the registry's write lock (``write_transaction``)."""
        depth = getattr(self._thread, "write_depth", 0)
        self._thread.write_depth = depth + 1
        try:
            with write_transaction(self.database):
                yield
        finally:
            self._thread.write_depth = depth

    def announce(self, event_name: str, payload: Mapping[str, Any]) -> int:
        """Write a change's event to the registry outbox, inside the change's transaction."""
        in_write = getattr(self._thread, "write_depth", 0) > 0
        return self.outbox.append(event_name, payload, lock_held=in_write)

    # -- schemas -----------------------------------------------------------------------

    def schema_by_id(self, schema_id: int) -> StoredSchema | None:
        """The schema with this id, if some subject version (live or soft-deleted) uses it.

        Served from the per-process ``schema_cache`` while the id is marked found
        (marks are dropped on every permanent delete: at once in this process,
        through the outbox follower in the others); inside a transaction, which
        may hold its own uncommitted deletes, the database is always asked.
        """
        if self.database.in_transaction():
            return self._schema_by_id_uncached(schema_id)
        return self.schema_cache.found(schema_id, self._schema_by_id_uncached)

    def _schema_by_id_uncached(self, schema_id: int) -> StoredSchema | None:
        row = self.database.execute_sql(self._schema_by_id_sql, (schema_id,)).fetchone()
        return None if row is None else self._to_schema(row)

    def schema_by_id_any(self, schema_id: int) -> StoredSchema | None:
        """The schema row with this id whether or not any version still uses it.

        Schema rows never change and are never deleted, so a committed row is
        served from ``schema_cache``, inside transactions too. Only rows read
        outside a transaction are filed: inside one, an insert may still roll
        back and free its id.
        """
        return self.schema_cache.row(
            schema_id, self._schema_row, file=not self.database.in_transaction()
        )

    def _schema_row(self, schema_id: int) -> StoredSchema | None:
        row = self._one(self._schema_row_sql, (schema_id,))
        return None if row is None else self._to_schema(row)

    def schema_id_by_guid(self, guid: str) -> int | None:
        """The id of the schema with this GUID, if some subject version uses it."""
        row = self._one(self._schema_id_by_guid_sql, (guid,))
        return None if row is None else int(row[0])

    def schema_by_fingerprint(self, fingerprint: str) -> StoredSchema | None:
        row = self._one(self._schema_by_fingerprint_sql, (fingerprint,))
        return None if row is None else self._to_schema(row)

    def schemas_by_ids(self, schema_ids: Iterable[int]) -> dict[int, StoredSchema]:
        wanted = sorted(set(schema_ids))
        if not wanted:
            return {}
        rows = self._schema.select(*self._schema_columns()).where(self._schema.id.in_(wanted))
        return {row[0]: self._to_schema(row) for row in rows.tuples()}

    def insert_schema(
        self,
        *,
        schema_id: int | None,
        schema_type: str,
        schema_text: str,
        fingerprint: str,
        references: Sequence[Reference],
        metadata: dict[str, Any] | None,
        rule_set: dict[str, Any] | None,
    ) -> StoredSchema:
        """Insert a new schema with ``schema_id`` or the next free id, in one statement."""
        values = (
            schema_type,
            schema_text,
            fingerprint,
            dump_json([ref.to_json() for ref in references]),
            dump_json(metadata),
            dump_json(rule_set),
            schema_guid(schema_text, references, metadata, rule_set),
        )
        if schema_id is None:
            row = self._one(self._insert_next_schema_sql, values)
            assert row is not None
            schema_id = int(row[0])
        else:
            self.database.execute_sql(self._insert_schema_sql, (schema_id, *values))
        if references:
            self._reference.insert_many(
                [
                    {
                        "schema_id": schema_id,
                        "position": position,
                        "name": ref.name,
                        "subject": ref.subject,
                        "version": ref.version,
                    }
                    for position, ref in enumerate(references)
                ]
            ).execute()
        return StoredSchema(
            schema_id, schema_type, schema_text, tuple(references), metadata, rule_set
        )

    def max_schema_id(self) -> int:
        return self._schema.select(peewee.fn.MAX(self._schema.id)).scalar() or 0

    def _schema_columns(self) -> tuple[Any, ...]:
        table = self._schema
        return (
            table.id,
            table.schema_type,
            table.schema_text,
            table.references_json,
            table.metadata_json,
            table.rule_set_json,
        )

    @staticmethod
    def _to_schema(row: Sequence[Any]) -> StoredSchema:
        references = tuple(
            Reference(item["name"], item["subject"], int(item["version"]))
            for item in json.loads(row[3] or "[]")
        )
        return StoredSchema(
            schema_id=int(row[0]),
            schema_type=row[1],
            schema_text=row[2],
            references=references,
            metadata=load_json(row[4]),
            rule_set=load_json(row[5]),
        )

    # -- subject versions --------------------------------------------------------------

    def versions(self, subject: str, *, include_deleted: bool) -> list[StoredVersion]:
        """The subject's versions in ascending order."""
        sql = self._versions_sql if include_deleted else self._live_versions_sql
        rows = self.database.execute_sql(sql, (subject,)).fetchall()
        return [self._to_version(row) for row in rows]

    def version(self, subject: str, version: int) -> StoredVersion | None:
        table = self._version
        row = (
            table.select(table.subject, table.version, table.schema_id, table.deleted)
            .where((table.subject == subject) & (table.version == version))
            .tuples()
            .first()
        )
        return None if row is None else self._to_version(row)

    def versions_of_schema(self, schema_id: int, *, include_deleted: bool) -> list[StoredVersion]:
        table = self._version
        query = table.select(table.subject, table.version, table.schema_id, table.deleted).where(
            table.schema_id == schema_id
        )
        if not include_deleted:
            query = query.where(table.deleted == False)  # noqa: E712
        query = query.order_by(table.subject, table.version)
        return [self._to_version(row) for row in query.tuples()]

    def all_versions(
        self, *, subject_prefix: str = "", include_deleted: bool
    ) -> list[StoredVersion]:
        """Every version of every subject starting with ``subject_prefix``, ordered."""
        table = self._version
        query = table.select(table.subject, table.version, table.schema_id, table.deleted)
        if subject_prefix:
            query = query.where(table.subject.startswith(subject_prefix))
        if not include_deleted:
            query = query.where(table.deleted == False)  # noqa: E712
        query = query.order_by(table.subject, table.version)
        rows = [self._to_version(row) for row in query.tuples()]
        # startswith() is LIKE-based and case-insensitive on SQLite; filter exactly here. The
        # order is re-checked in code points (Java's String order, Confluent's), since a
        # PostgreSQL collation such as en_US sorts "B" after "a" and ignores punctuation.
        rows = [row for row in rows if row.subject.startswith(subject_prefix)]
        rows.sort(key=lambda row: (row.subject, row.version))
        return rows

    def max_version(self, subject: str) -> int:
        table = self._version
        return (
            table.select(peewee.fn.MAX(table.version)).where(table.subject == subject).scalar() or 0
        )

    def insert_version(self, subject: str, version: int, schema_id: int) -> StoredVersion:
        """Insert a live version (``IntegrityError`` if the version or live schema exists)."""
        self.database.execute_sql(self._insert_version_sql, (subject, version, schema_id, False))
        return StoredVersion(subject, version, schema_id, False)

    def soft_delete_versions(self, subject: str, versions: Sequence[int]) -> int:
        table = self._version
        return (
            table.update(deleted=True)
            .where((table.subject == subject) & (table.version.in_(list(versions))))
            .execute()
        )

    def purge_versions(self, subject: str, versions: Sequence[int]) -> int:
        """Delete versions for good (the caller announces it and empties ``schema_cache``)."""
        table = self._version
        with self.write():
            return (
                table.delete()
                .where((table.subject == subject) & (table.version.in_(list(versions))))
                .execute()
            )

    def live_referrers(self, subject: str, version: int) -> list[int]:
        """Ids of schemas with a live version that reference ``subject`` ``version``."""
        ref, ver = self._reference, self._version
        query = (
            ref.select(ref.schema_id)
            .distinct()
            .join(ver, on=(ver.schema_id == ref.schema_id))
            .where((ref.subject == subject) & (ref.version == version) & (ver.deleted == False))  # noqa: E712
            .order_by(ref.schema_id)
        )
        return [row[0] for row in query.tuples()]

    def referrers(self, subject: str, version: int, *, include_deleted: bool) -> list[int]:
        """Ids of schemas referencing ``subject`` ``version`` that some (live) version uses."""
        if not include_deleted:
            return self.live_referrers(subject, version)
        ref, ver = self._reference, self._version
        query = (
            ref.select(ref.schema_id)
            .distinct()
            .join(ver, on=(ver.schema_id == ref.schema_id))
            .where((ref.subject == subject) & (ref.version == version))
            .order_by(ref.schema_id)
        )
        return [row[0] for row in query.tuples()]

    def any_live_version(self, subject: str | None = None) -> bool:
        table = self._version
        query = table.select(table.id).where(table.deleted == False)  # noqa: E712
        if subject is not None:
            query = query.where(table.subject == subject)
        return query.exists()

    @staticmethod
    def _to_version(row: Sequence[Any]) -> StoredVersion:
        return StoredVersion(row[0], int(row[1]), int(row[2]), bool(row[3]))

    # -- config and mode -----------------------------------------------------------------

    def get_config(self, scope: str) -> tuple[str | None, dict[str, Any]] | None:
        row = self._one(self._config_sql, (scope,))
        if row is None:
            return None
        return row[0], (load_json(row[1]) or {})

    def set_config(self, scope: str, compatibility: str | None, options: dict[str, Any]) -> None:
        (
            self._config.insert(
                scope=scope, compatibility=compatibility, options_json=dump_json(options or None)
            )
            .on_conflict(
                conflict_target=[self._config.scope],
                update={
                    self._config.compatibility: compatibility,
                    self._config.options_json: dump_json(options or None),
                },
            )
            .execute()
        )

    def delete_config(self, scope: str) -> int:
        return self._config.delete().where(self._config.scope == scope).execute()

    def get_mode(self, scope: str) -> str | None:
        row = self._one(self._mode_sql, (scope,))
        return None if row is None else row[0]

    def set_mode(self, scope: str, mode: str) -> None:
        (
            self._mode.insert(scope=scope, mode=mode)
            .on_conflict(conflict_target=[self._mode.scope], update={self._mode.mode: mode})
            .execute()
        )

    def delete_mode(self, scope: str) -> int:
        return self._mode.delete().where(self._mode.scope == scope).execute()
