"""How the HTTP app holds database connections across requests.

Each thread keeps the connection it opened on first use; routes that never
touch the database open none; a PostgreSQL connection that broke (here: its
backend terminated, as a server restart would) is dropped after the failing
request, so the next request reconnects instead of failing forever.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from flask import Flask

from charter.app import create_app
from charter.config import Settings


@pytest.fixture
def pg_app(tmp_path: Path, pg_schema_url: str) -> Iterator[Flask]:
    application = create_app(Settings(data_dir=tmp_path, database_url=pg_schema_url))
    yield application
    application.extensions["charter.events"].stop()
    database = application.extensions["charter.database"]
    if not database.is_closed():
        database.close()


def test_a_route_without_database_work_opens_no_connection(app: Flask) -> None:
    database = app.extensions["charter.database"]
    database.close()
    assert app.test_client().get("/no-such-route").status_code == 404
    assert database.is_closed()


def test_the_sqlite_connection_is_kept_between_requests(app: Flask) -> None:
    database = app.extensions["charter.database"]
    client = app.test_client()
    assert client.get("/subjects").status_code == 200
    first = database.connection()
    assert client.get("/subjects").status_code == 200
    assert database.connection() is first


@pytest.mark.postgres
def test_a_broken_postgres_connection_is_replaced(pg_app: Flask, pg_database_url: str) -> None:
    database = pg_app.extensions["charter.database"]
    client = pg_app.test_client()
    assert client.get("/subjects").status_code == 200
    kept = database.connection()
    assert client.get("/subjects").status_code == 200
    assert database.connection() is kept  # one connection across requests, not one each

    with psycopg.connect(pg_database_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (kept.info.backend_pid,))
    failed = client.get("/subjects")
    assert failed.status_code == 500
    assert failed.get_json()["error_code"] == 50001
    assert client.get("/subjects").status_code == 200
    assert database.connection() is not kept
