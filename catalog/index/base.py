"""What every full-text backend shares: the search interface, filters, facets and paging.

A backend owns one table of searchable text per entity (``IndexRow``) and the
expression that matches query words against it; everything around the match
(type/tag/owner/domain filters, exact-name boost, facets, the page) is the same
SQL here. Query words reach the database only as bound values, each reduced to
letters and digits first (``catalog.text.query_terms``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

import peewee

from catalog.model import SearchHit, SearchQuery
from catalog.text import name_key, query_terms

__all__ = ["FacetCounts", "IndexRow", "Match", "SearchIndex", "SqlSearch"]

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

    def search(self, query: SearchQuery) -> tuple[int, list[SearchHit], FacetCounts]: ...

    def raw_match(self, text: str, limit: int) -> list[int]:
        """The FTS match alone, best first (no filters, facets or entity rows; benchmarks)."""
        ...


_TYPE_ORDER = "CASE e.type WHEN 'topic' THEN 0 WHEN 'subject' THEN 1 WHEN 'term' THEN 2 ELSE 3 END"


def _like_pattern(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class SqlSearch:
    """Filters, facets and paging around a backend's ``match``; backends subclass it."""

    name = "sql"

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self.p = database.param

    def match(self, terms: Sequence[str]) -> Match:  # pragma: no cover - abstract
        raise NotImplementedError

    def _sql(self, text: str) -> str:
        return text.replace("?", self.p)

    def _run(self, text: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
        return list(self.database.execute_sql(self._sql(text), tuple(params)).fetchall())

    def _source(self, query: SearchQuery) -> tuple[str, str, list[Any], Match | None]:
        """FROM, WHERE (with ``e`` the entity) and its values for ``query``'s matching set."""
        conditions: list[str] = []
        params: list[Any] = []
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
        source, where, params, match = self._source(query)
        exact = name_key(query.text)
        boost = "CASE WHEN e.name_key = ? OR e.path_key = ? THEN 0 ELSE 1 END"
        if match is not None:
            select = f"SELECT e.id, {match.score} AS score FROM {source} WHERE {where} "
            order = f"ORDER BY {boost}, score, e.id LIMIT ? OFFSET ?"
            page_params = [*match.score_params, *params, exact, exact]
        else:
            select = f"SELECT e.id, 0 AS score FROM {source} WHERE {where} "
            order = f"ORDER BY {boost}, {_TYPE_ORDER}, e.name_key, e.id LIMIT ? OFFSET ?"
            page_params = [*params, exact, exact]
        rows = self._run(select + order, [*page_params, query.limit, query.offset])
        hits = [SearchHit(int(row[0]), float(row[1] or 0.0)) for row in rows]
        type_counts = {
            row[0]: int(row[1])
            for row in self._run(
                f"SELECT e.type, COUNT(*) FROM {source} WHERE {where} GROUP BY e.type", params
            )
        }
        facets: FacetCounts = {"type": type_counts}
        if query.facets:
            facets.update(self._label_facets(source, where, params))
        return sum(type_counts.values()), hits, facets

    def _label_facets(self, source: str, where: str, params: list[Any]) -> FacetCounts:
        facets: FacetCounts = {"tag": {}, "owner": {}, "domain": {}, "term": {}}
        rows = self._run(
            "SELECT l.kind, MIN(l.value), COUNT(*) FROM catalog_label l "
            f"WHERE l.entity_id IN (SELECT e.id FROM {source} WHERE {where}) "
            "GROUP BY l.kind, l.value_key ORDER BY 3 DESC, 2",
            params,
        )
        for kind, value, count in rows:
            bucket = facets.setdefault(kind, {})
            if len(bucket) < MAX_FACET_VALUES:
                bucket[value] = int(count)
        return facets
