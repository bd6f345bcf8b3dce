"""SQLite FTS5 backend: an external-key FTS5 table ranked with bm25 and column weights.

Table ``catalog_fts`` (``rowid`` = ``catalog_entity.id``), columns ``name``,
``qualified``, ``tags``, ``description``, ``body``; bm25 weights 10, 5, 4, 2, 1,
so a word in an entity's name outranks the same word in a description. Query
words become quoted prefix terms (``"email"*``), joined by FTS5's implicit AND;
they hold only letters and digits, and the expression is a bound value.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import peewee

from catalog.index.base import IndexRow, Match, SqlSearch
from catalog.text import query_terms

__all__ = ["SqliteFts", "create_table"]

WEIGHTS = "10.0, 5.0, 4.0, 2.0, 1.0"


def create_table(database: peewee.Database) -> None:
    database.execute_sql(
        "CREATE VIRTUAL TABLE IF NOT EXISTS catalog_fts USING fts5("
        "name, qualified, tags, description, body, "
        "tokenize = 'unicode61 remove_diacritics 0')"
    )


def match_expression(terms: Sequence[str]) -> str:
    return " ".join(f'"{term}"*' for term in terms)


class SqliteFts(SqlSearch):
    name = "sqlite-fts5"

    def match(self, terms: Sequence[str]) -> Match:
        return Match(
            # CROSS JOIN keeps the FTS match as the outer loop (SQLite plans joins in that order).
            source="catalog_fts CROSS JOIN catalog_entity e ON e.id = catalog_fts.rowid",
            condition="catalog_fts MATCH ?",
            condition_params=(match_expression(terms),),
            score=f"bm25(catalog_fts, {WEIGHTS})",
        )

    def id_set(self, entity_ids: Sequence[int]) -> tuple[str, Any]:
        # one bound JSON array, however many ids (no limit on the number of variables)
        return "e.id IN (SELECT value FROM json_each(?))", json.dumps([int(i) for i in entity_ids])

    def write(self, rows: Sequence[IndexRow]) -> None:
        self.remove([row.entity_id for row in rows])
        cursor = self.database.cursor()
        cursor.executemany(
            "INSERT INTO catalog_fts (rowid, name, qualified, tags, description, body) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (row.entity_id, row.name, row.qualified, row.tags, row.description, row.body)
                for row in rows
            ],
        )

    def remove(self, entity_ids: Sequence[int]) -> None:
        if entity_ids:
            cursor = self.database.cursor()
            cursor.executemany(
                "DELETE FROM catalog_fts WHERE rowid = ?",
                [(entity_id,) for entity_id in entity_ids],
            )

    def clear(self) -> None:
        self.database.execute_sql("DELETE FROM catalog_fts")

    def raw_match(self, text: str, limit: int) -> list[int]:
        terms = query_terms(text)
        if not terms:
            return []
        rows = self.database.execute_sql(
            f"SELECT rowid FROM catalog_fts WHERE catalog_fts MATCH ? "
            f"ORDER BY bm25(catalog_fts, {WEIGHTS}) LIMIT ?",
            (match_expression(terms), limit),
        ).fetchall()
        return [int(row[0]) for row in rows]
