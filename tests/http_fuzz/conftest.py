"""A PostgreSQL schema shared by a module's fuzz tests (the app is seeded once per module)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest

from tests.conftest import PG_URL, _postgres_reachable


@pytest.fixture(scope="module")
def pg_module_url() -> Iterator[str]:
    """A URL whose connections use a fresh, private schema, dropped after the module."""
    if not _postgres_reachable():
        if os.environ.get("CHARTER_REQUIRE_PG") == "1":
            pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (CHARTER_REQUIRE_PG=1)")
        pytest.skip("PostgreSQL at 127.0.0.1:5432 is not reachable")
    import psycopg

    schema_name = f"fuzz_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_URL, autocommit=True) as admin:
        admin.execute(f'CREATE SCHEMA "{schema_name}"')
    separator = "&" if "?" in PG_URL else "?"
    try:
        yield f"{PG_URL}{separator}options={quote(f'-csearch_path={schema_name}')}"
    finally:
        with psycopg.connect(PG_URL, autocommit=True) as admin:
            admin.execute(f'DROP SCHEMA IF EXISTS "{schema_name}" CASCADE')
