"""The catalog's migrations, in order (applied by ``charter.db.apply_migrations``)."""

from __future__ import annotations

from collections.abc import Callable

import peewee

from catalog.index import create_index_table
from catalog.lineage import MIGRATIONS as LINEAGE_MIGRATIONS
from catalog.store import MIGRATIONS as STORE_MIGRATIONS

__all__ = ["MIGRATIONS"]

MIGRATIONS: list[Callable[[peewee.Database], None]] = [
    *STORE_MIGRATIONS,
    create_index_table,
    *LINEAGE_MIGRATIONS,
]
