"""Full-text search behind one interface: SQLite FTS5 or PostgreSQL tsvector, by database."""

from __future__ import annotations

import peewee

from catalog.index import postgres, sqlite
from catalog.index.base import FacetCounts, IndexRow, SearchIndex

__all__ = ["FacetCounts", "IndexRow", "SearchIndex", "create_index_table", "index_for"]


def index_for(database: peewee.Database) -> SearchIndex:
    """The backend matching ``database``."""
    if isinstance(database, peewee.PostgresqlDatabase):
        return postgres.PostgresFts(database)
    return sqlite.SqliteFts(database)


def create_index_table(database: peewee.Database) -> None:
    """Migration: the full-text table of ``database``'s backend."""
    if isinstance(database, peewee.PostgresqlDatabase):
        postgres.create_table(database)
    else:
        sqlite.create_table(database)
