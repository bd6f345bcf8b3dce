"""Write transactions that queue instead of failing, and database errors as registry errors.

Every registry change runs in ``write_transaction(database)``, which takes the
write lock when the transaction starts, not at its first write:

- SQLite: ``BEGIN IMMEDIATE``. A deferred transaction that read first and then
  tries to write fails at once with "database is locked" when another process
  committed in between (its snapshot is stale, so waiting cannot help); an
  immediate one waits in ``busy_timeout`` for the lock and then reads fresh data.
- PostgreSQL: ``pg_advisory_xact_lock`` on one registry key as the first
  statement. Under READ COMMITTED each later statement sees everything committed
  before the lock was granted, so the read-decide-write of a registration never
  races another one, and the lock goes with the transaction.

Writers therefore queue in arrival order, and no request retries. Reads never
take the lock.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

import peewee

from registry.errors import RegistryError, StoreError, StoreTimeout
from registry.events import WRITE_LOCK_KEY

__all__ = ["translate_store_errors", "write_transaction"]


P = ParamSpec("P")
R = TypeVar("R")


@contextlib.contextmanager
def write_transaction(database: peewee.Database) -> Iterator[None]:
    """One atomic registry write, holding the registry's write lock from its first statement.

    Nested inside another transaction it is a savepoint of that one (which
    already holds the lock).
    """
    if database.in_transaction():
        with database.atomic():
            yield
        return
    if isinstance(database, peewee.SqliteDatabase):
        with database.atomic("IMMEDIATE"):
            yield
        return
    with database.atomic():
        if isinstance(database, peewee.PostgresqlDatabase):
            database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK_KEY,))
        yield


def translate_store_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn database failures into registry errors (50001 / 50002) instead of tracebacks."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except RegistryError:
            raise
        except peewee.OperationalError as exc:
            if "locked" in str(exc) or "timeout" in str(exc).lower():
                raise StoreTimeout(f"Operation timed out in the backend store: {exc}") from exc
            raise StoreError(f"Error in the backend data store: {exc}") from exc
        except peewee.PeeweeException as exc:
            raise StoreError(f"Error in the backend data store: {exc}") from exc

    return wrapper
