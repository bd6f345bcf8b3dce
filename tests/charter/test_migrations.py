"""Migrations applied by several processes at once: each exactly once, none failing."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

import peewee
import pytest

from charter.app import migrate
from charter.db import open_database

STARTERS = 6


def _migrate_in_process(url: str, barrier: Any, errors: Any) -> None:
    database = open_database(url)
    try:
        barrier.wait(timeout=30)
        migrate(database)
    except BaseException as exc:  # noqa: BLE001 - reported to the test
        errors.put(repr(exc))
    finally:
        database.close()


def _migrate_together(url: str) -> list[str]:
    """Start ``STARTERS`` processes migrating at the same instant; return their errors.

    Processes, not threads: model binding is per process, as in real deployments.
    """
    context = multiprocessing.get_context("fork")
    barrier = context.Barrier(STARTERS)
    errors = context.Queue()
    processes = [
        context.Process(target=_migrate_in_process, args=(url, barrier, errors))
        for _ in range(STARTERS)
    ]
    for process in processes:
        process.start()
    for process in processes:
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
    found = []
    while not errors.empty():
        found.append(errors.get())
    assert [process.exitcode for process in processes] == [0] * STARTERS, found
    return found


def _applied(url: str) -> list[tuple[str, int]]:
    database = open_database(url)
    try:
        cursor = database.execute_sql(
            "SELECT package, version FROM charter_migrations ORDER BY package, version"
        )
        return [tuple(row) for row in cursor.fetchall()]
    finally:
        database.close()


def _expected() -> list[tuple[str, int]]:
    from broker.groups import store as groups_store
    from broker.topics import log_end as log_end_store
    from broker.topics import store as broker_store
    from catalog import migrations as catalog_migrations
    from governance import store as governance_store
    from governance.security import sessions as sessions_store
    from governance.security import store as security_store
    from registry import store as registry_store
    from registry.deks import store as dek_store

    stores = (
        broker_store,
        groups_store,
        log_end_store,
        registry_store,
        dek_store,
        governance_store,
        security_store,
        sessions_store,
        catalog_migrations,
    )
    return sorted(
        (getattr(store, "MIGRATION_KEY", store.__name__.split(".")[0]), version)
        for store in stores
        for version in range(1, len(store.MIGRATIONS) + 1)
    )


@pytest.mark.postgres
def test_concurrent_migrations_on_a_fresh_postgres_database(fresh_postgres_url: str) -> None:
    assert _migrate_together(fresh_postgres_url) == []
    assert _applied(fresh_postgres_url) == _expected()


def test_concurrent_migrations_on_a_fresh_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'charter.db'}"
    assert _migrate_together(url) == []
    assert _applied(url) == _expected()


def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'charter.db'}"
    database = open_database(url)
    migrate(database)
    migrate(database)
    assert _applied(url) == _expected()
    assert isinstance(database, peewee.SqliteDatabase)
