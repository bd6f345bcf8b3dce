"""A transactional outbox: each change and the event announcing it, in one database transaction.

Every process sharing the database learns of a change by reading the outbox
(``events_since(seq)``), never by being called: so nothing is announced that
rolled back, and nothing committed is lost when a reader restarts. One table
per owning package (``registry_outbox``, ``broker_outbox``), all of this shape::

    seq            BIGINT PRIMARY KEY   1, 2, 3, … dense, in commit order
    event          TEXT                 the event's name ("schema_registered", …)
    payload        TEXT                 a JSON object
    created_at_ms  BIGINT               wall clock at append, for pruning by age

Why the sequence is dense and in commit order on both databases: ``append``
computes ``MAX(seq) + 1`` while holding the outbox's write lock until the
transaction ends (SQLite: the database write lock every writing transaction
holds; PostgreSQL: ``pg_advisory_xact_lock`` on a key per outbox). Appends to
one outbox therefore commit one after another in ``seq`` order, and a rolled
back append frees its number. A reader that has seen ``seq`` N has seen every
event up to N, so ``WHERE seq > last ORDER BY seq`` never skips a row that
commits later with a smaller number (which a PostgreSQL ``BIGSERIAL`` alone
allows: sequence values are taken in one order and committed in another). The
lock is taken by the append, normally the last statement of the change, so it
is held only for the commit. On PostgreSQL the append also sends ``NOTIFY
<table>, '<seq>'``, delivered at commit, to wake readers (``charter.events``).

Pruning deletes events older than a retention period but always keeps the
newest one, so ``MAX(seq) + 1`` never restarts from 1. This module owns no
table: the owning package's ``store`` lists ``create_outbox_table`` among its
migrations (the broker may import ``registry``; ``registry`` imports nothing
of ours, so the one implementation lives here).
"""

from __future__ import annotations

import dataclasses
import json
import re
import time
from collections.abc import Callable, Mapping
from typing import Any

import peewee

__all__ = ["Event", "Outbox", "outbox_migration"]

_TABLE_NAME = re.compile(r"[a-z][a-z0-9_]{0,62}")


@dataclasses.dataclass(frozen=True, slots=True)
class Event:
    """One committed change, as read back from an outbox."""

    seq: int
    name: str
    payload: Mapping[str, Any]
    created_at_ms: int
    source: str
    """The outbox table it was read from (``registry_outbox``, ``broker_outbox``)."""


def _checked_table(table: str) -> str:
    if not _TABLE_NAME.fullmatch(table):
        raise ValueError(f"not a usable outbox table name: {table!r}")
    return table


def outbox_migration(table: str) -> Callable[[peewee.Database], None]:
    """A migration creating the outbox ``table`` (for a store's ``MIGRATIONS`` list)."""
    table = _checked_table(table)

    def create_outbox_table(database: peewee.Database) -> None:
        database.execute_sql(
            f"CREATE TABLE IF NOT EXISTS {table} ("
            "seq BIGINT NOT NULL PRIMARY KEY, "
            "event TEXT NOT NULL, "
            "payload TEXT NOT NULL, "
            "created_at_ms BIGINT NOT NULL)"
        )

    create_outbox_table.__name__ = f"create_{table}"
    return create_outbox_table


class Outbox:
    """The outbox table ``table`` of ``database``: append inside a change, read from anywhere.

    ``lock_key`` names the PostgreSQL advisory lock that orders appends; every
    process must use the same key for the same table (unused on SQLite).
    """

    def __init__(self, database: peewee.Database, table: str, *, lock_key: int) -> None:
        self.database = database
        self.table = _checked_table(table)
        self.channel = self.table
        self.lock_key = lock_key
        self.is_postgres = isinstance(database, peewee.PostgresqlDatabase)
        param = database.param
        self._insert_sql = (
            f"INSERT INTO {table} (seq, event, payload, created_at_ms) "
            f"SELECT COALESCE(MAX(seq), 0) + 1, {param}, {param}, {param} FROM {table} "
            "RETURNING seq"
        )
        if self.is_postgres:  # the NOTIFY in the same round trip
            self._insert_sql = (
                f"WITH appended AS ({self._insert_sql}) "
                "SELECT seq, pg_notify(%s, seq::text) FROM appended"
            )
        self._since_sql = (
            f"SELECT seq, event, payload, created_at_ms FROM {table} "
            f"WHERE seq > {param} ORDER BY seq LIMIT {param}"
        )
        self._latest_sql = f"SELECT MAX(seq) FROM {table}"
        self._oldest_sql = f"SELECT MIN(seq) FROM {table}"
        self._prune_sql = (
            f"DELETE FROM {table} WHERE created_at_ms < {param} "
            f"AND seq < (SELECT MAX(seq) FROM {table})"
        )

    def append(
        self, event_name: str, payload: Mapping[str, Any], *, lock_held: bool = False
    ) -> int:
        """Write an event in the caller's open transaction; returns its ``seq``.

        It becomes visible, in order, when that transaction commits, and never
        if it rolls back. Call it last in the change: on PostgreSQL it holds the
        outbox's lock until the transaction ends. ``lock_held``: the caller's
        transaction already holds the advisory lock ``lock_key`` (the registry's
        writers take it first), so the round trip that takes it is skipped.
        """
        if not self.database.in_transaction():
            raise RuntimeError(f"{self.table}.append must run inside the change's transaction")
        text = json.dumps(dict(payload), sort_keys=True, separators=(",", ":"), default=str)
        now_ms = int(time.time() * 1000)
        params: tuple[Any, ...] = (event_name, text, now_ms)
        if self.is_postgres:
            if not lock_held:
                # A statement of its own: the INSERT's snapshot must come after the lock.
                self.database.execute_sql("SELECT pg_advisory_xact_lock(%s)", (self.lock_key,))
            params += (self.channel,)
        rows = self.database.execute_sql(self._insert_sql, params).fetchall()
        return int(rows[0][0])

    def events_since(self, seq: int, limit: int = 500) -> list[Event]:
        """Up to ``limit`` committed events after ``seq``, in order."""
        rows = self.database.execute_sql(self._since_sql, (seq, limit)).fetchall()
        return [
            Event(int(row[0]), row[1], json.loads(row[2]), int(row[3]), self.table) for row in rows
        ]

    def latest_seq(self) -> int:
        """The ``seq`` of the newest committed event (0 when there is none yet)."""
        row = self.database.execute_sql(self._latest_sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def oldest_seq(self) -> int:
        """The ``seq`` of the oldest event still kept (0 when there is none)."""
        row = self.database.execute_sql(self._oldest_sql).fetchone()
        return int(row[0]) if row and row[0] is not None else 0

    def prune(self, older_than_s: float, *, now_ms: int | None = None) -> int:
        """Delete events older than ``older_than_s`` seconds, keeping the newest; returns how many."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        cutoff = now_ms - int(older_than_s * 1000)
        with self.database.atomic():
            cursor = self.database.execute_sql(self._prune_sql, (cutoff,))
            return int(cursor.rowcount or 0)
