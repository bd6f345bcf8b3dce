"""What every full-text backend shares: the search interface, filters, facets and paging.

A backend owns one table of searchable text per entity (``IndexRow``) and the
expression that matches query words against it; everything around the match
(type/tag/owner/domain filters, exact-name boost, facets, the page) is the same
SQL here. Query words reach the database only as bound values, each reduced to
letters and digits first (``catalog.text.query_terms``).

Per-principal visibility (``SearchQuery.visibility``) is one more condition in
the same WHERE, so the total, the facets and the page all count only what the
principal may read: topics by name, subjects and fields by subject, each a
literal ``IN`` list or a ``substr(column, 1, len) = prefix`` test per prefix,
all bound values (a pattern holding quotes, ``%``, ``_`` or ``*`` is compared as
the text it is). Everyone-visible queries (``sees_everything``) add nothing.
When the visibility is not exact (the authorizer has entries that take away),
the candidates that pass the patterns are checked one by one
(``Visibility.check``) and the search runs again over the ids that passed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import peewee

from catalog.model import SearchHit, SearchQuery, Visibility, VisibleNames
from catalog.text import name_key, query_terms

__all__ = [
    "FacetCounts",
    "IndexRow",
    "Match",
    "SearchIndex",
    "SqlSearch",
    "visibility_condition",
]

FacetCounts = dict[str, dict[str, int]]

MAX_FACET_VALUES = 25


@dataclasses.dataclass(frozen=True)
class IndexRow:
    """The text of one entity as the index stores it (already run through ``index_text``)."""

    entity_id: int
    name: str
    qualified: str
    tags: str
    description: str
    body: str


@dataclasses.dataclass(frozen=True)
class Match:
    """A backend's full-text match: FROM clause (``e`` is catalog_entity), WHERE, score."""

    source: str
    condition: str
    condition_params: tuple[Any, ...]
    score: str
    """Lower is better, so every backend orders the same way."""
    score_params: tuple[Any, ...] = ()


class SearchIndex(Protocol):
    """One full-text backend (``catalog.index.sqlite``, ``catalog.index.postgres``)."""

    name: str

    def write(self, rows: Sequence[IndexRow]) -> None: ...

    def remove(self, entity_ids: Sequence[int]) -> None: ...

    def clear(self) -> None: ...

    def rebuilt(self) -> None:
        """Called after a full rebuild, in its transaction (refresh planner statistics)."""
        ...

    def search(self, query: SearchQuery) -> tuple[int, list[SearchHit], FacetCounts]: ...

    def raw_match(self, text: str, limit: int) -> list[int]:
        """The FTS match alone, best first (no filters, facets or entity rows; benchmarks)."""
        ...


_TYPE_ORDER = "CASE e.type WHEN 'topic' THEN 0 WHEN 'subject' THEN 1 WHEN 'term' THEN 2 ELSE 3 END"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _names_condition(column: str, names: VisibleNames) -> tuple[str | None, list[Any]]:
    """SQL true for the names in ``names`` (``None``: no name is), with its bound values."""
    if names.everything:
        return "1 = 1", []
    alternatives: list[str] = []
    params: list[Any] = []
    literals = sorted(names.literals)
    if literals:
        alternatives.append(f"{column} IN ({', '.join('?' for _ in literals)})")
        params += literals
    for prefix in names.prefixes:
        alternatives.append(f"substr({column}, 1, CAST(? AS INTEGER)) = ?")
        params += [len(prefix), prefix]
    if not alternatives:
        return None, []
    return "(" + " OR ".join(alternatives) + ")", params


def visibility_condition(visibility: Visibility) -> tuple[str, list[Any]]:
    """SQL over ``e`` (catalog_entity) keeping what ``visibility`` lets be seen: glossary
    terms, topics by name, subjects and their fields by subject."""
    parts = ["e.type = 'term'"]
    params: list[Any] = []
    for types, column, names in (
        ("'topic'", "e.name", visibility.topics),
        ("'subject', 'field'", "e.subject", visibility.subjects),
    ):
        condition, values = _names_condition(column, names)
        if condition is not None:
            parts.append(f"(e.type IN ({types}) AND {condition})")
            params += values
    return "(" + " OR ".join(parts) + ")", params


