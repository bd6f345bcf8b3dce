"""Open the configured database and bring every package's tables up to date.

Each package's ``store`` module owns its models and an ordered list of
migrations; this module only opens the connection (SQLite in WAL mode or
PostgreSQL) and applies the migrations each package has not yet run, recorded
in the ``charter_migrations`` table.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import ModuleType

import peewee
from playhouse.db_url import connect

__all__ = ["apply_migrations", "open_database"]

Migration = Callable[[peewee.Database], None]

# busy_timeout comes first: switching to WAL needs a lock that a concurrently
# starting process may hold, and the wait must already apply to that switch.
SQLITE_PRAGMAS = {
    "busy_timeout": 10_000,
    "journal_mode": "wal",
    "synchronous": "normal",
    "foreign_keys": 1,
}


# How long a connection keeps retrying the switch to WAL while other processes hold locks.
_WAL_SWITCH_TIMEOUT_S = 10.0


class _SqliteDatabase(peewee.SqliteDatabase):
    """SQLite whose transactions and switch to WAL mode wait for others instead of failing.

    Every transaction begins ``IMMEDIATE``: it takes the write lock at its
    start, waiting in ``busy_timeout``. A deferred one that read first and then
    wrote fails at once with "database is locked" when another connection (a
    thread or process: HTTP workers, the broker, the event followers) committed
    in between, because its snapshot is stale and waiting cannot help; the
    registry and catalog asked for ``IMMEDIATE`` themselves, now every store
    gets it (a broker AlterConfigs failed this way beside an audit write).

    ``PRAGMA journal_mode = wal`` needs an exclusive lock and, unlike ordinary
    statements, answers "database is locked" at once when another connection
    holds one, without going through ``busy_timeout``: several processes opening
    a fresh file together (``charter up``'s workers and broker) could fail
    there. Once a file is in WAL mode the setting is persistent and the pragma
    is not sent again.
    """

    def begin(self, lock_type: str | None = None) -> None:
        super().begin(lock_type or "IMMEDIATE")

    def _set_pragmas(self, conn: sqlite3.Connection) -> None:
        cursor = conn.cursor()
        try:
            for pragma, value in self._pragmas:
                if pragma == "journal_mode":
                    _switch_journal_mode(cursor, str(value))
                else:
                    cursor.execute(f"PRAGMA {pragma} = {value};")
        finally:
            cursor.close()


def _switch_journal_mode(cursor: sqlite3.Cursor, mode: str) -> None:
    deadline = time.monotonic() + _WAL_SWITCH_TIMEOUT_S
    while True:
        current = cursor.execute("PRAGMA journal_mode;").fetchone()
        if current is not None and str(current[0]).lower() == mode.lower():
            return
        try:
            cursor.execute(f"PRAGMA journal_mode = {mode};")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def open_database(url: str) -> peewee.Database:
    """Connect to ``url`` (``sqlite:///path`` or ``postgresql://...``)."""
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///") :])
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        return _SqliteDatabase(
            str(path), pragmas=SQLITE_PRAGMAS, check_same_thread=False, timeout=10
        )
    return connect(url)


class _MigrationRecord(peewee.Model):
    package = peewee.CharField(max_length=100)
    version = peewee.IntegerField()

    class Meta:
        table_name = "charter_migrations"
        primary_key = peewee.CompositeKey("package", "version")


# Any constant shared by every Charter process; names the PostgreSQL advisory lock.
_MIGRATION_LOCK_KEY = 0x43484152  # "CHAR"


def apply_migrations(database: peewee.Database, stores: Sequence[ModuleType]) -> None:
    """Run, in order and once each, the migrations every store has not applied yet.

    Safe to call from several processes at once. On PostgreSQL the whole run
    holds an advisory lock, because even ``CREATE TABLE IF NOT EXISTS`` races
    there (two creators collide on the catalog's unique type name); SQLite
    serialises writers itself. Each migration also runs in one transaction with
    its record, so a duplicate fails on the record's primary key and rolls back.
    """
    with _migration_lock(database), database.bind_ctx([_MigrationRecord]):
        database.create_tables([_MigrationRecord], safe=True)
        for store in stores:
            # A package with several stores names each one's migration series (MIGRATION_KEY).
            package = getattr(store, "MIGRATION_KEY", store.__name__.split(".")[0])
            done = {
                row.version
                for row in _MigrationRecord.select().where(_MigrationRecord.package == package)
            }
            for version, migration in enumerate(store.MIGRATIONS, start=1):
                if version in done:
                    continue
                try:
                    with database.atomic():
                        _MigrationRecord.create(package=package, version=version)
                        migration(database)
                except peewee.IntegrityError:
                    continue  # another process applied it first


@contextlib.contextmanager
def _migration_lock(database: peewee.Database) -> Iterator[None]:
    if not isinstance(database, peewee.PostgresqlDatabase):
        yield
        return
    database.execute_sql("SELECT pg_advisory_lock(%s)", (_MIGRATION_LOCK_KEY,))
    try:
        yield
    finally:
        database.execute_sql("SELECT pg_advisory_unlock(%s)", (_MIGRATION_LOCK_KEY,))
