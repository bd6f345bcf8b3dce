"""Cross-process: a schema registered through one server is found by searching another."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from tests.catalog.conftest import ORDER
from tests.registry.server_process import running_server, running_servers

pytestmark = pytest.mark.slow


def _found_within(url: str, query: str, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        body = requests.get(f"{url}/catalog/v1/search", params={"q": query}, timeout=10).json()
        if body["total"]:
            return True
        time.sleep(0.02)
    return False


def _register(url: str) -> None:
    response = requests.post(
        f"{url}/subjects/orders-value/versions",
        json={"schema": json.dumps(ORDER)},
        headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
        timeout=10,
    )
    assert response.status_code == 200, response.text


def test_workers_over_sqlite_index_what_any_of_them_registered(tmp_path: Path) -> None:
    with running_server(tmp_path, http_workers=2) as server:
        _register(server.url)
        assert _found_within(server.url, "customerEmail", 10), server.output


@pytest.mark.postgres
def test_servers_over_postgres_share_the_catalog(tmp_path: Path, pg_schema_url: str) -> None:
    with running_servers(tmp_path, database_url=pg_schema_url, http_workers=1) as (a, b):
        _register(a.url)
        assert _found_within(b.url, "customerEmail", 10), a.output + b.output
        assert requests.delete(f"{a.url}/subjects/orders-value", timeout=10).status_code == 200
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and _found_within(b.url, "customerEmail", 0.05):
            time.sleep(0.02)
        assert not _found_within(b.url, "customerEmail", 0.05)
