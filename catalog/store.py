"""The catalog's tables and the queries over them (no decisions, no full-text syntax).

Tables (``MIGRATIONS``; the full-text table belongs to the index backend,
``catalog.index``):

- ``catalog_entity``: one row per entity derived from a source (a subject's
  latest live version and its fields, a topic, a glossary term), keyed by
  ``qualified_name``; ``labels`` holds the schema-derived labels (JSON), so
  they can be told apart from curated ones; rebuilt by a reindex.
- ``catalog_label``: the labels (tag, owner, domain, term) each entity carries,
  schema-derived and curated merged; what filters and facets read.
- ``catalog_curation``: what people added through the API, by qualified name
  and kind (``tag``, ``owner``, ``domain``, ``term``, ``description``); never
  touched by indexing, so a new schema version cannot overwrite it.
- ``catalog_term``: the glossary (name, definition).
- ``catalog_position``: the indexer's position in each outbox, written in the
  transaction of the change it applied (so each event is applied once).

Writers run in ``write_transaction`` (SQLite ``BEGIN IMMEDIATE``; PostgreSQL an
advisory lock on the catalog's key), so the HTTP workers following the
outboxes in parallel queue instead of interleaving.
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import peewee

from catalog.model import LABEL_KINDS, EntityDoc
from catalog.text import name_key

__all__ = ["MIGRATIONS", "CatalogStore", "EntityRow", "write_transaction"]

WRITE_LOCK_KEY = 0x43484341  # "CHCA"

EntityRow = dict[str, Any]


def _create_tables(database: peewee.Database) -> None:
    serial = (
        "BIGSERIAL PRIMARY KEY"
        if isinstance(database, peewee.PostgresqlDatabase)
        else "INTEGER PRIMARY KEY AUTOINCREMENT"
    )
    statements = [
        f"CREATE TABLE IF NOT EXISTS catalog_entity (id {serial}, "
        "qualified_name TEXT NOT NULL UNIQUE, type TEXT NOT NULL, name TEXT NOT NULL, "
        "name_key TEXT NOT NULL, subject TEXT, version INTEGER, path TEXT, path_key TEXT, "
        "description TEXT NOT NULL DEFAULT '', labels TEXT NOT NULL DEFAULT '{}', "
        "attrs TEXT NOT NULL DEFAULT '{}', body TEXT NOT NULL DEFAULT '', "
        "updated_at_ms BIGINT NOT NULL)",
        "CREATE INDEX IF NOT EXISTS catalog_entity_subject ON catalog_entity (subject)",
        "CREATE INDEX IF NOT EXISTS catalog_entity_type_name ON catalog_entity (type, name_key)",
        "CREATE TABLE IF NOT EXISTS catalog_label (entity_id BIGINT NOT NULL "
        "REFERENCES catalog_entity (id) ON DELETE CASCADE, kind TEXT NOT NULL, "
        "value TEXT NOT NULL, value_key TEXT NOT NULL, PRIMARY KEY (entity_id, kind, value_key))",
        "CREATE INDEX IF NOT EXISTS catalog_label_value ON catalog_label (kind, value_key)",
        "CREATE TABLE IF NOT EXISTS catalog_curation (qualified_name TEXT NOT NULL, "
        "kind TEXT NOT NULL, value TEXT NOT NULL, value_key TEXT NOT NULL, "
        "updated_at_ms BIGINT NOT NULL, PRIMARY KEY (qualified_name, kind, value_key))",
        "CREATE TABLE IF NOT EXISTS catalog_term (name_key TEXT PRIMARY KEY, "
        "name TEXT NOT NULL, definition TEXT NOT NULL DEFAULT '', updated_at_ms BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS catalog_position (outbox TEXT PRIMARY KEY, "
        "position BIGINT NOT NULL)",
    ]
    for statement in statements:
        database.execute_sql(statement)


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_tables]


@contextlib.contextmanager
def write_transaction(database: peewee.Database) -> Iterator[None]:
    """One catalog write holding the catalog's write lock from its first statement."""
    if database.in_transaction():
        with database.atomic():
            yield
        return
    if isinstance(database, peewee.SqliteDatabase):
        with database.atomic("IMMEDIATE"):
            yield
        return
    with database.atomic():
        database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        yield


