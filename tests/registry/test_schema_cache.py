"""The per-process cache behind ``GET /schemas/ids/{id}`` and its invalidation.

Ids are immutable, but a permanent delete makes an id answer 40403, and that
delete may be made by another app, process or host over the same database. The
app that made it answers 40403 at once; every other reader does within its
outbox follower's latency (``charter.events``), so those tests poll with a
deadline. Covered here with the cache alone, with two apps over one SQLite file
in this process, and with two ``charter serve http`` processes (two workers
each) over one SQLite file and, marked ``postgres``, over one PostgreSQL
database.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings
from registry.store import Store
from registry.store.schema_cache import SchemaCache
from tests.registry.server_process import ServerProcess, running_servers

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
# Compact, as the registry stores and answers it.
SCHEMA = '{"type":"record","name":"Cached","fields":[{"name":"id","type":"long"}]}'
DEADLINE_S = 20.0  # generous: the follower polls every 20 ms, but CI machines stall


def eventually(check: Callable[[], bool], what: str, timeout: float = DEADLINE_S) -> None:
    """Poll ``check`` until it holds; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}")
        time.sleep(0.01)


# -- the cache on its own ------------------------------------------------------------------


class Loads:
    """A loader over a dict that counts its calls."""

    def __init__(self, rows: dict[int, str]) -> None:
        self.rows = rows
        self.calls = 0

    def load(self, schema_id: int) -> str | None:
        self.calls += 1
        return self.rows.get(schema_id)


def make_cache(rows: dict[int, str], max_entries: int = 10) -> tuple[SchemaCache[str], Loads]:
    return SchemaCache(max_entries), Loads(rows)


def test_a_found_schema_is_loaded_once_until_invalidated() -> None:
    cache, loads = make_cache({1: "one"})
    assert [cache.found(1, loads.load) for _ in range(3)] == ["one"] * 3
    assert loads.calls == 1


def test_invalidate_forgets_which_ids_are_found() -> None:
    cache, loads = make_cache({1: "one"})
    cache.found(1, loads.load)
    del loads.rows[1]
    cache.invalidate()
    assert cache.found(1, loads.load) is None
    assert loads.calls == 2


def test_unknown_ids_are_never_cached() -> None:
    cache, loads = make_cache({})
    assert cache.found(7, loads.load) is None
    loads.rows[7] = "seven"  # registered since: found without any invalidation
    assert cache.found(7, loads.load) == "seven"


def test_an_invalidation_while_the_row_is_read_leaves_nothing_stale() -> None:
    cache, loads = make_cache({1: "one"})

    def load_then_delete(schema_id: int) -> str | None:
        found = loads.load(schema_id)
        del loads.rows[1]  # deleted by someone else right after our read, and announced
        cache.invalidate()
        return found

    assert cache.found(1, load_then_delete) == "one"  # concurrent with the delete: either is fine
    assert cache.found(1, loads.load) is None


def test_the_cache_is_bounded() -> None:
    cache, loads = make_cache({number: str(number) for number in range(1, 6)}, max_entries=3)
    for number in range(1, 6):
        cache.found(number, loads.load)
    assert len(cache) == 3
    assert cache.found(1, loads.load) == "1"  # the oldest went: read again
    assert loads.calls == 6


def test_rows_outlive_an_invalidation_but_are_filed_only_when_committed() -> None:
    cache, loads = make_cache({1: "one", 2: "two"})
    assert cache.row(1, loads.load, file=True) == "one"
    cache.invalidate()
    assert cache.row(1, loads.load, file=True) == "one"  # rows never change
    assert loads.calls == 1
    assert cache.row(2, loads.load, file=False) == "two"  # read inside a transaction
    assert cache.row(2, loads.load, file=False) == "two"
    assert loads.calls == 3


def test_a_row_read_first_still_needs_a_found_check() -> None:
    cache, loads = make_cache({1: "one"})
    cache.row(1, loads.load, file=True)
    found_checks = Loads({})  # every version using it was purged
    assert cache.found(1, found_checks.load) is None
    assert found_checks.calls == 1


# -- two apps over one SQLite file (as two processes would be) ----------------------------


def register(client: FlaskClient, subject: str, schema: str = SCHEMA) -> int:
    response = client.post(
        f"/subjects/{subject}/versions",
        data=json.dumps({"schema": schema}),
        content_type=CONTENT_TYPE,
    )
    assert response.status_code == 200, response.get_data(as_text=True)
    return int(response.get_json()["id"])


@pytest.fixture
def two_clients(tmp_path: Path) -> Iterator[tuple[FlaskClient, FlaskClient]]:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    apps = [create_app(Settings(data_dir=tmp_path / name, database_url=url)) for name in ("a", "b")]
    yield apps[0].test_client(), apps[1].test_client()
    for app in apps:
        app.extensions["charter.events"].stop()
        database = app.extensions["charter.database"]
        if not database.is_closed():
            database.close()


