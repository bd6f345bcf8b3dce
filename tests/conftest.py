"""Shared fixtures: a fresh app and test client per test, and the test PostgreSQL URL."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings

PG_URL = os.environ.get("CHARTER_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    """The whole HTTP app over a temporary SQLite database."""
    application = create_app(Settings(data_dir=tmp_path))
    yield application
    application.extensions["charter.events"].stop()
    database = application.extensions["charter.database"]
    if not database.is_closed():
        database.close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def _postgres_reachable(host: str = "127.0.0.1", port: int = 5432) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_database_url() -> str:
    """The test PostgreSQL URL; skips when unreachable unless ``CHARTER_REQUIRE_PG=1``."""
    if not _postgres_reachable():
        if os.environ.get("CHARTER_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (CHARTER_REQUIRE_PG=1)")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    return PG_URL


@pytest.fixture
def pg_schema_url(pg_database_url: str) -> Iterator[str]:
    """A URL whose connections use a fresh, private PostgreSQL schema, dropped afterwards."""
    import psycopg

    schema_name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_database_url, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema_name}"')
    options = quote(f"-csearch_path={schema_name}")
    separator = "&" if "?" in pg_database_url else "?"
    try:
        yield f"{pg_database_url}{separator}options={options}"
    finally:
        with psycopg.connect(pg_database_url, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')


@pytest.fixture
def fresh_postgres_url(pg_database_url: str) -> Iterator[str]:
    """A newly created, empty database on the test PostgreSQL server, dropped afterwards."""
    import psycopg

    name = f"charter_test_{uuid.uuid4().hex[:10]}"
    parts = urlsplit(pg_database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