class SqlSearch:
    """Filters, facets and paging around a backend's ``match``; backends subclass it."""

    name = "sql"

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self.p = database.param

    def match(self, terms: Sequence[str]) -> Match:  # pragma: no cover - abstract
        raise NotImplementedError

    def rebuilt(self) -> None:
        return None

    def _sql(self, text: str) -> str:
        return text.replace("?", self.p)

    def _run(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self.database.execute_sql(self._sql(text), tuple(params)).fetchall())

    def id_set(self, entity_ids: Sequence[int]) -> tuple[str, Any]:  # pragma: no cover
        """A condition "``e.id`` is one of ``entity_ids``" with one bound value."""
        raise NotImplementedError

    def _source(
        self, query: SearchQuery, entity_ids: Sequence[int] | None = None
    ) -> tuple[str, str, list[Any], Match | None]:
        """FROM, WHERE (with ``e`` the entity) and its values for ``query``'s matching set
        (within ``entity_ids`` when given)."""
        conditions: list[str] = []
        params: list[Any] = []
        if not query.visibility.sees_everything:
            condition, values = visibility_condition(query.visibility)
            conditions.append(condition)
            params += values
        if entity_ids is not None:
            condition, value = self.id_set(entity_ids or [-1])  # -1: no entity's id
            conditions.append(condition)
            params.append(value)
        terms = query_terms(query.text)
        match: Match | None = None
        source = "catalog_entity e"
        if terms:
            match = self.match(terms)
            source = match.source
            conditions.append(match.condition)
            params += match.condition_params
        elif query.text.strip():  # only odd characters: a plain substring of the name
            conditions.append(
                "(e.name_key LIKE ? ESCAPE '\\' OR LOWER(e.qualified_name) LIKE ? ESCAPE '\\')"
            )
            pattern = _like_pattern(name_key(query.text))
            params += [pattern, pattern]
        if query.types:
            conditions.append(f"e.type IN ({', '.join('?' for _ in query.types)})")
            params += list(query.types)
        for kind, values in (
            ("tag", query.tags),
            ("owner", query.owners),
            ("domain", query.domains),
        ):
            for value in values:
                conditions.append(
                    "EXISTS (SELECT 1 FROM catalog_label l WHERE l.entity_id = e.id "
                    "AND l.kind = ? AND l.value_key = ?)"
                )
                params += [kind, name_key(value)]
        where = " AND ".join(conditions) or "1 = 1"
        return source, where, params, match

    def search(self, query: SearchQuery) -> tuple[int, list[SearchHit], FacetCounts]:
        """The page of hits, the total and the facets, from one statement.

        The matching set is computed once (a materialized CTE) and read three
        times: the page (exact name or path first, then rank, type, name), the
        count per type, and the count per label value.
        """
        entity_ids = None if query.visibility.exact else self._checked_candidates(query)
        source, where, params, match = self._source(query, entity_ids)
        exact = name_key(query.text)
        score = match.score if match is not None else "0"
        score_params = list(match.score_params) if match is not None else []
        order_key = (
            f"(CASE WHEN e.name_key = ? OR e.path_key = ? THEN 0 ELSE 10 END + {_TYPE_ORDER})"
        )
        labels = (
            "UNION ALL SELECT 2, l.kind, COUNT(*), 0, MIN(l.value) FROM catalog_label l "
            "JOIN m ON l.entity_id = m.id GROUP BY l.kind, l.value_key "
            if query.facets
            else ""
        )
        statement = (
            f"WITH m AS MATERIALIZED (SELECT e.id AS id, e.type AS type, e.name_key AS name_key, "
            f"{order_key} AS order_key, {score} AS score FROM {source} WHERE {where}) "
            "SELECT 0, CAST(id AS TEXT), order_key, score, name_key FROM (SELECT * FROM m "
            "ORDER BY order_key / 10, score, order_key, name_key, id LIMIT ? OFFSET ?) page "
            "UNION ALL SELECT 1, type, COUNT(*), 0, NULL FROM m GROUP BY type " + labels
        )
        rows = self._run(
            statement, [exact, exact, *score_params, *params, query.limit, query.offset]
        )
        ranked: list[tuple[tuple[Any, ...], SearchHit]] = []
        type_counts: dict[str, int] = {}
        facets: FacetCounts = {"type": type_counts}
        if query.facets:
            facets.update({"tag": {}, "owner": {}, "domain": {}, "term": {}})
        label_rows: list[tuple[str, str, int]] = []
        for section, key, first, second, text in rows:
            if section == 0:
                order_key, hit_score = int(first), float(second or 0.0)
                sort_key = (order_key // 10, hit_score, order_key, text, int(key))
                ranked.append((sort_key, SearchHit(int(key), hit_score)))
            elif section == 1:
                type_counts[key] = int(first)
            else:
                label_rows.append((key, text, int(first)))
        for kind, value, count in sorted(label_rows, key=lambda row: (-row[2], row[1])):
            bucket = facets.setdefault(kind, {})
            if len(bucket) < MAX_FACET_VALUES:
                bucket[value] = count
        hits = [hit for _, hit in sorted(ranked, key=lambda item: item[0])]
        return sum(type_counts.values()), hits, facets

    def _checked_candidates(self, query: SearchQuery) -> list[int]:
        """The ids of every entity matching ``query`` that its (inexact) visibility lets be
        seen when each is asked about: the slow path, for principals with DENY entries."""
        source, where, params, _ = self._source(query)
        rows = self._run(
            f"SELECT e.id, e.type, e.name, e.subject FROM {source} WHERE {where}", params
        )
        visibility = query.visibility
        return [
            int(entity_id)
            for entity_id, entity_type, name, subject in rows
            if visibility.may_see(str(entity_type), str(name), subject)
        ]