def _now_ms() -> int:
    return int(time.time() * 1000)


_ENTITY_COLUMNS = (
    "id, qualified_name, type, name, subject, version, path, description, labels, attrs"
)


class CatalogStore:
    """Queries over the catalog's tables in ``database`` (SQL built here, values bound)."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self.is_postgres = isinstance(database, peewee.PostgresqlDatabase)
        self.p = database.param

    def _sql(self, text: str) -> str:
        return text.replace("?", self.p)

    def execute(self, text: str, params: Sequence[Any] = ()) -> Any:
        return self.database.execute_sql(self._sql(text), tuple(params))

    # -- positions ----------------------------------------------------------------------------

    def position(self, outbox: str) -> int | None:
        row = self.execute("SELECT position FROM catalog_position WHERE outbox = ?", (outbox,))
        found = row.fetchone()
        return None if found is None else int(found[0])

    def set_position(self, outbox: str, position: int) -> None:
        self.execute(
            "INSERT INTO catalog_position (outbox, position) VALUES (?, ?) "
            "ON CONFLICT (outbox) DO UPDATE SET position = excluded.position",
            (outbox, position),
        )

    # -- entities -----------------------------------------------------------------------------

    def upsert_entity(self, doc: EntityDoc) -> int:
        """Write ``doc``'s row (its labels as derived, for telling them apart); returns its id."""
        path_key = name_key(doc.path) if doc.path else None
        row = self.execute(
            "INSERT INTO catalog_entity (qualified_name, type, name, name_key, subject, version, "
            "path, path_key, description, labels, attrs, body, updated_at_ms) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (qualified_name) DO UPDATE SET type = excluded.type, "
            "name = excluded.name, name_key = excluded.name_key, subject = excluded.subject, "
            "version = excluded.version, path = excluded.path, path_key = excluded.path_key, "
            "description = excluded.description, labels = excluded.labels, "
            "attrs = excluded.attrs, body = excluded.body, updated_at_ms = excluded.updated_at_ms "
            "RETURNING id",
            (
                doc.qualified_name,
                doc.type,
                doc.name,
                name_key(doc.name),
                doc.subject,
                doc.version,
                doc.path,
                path_key,
                doc.description,
                json.dumps({k: list(v) for k, v in doc.labels.items() if v}),
                json.dumps(dict(doc.attrs), default=str),
                doc.body,
                _now_ms(),
            ),
        ).fetchone()
        return int(row[0])

    def replace_labels(
        self,
        entries: Sequence[tuple[int, Mapping[str, Sequence[str]], Sequence[tuple[str, str]]]],
        *,
        fresh: bool = False,
    ) -> list[dict[str, list[str]]]:
        """Replace the labels of each ``(entity_id, derived, curated)`` with derived and curated
        merged (one DELETE, one batch INSERT); returns the merged labels in order. ``fresh``:
        the entities were just created, so there is nothing to delete."""
        merged_all: list[dict[str, list[str]]] = []
        rows: list[tuple[int, str, str, str]] = []
        for entity_id, derived, curated in entries:
            merged: dict[str, dict[str, str]] = {kind: {} for kind in LABEL_KINDS}
            for kind, values in derived.items():
                for value in values:
                    merged.setdefault(kind, {}).setdefault(name_key(value), value)
            for kind, value in curated:
                if kind in merged:
                    merged[kind].setdefault(name_key(value), value)
            rows += [
                (entity_id, kind, value, key)
                for kind, values in merged.items()
                for key, value in values.items()
            ]
            merged_all.append({kind: list(values.values()) for kind, values in merged.items()})
        ids = [entry[0] for entry in entries]
        if not fresh:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                marks = ", ".join("?" for _ in chunk)
                self.execute(f"DELETE FROM catalog_label WHERE entity_id IN ({marks})", chunk)
        if rows:
            cursor = self.database.cursor()
            cursor.executemany(
                self._sql(
                    "INSERT INTO catalog_label (entity_id, kind, value, value_key) "
                    "VALUES (?, ?, ?, ?)"
                ),
                rows,
            )
        return merged_all

    def entity_ids_of_subject(self, subject: str) -> list[int]:
        rows = self.execute("SELECT id FROM catalog_entity WHERE subject = ?", (subject,))
        return [int(row[0]) for row in rows.fetchall()]

    def entity_id(self, qualified_name: str) -> int | None:
        found = self.execute(
            "SELECT id FROM catalog_entity WHERE qualified_name = ?", (qualified_name,)
        ).fetchone()
        return None if found is None else int(found[0])

    def delete_entities(self, entity_ids: Sequence[int]) -> None:
        for start in range(0, len(entity_ids), 500):
            chunk = list(entity_ids[start : start + 500])
            marks = ", ".join("?" for _ in chunk)
            self.execute(f"DELETE FROM catalog_label WHERE entity_id IN ({marks})", chunk)
            self.execute(f"DELETE FROM catalog_entity WHERE id IN ({marks})", chunk)

    def delete_all_entities(self) -> None:
        self.execute("DELETE FROM catalog_label")
        self.execute("DELETE FROM catalog_entity")

    def entities(self, entity_ids: Sequence[int]) -> dict[int, EntityRow]:
        """Rows by id, each with its merged ``label_values`` by kind."""
        found: dict[int, EntityRow] = {}
        for start in range(0, len(entity_ids), 500):
            chunk = list(entity_ids[start : start + 500])
            if not chunk:
                continue
            marks = ", ".join("?" for _ in chunk)
            rows = self.execute(
                f"SELECT {_ENTITY_COLUMNS} FROM catalog_entity WHERE id IN ({marks})", chunk
            ).fetchall()
            for row in rows:
                found[int(row[0])] = self._entity_row(row)
            for entity_id, kind, value in self.execute(
                f"SELECT entity_id, kind, value FROM catalog_label WHERE entity_id IN ({marks}) "
                "ORDER BY value_key",
                chunk,
            ).fetchall():
                if int(entity_id) in found:
                    found[int(entity_id)]["label_values"].setdefault(kind, []).append(value)
        return found

    def entity_by_name(self, qualified_name: str) -> EntityRow | None:
        entity_id = self.entity_id(qualified_name)
        return None if entity_id is None else self.entities([entity_id]).get(entity_id)

    def entities_where(
        self, condition: str, params: Sequence[Any], limit: int = 1000
    ) -> list[EntityRow]:
        """Rows matching a fixed ``condition`` written by catalog code (values bound)."""
        rows = self.execute(
            f"SELECT id FROM catalog_entity WHERE {condition} ORDER BY name_key LIMIT {int(limit)}",
            params,
        ).fetchall()
        ids = [int(row[0]) for row in rows]
        by_id = self.entities(ids)
        return [by_id[i] for i in ids if i in by_id]

    def doc_of(self, row: EntityRow) -> EntityDoc:
        """The derived document an entity row was written from (body read back too)."""
        found = self.execute(
            "SELECT body FROM catalog_entity WHERE id = ?", (row["id"],)
        ).fetchone()
        return EntityDoc(
            qualified_name=row["qualified_name"],
            type=row["type"],
            name=row["name"],
            description=row["description"],
            labels=row["labels"],
            subject=row["subject"],
            version=row["version"],
            path=row["path"],
            attrs=row["attrs"],
            body=found[0] if found else "",
        )

    @staticmethod
    def _entity_row(row: Sequence[Any]) -> EntityRow:
        return {
            "id": int(row[0]),
            "qualified_name": row[1],
            "type": row[2],
            "name": row[3],
            "subject": row[4],
            "version": row[5],
            "path": row[6],
            "description": row[7],
            "labels": json.loads(row[8] or "{}"),
            "attrs": json.loads(row[9] or "{}"),
            "label_values": {},
        }

    # -- curation -----------------------------------------------------------------------------

    def curation(self, qualified_name: str) -> list[tuple[str, str]]:
        rows = self.execute(
            "SELECT kind, value FROM catalog_curation WHERE qualified_name = ? "
            "ORDER BY kind, value_key",
            (qualified_name,),
        ).fetchall()
        return [(row[0], row[1]) for row in rows]

    def curation_many(self, qualified_names: Sequence[str]) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        names = list(dict.fromkeys(qualified_names))
        for start in range(0, len(names), 500):
            chunk = names[start : start + 500]
            marks = ", ".join("?" for _ in chunk)
            rows = self.execute(
                "SELECT qualified_name, kind, value FROM catalog_curation "
                f"WHERE qualified_name IN ({marks}) ORDER BY kind, value_key",
                chunk,
            )
            for qualified_name, kind, value in rows.fetchall():
                found.setdefault(qualified_name, []).append((kind, value))
        return found

    def all_curation(self) -> dict[str, list[tuple[str, str]]]:
        """Every curated value by qualified name (one query, for a reindex)."""
        found: dict[str, list[tuple[str, str]]] = {}
        rows = self.execute(
            "SELECT qualified_name, kind, value FROM catalog_curation ORDER BY kind, value_key"
        )
        for qualified_name, kind, value in rows.fetchall():
            found.setdefault(qualified_name, []).append((kind, value))
        return found

    def add_curation(self, qualified_name: str, kind: str, value: str) -> bool:
        """Add a curated value; False when it was already there."""
        cursor = self.execute(
            "INSERT INTO catalog_curation (qualified_name, kind, value, value_key, updated_at_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            (qualified_name, kind, value, name_key(value), _now_ms()),
        )
        return bool(cursor.rowcount)

    def remove_curation(self, qualified_name: str, kind: str, value: str | None = None) -> int:
        if value is None:
            cursor = self.execute(
                "DELETE FROM catalog_curation WHERE qualified_name = ? AND kind = ?",
                (qualified_name, kind),
            )
        else:
            cursor = self.execute(
                "DELETE FROM catalog_curation WHERE qualified_name = ? AND kind = ? "
                "AND value_key = ?",
                (qualified_name, kind, name_key(value)),
            )
        return int(cursor.rowcount or 0)

    # -- glossary -----------------------------------------------------------------------------

    def terms(self) -> list[tuple[str, str]]:
        rows = self.execute("SELECT name, definition FROM catalog_term ORDER BY name_key")
        return [(row[0], row[1]) for row in rows.fetchall()]

    def term(self, name: str) -> tuple[str, str] | None:
        found = self.execute(
            "SELECT name, definition FROM catalog_term WHERE name_key = ?", (name_key(name),)
        ).fetchone()
        return None if found is None else (found[0], found[1])

    def put_term(self, name: str, definition: str) -> None:
        self.execute(
            "INSERT INTO catalog_term (name_key, name, definition, updated_at_ms) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (name_key) DO UPDATE SET name = excluded.name, "
            "definition = excluded.definition, updated_at_ms = excluded.updated_at_ms",
            (name_key(name), name, definition, _now_ms()),
        )

    def delete_term(self, name: str) -> int:
        cursor = self.execute("DELETE FROM catalog_term WHERE name_key = ?", (name_key(name),))
        return int(cursor.rowcount or 0)

    def entities_with_label(self, kind: str, value: str) -> list[EntityRow]:
        return self.entities_where(
            "id IN (SELECT entity_id FROM catalog_label WHERE kind = ? AND value_key = ?)",
            (kind, name_key(value)),
        )
