"""The registry's storage: tables, queries, write transactions and the schema-by-id cache.

``Store(database)`` holds the queries; ``write_transaction`` is how every change
is made; ``MIGRATIONS`` is what ``charter`` applies at start-up.
"""

from registry.store.queries import SCHEMA_CACHE_SIZE, Store
from registry.store.rows import GLOBAL_SCOPE, Reference, StoredSchema, StoredVersion
from registry.store.tables import MIGRATIONS
from registry.store.transactions import translate_store_errors, write_transaction

__all__ = [
    "GLOBAL_SCOPE",
    "MIGRATIONS",
    "SCHEMA_CACHE_SIZE",
    "Reference",
    "Store",
    "StoredSchema",
    "StoredVersion",
    "translate_store_errors",
    "write_transaction",
]
