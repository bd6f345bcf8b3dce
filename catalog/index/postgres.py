"""PostgreSQL backend: a ``tsvector`` per entity under a GIN index, ranked with ``ts_rank`` (normalized by document length, as bm25 is).

Table ``catalog_search`` (``entity_id``, ``document``): the entity's name is
weight A, its qualified name/path and tags B, its description C, the rest D,
all with the ``simple`` configuration (no stemming, no stop words: the words
are identifiers, already split by ``catalog.text``). Query words become
``word:*`` prefix terms joined by ``&``, passed to ``to_tsquery`` as a bound
value; they hold only letters and digits, so they cannot be tsquery syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import peewee

from catalog.index.base import IndexRow, Match, SqlSearch
from catalog.text import query_terms

__all__ = ["PostgresFts", "create_table"]


def create_table(database: peewee.Database) -> None:
    database.execute_sql(
        "CREATE TABLE IF NOT EXISTS catalog_search (entity_id BIGINT PRIMARY KEY "
        "REFERENCES catalog_entity (id) ON DELETE CASCADE, document TSVECTOR NOT NULL)"
    )
    database.execute_sql(
        "CREATE INDEX IF NOT EXISTS catalog_search_document ON catalog_search USING GIN (document)"
    )


def tsquery_text(terms: Sequence[str]) -> str:
    return " & ".join(f"{term}:*" for term in terms)


_DOCUMENT = (
    "setweight(to_tsvector('simple', %s), 'A') || setweight(to_tsvector('simple', %s), 'B') "
    "|| setweight(to_tsvector('simple', %s), 'C') || setweight(to_tsvector('simple', %s), 'D')"
)


class PostgresFts(SqlSearch):
    name = "postgresql-tsvector"

    def match(self, terms: Sequence[str]) -> Match:
        text = tsquery_text(terms)
        return Match(
            source="catalog_search s JOIN catalog_entity e ON e.id = s.entity_id",
            condition="s.document @@ to_tsquery('simple', ?)",
            condition_params=(text,),
            score="-ts_rank(s.document, to_tsquery('simple', ?), 1)",
            score_params=(text,),
        )

    def id_set(self, entity_ids: Sequence[int]) -> tuple[str, Any]:
        return "e.id = ANY(?)", [int(i) for i in entity_ids]

    def write(self, rows: Sequence[IndexRow]) -> None:
        if not rows:
            return
        cursor = self.database.cursor()
        cursor.executemany(
            f"INSERT INTO catalog_search (entity_id, document) VALUES (%s, {_DOCUMENT}) "
            "ON CONFLICT (entity_id) DO UPDATE SET document = excluded.document",
            [
                (row.entity_id, row.name, f"{row.qualified} {row.tags}", row.description, row.body)
                for row in rows
            ],
        )

    def remove(self, entity_ids: Sequence[int]) -> None:
        if entity_ids:
            self.database.execute_sql(
                "DELETE FROM catalog_search WHERE entity_id = ANY(%s)", (list(entity_ids),)
            )

    def clear(self) -> None:
        self.database.execute_sql("DELETE FROM catalog_search")

    def rebuilt(self) -> None:
        # A rebuild replaces every row: without fresh statistics the planner picks
        # plans for the old (often empty) tables until autovacuum analyzes them.
        self.database.execute_sql("ANALYZE catalog_entity, catalog_label, catalog_search")

    def raw_match(self, text: str, limit: int) -> list[int]:
        terms = query_terms(text)
        if not terms:
            return []
        rows = self.database.execute_sql(
            "SELECT entity_id FROM catalog_search, to_tsquery('simple', %s) q "
            "WHERE document @@ q ORDER BY ts_rank(document, q, 1) DESC LIMIT %s",
            (tsquery_text(terms), limit),
        ).fetchall()
        return [int(row[0]) for row in rows]