def answers(client: FlaskClient, schema_id: int) -> int:
    return client.get(f"/schemas/ids/{schema_id}").status_code


def test_permanent_version_delete_in_one_app_is_seen_by_the_other(
    two_clients: tuple[FlaskClient, FlaskClient],
) -> None:
    writer, reader = two_clients
    schema_id = register(writer, "orders-value")
    for _ in range(3):  # the reader now holds the schema in its cache
        assert answers(reader, schema_id) == 200
    assert writer.delete("/subjects/orders-value/versions/1").status_code == 200
    assert answers(reader, schema_id) == 200  # soft delete: still found
    assert writer.delete("/subjects/orders-value/versions/1?permanent=true").status_code == 200
    assert answers(writer, schema_id) == 404  # the deleting app: at once
    eventually(lambda: answers(reader, schema_id) == 404, "the reader answers 404")
    gone = reader.get(f"/schemas/ids/{schema_id}")
    assert gone.get_json() == {"error_code": 40403, "message": f"Schema {schema_id} not found"}

    # The same schema registered again gets its old id back, and the reader finds it again.
    assert register(writer, "orders-value") == schema_id
    assert reader.get(f"/schemas/ids/{schema_id}").get_json()["schema"] == SCHEMA


def test_permanent_subject_delete_in_one_app_is_seen_by_the_other(
    two_clients: tuple[FlaskClient, FlaskClient],
) -> None:
    writer, reader = two_clients
    schema_id = register(writer, "payments-value")
    assert answers(reader, schema_id) == 200
    assert writer.delete("/subjects/payments-value").status_code == 200
    assert writer.delete("/subjects/payments-value?permanent=true").status_code == 200
    assert answers(writer, schema_id) == 404
    eventually(lambda: answers(reader, schema_id) == 404, "the reader answers 404")
    assert reader.get(f"/schemas/ids/{schema_id}").get_json()["error_code"] == 40403


def test_a_schema_still_used_by_another_subject_stays_found(
    two_clients: tuple[FlaskClient, FlaskClient],
) -> None:
    writer, reader = two_clients
    schema_id = register(writer, "first-value")
    assert register(writer, "second-value") == schema_id
    assert reader.get(f"/schemas/ids/{schema_id}").status_code == 200
    writer.delete("/subjects/first-value")
    assert writer.delete("/subjects/first-value?permanent=true").status_code == 200
    assert reader.get(f"/schemas/ids/{schema_id}").get_json()["schema"] == SCHEMA


def test_every_permanent_delete_is_announced_as_one(app: Flask) -> None:
    client = app.test_client()
    store: Store = app.extensions["charter.registry"].store
    register(client, "audit-value")
    client.delete("/subjects/audit-value/versions/1")
    client.delete("/subjects/audit-value/versions/1?permanent=true")
    deletes = [event for event in store.outbox.events_since(0) if event.name == "version_deleted"]
    assert [event.payload["permanent"] for event in deletes] == [False, True]


# -- two server processes over one database ------------------------------------------------


def check_delete_seen_across_processes(writer: ServerProcess, reader: ServerProcess) -> None:
    headers = {"Content-Type": CONTENT_TYPE}
    subject = f"cross-{uuid.uuid4().hex[:8]}-value"
    registered = requests.post(
        f"{writer.url}/subjects/{subject}/versions",
        data=json.dumps({"schema": SCHEMA}),
        headers=headers,
        timeout=30,
    )
    assert registered.status_code == 200, registered.text
    schema_id = registered.json()["id"]
    by_id = f"{reader.url}/schemas/ids/{schema_id}"

    def fresh_get() -> requests.Response:
        return requests.get(by_id, headers={"Connection": "close"}, timeout=30)

    # New connections spread over both workers of the reader, so each caches the schema.
    assert {fresh_get().status_code for _ in range(12)} == {200}
    assert requests.delete(f"{writer.url}/subjects/{subject}", timeout=30).status_code == 200
    purge = requests.delete(f"{writer.url}/subjects/{subject}?permanent=true", timeout=30)
    assert purge.status_code == 200, purge.text

    def every_worker_answers_404() -> bool:
        # New connections spread over both workers: twelve 404s in a row cover both.
        return all(fresh_get().status_code == 404 for _ in range(12))

    eventually(every_worker_answers_404, "every reader worker answers 404")
    assert fresh_get().json()["error_code"] == 40403


@pytest.mark.slow
def test_two_servers_over_one_sqlite_file(tmp_path: Path) -> None:
    with running_servers(tmp_path, database_url=f"sqlite:///{tmp_path / 'shared.db'}") as (
        writer,
        reader,
    ):
        check_delete_seen_across_processes(writer, reader)


@pytest.mark.postgres
@pytest.mark.slow
def test_two_servers_over_one_postgres_database(tmp_path: Path, fresh_postgres_url: str) -> None:
    with running_servers(tmp_path, database_url=fresh_postgres_url) as (writer, reader):
        check_delete_seen_across_processes(writer, reader)
