"""Concurrent writers through ``charter up`` (two HTTP workers plus the broker), SQLite and PostgreSQL.

Eight clients mix registrations, config and mode changes, soft and permanent
deletes and reads. Writers must queue for the registry's write lock, never fail:
no answer may be a 5xx, and afterwards every distinct schema has one id, ids
are dense, and each subject's versions are 1..n with one version per schema.
"""

from __future__ import annotations

import json
import random
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import requests

from tests.charter.processes import CharterProcess, running_up

pytestmark = pytest.mark.slow

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
HEADERS = {"Content-Type": CONTENT_TYPE}
CLIENTS = 8
OPERATIONS_PER_CLIENT = 40
DISTINCT_SCHEMAS = 12
SHARED_SUBJECTS = ("orders-value", "payments value/with slash")


def schema_text(index: int) -> str:
    return json.dumps(
        {
            "type": "record",
            "name": f"Event{index}",
            "namespace": "com.example.writers",
            "fields": [{"name": "id", "type": "long"}, {"name": f"f{index}", "type": "string"}],
        }
    )


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def charter_up(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[CharterProcess]:
    extra: tuple[str, ...] = ("--http-workers", "2")
    if request.param == "postgresql":
        extra += ("--database-url", request.getfixturevalue("fresh_postgres_url"))
    with running_up(tmp_path / "data", extra_args=extra) as charter:
        yield charter


def test_mixed_concurrent_writers_never_fail(charter_up: CharterProcess) -> None:
    base = charter_up.url
    assert requests.put(f"{base}/config", json={"compatibility": "NONE"}, timeout=30).ok

    registered: dict[tuple[str, int], set[int]] = defaultdict(set)
    server_errors: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(CLIENTS)

    def client(number: int) -> None:
        chooser = random.Random(number)
        scratch = f"scratch-{number}"
        with requests.Session() as session:
            session.headers.update(HEADERS)
            start.wait()
            for _ in range(OPERATIONS_PER_CLIENT):
                action = chooser.choice(["register"] * 4 + ["config", "mode", "delete", "read"])
                index = chooser.randrange(DISTINCT_SCHEMAS)
                if action == "register":
                    subject = chooser.choice(SHARED_SUBJECTS)
                    url = f"{base}/subjects/{quote(subject, safe='')}/versions"
                    response = session.post(url, json={"schema": schema_text(index)}, timeout=60)
                    if response.status_code == 200:
                        with lock:
                            registered[(subject, index)].add(response.json()["id"])
                elif action == "config":
                    # Normalizing would change what the shared subjects store: scratch only.
                    subject = chooser.choice([scratch, *SHARED_SUBJECTS])
                    body = {"compatibility": "NONE"}
                    if subject == scratch:
                        body["normalize"] = chooser.random() < 0.5
                    url = f"{base}/config/{quote(subject, safe='')}"
                    response = session.put(url, json=body, timeout=60)
                elif action == "mode":
                    mode = chooser.choice(["READWRITE", "READONLY"])
                    response = session.put(
                        f"{base}/mode/{scratch}", json={"mode": mode}, timeout=60
                    )
                    if response.ok and mode == "READONLY":
                        response = session.put(
                            f"{base}/mode/{scratch}", json={"mode": "READWRITE"}, timeout=60
                        )
                elif action == "delete":
                    session.post(
                        f"{base}/subjects/{scratch}/versions",
                        json={"schema": schema_text(index)},
                        timeout=60,
                    )
                    response = session.delete(f"{base}/subjects/{scratch}", timeout=60)
                    if response.ok:
                        response = session.delete(
                            f"{base}/subjects/{scratch}?permanent=true", timeout=60
                        )
                else:
                    response = session.get(f"{base}/subjects", timeout=60)
                if response.status_code >= 500:
                    with lock:
                        server_errors.append(f"{action}: {response.status_code} {response.text}")

    threads = [threading.Thread(target=client, args=(number,)) for number in range(CLIENTS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=240)
    assert not any(thread.is_alive() for thread in threads)
    assert server_errors == []

    ids_by_schema: dict[int, set[int]] = defaultdict(set)
    for (_subject, index), ids in registered.items():
        ids_by_schema[index] |= ids
    assert all(len(ids) == 1 for ids in ids_by_schema.values()), ids_by_schema
    assert len({next(iter(ids)) for ids in ids_by_schema.values()}) == len(ids_by_schema)

    for subject in SHARED_SUBJECTS:
        wanted = {index for (name, index) in registered if name == subject}
        quoted = quote(subject, safe="")
        versions = requests.get(f"{base}/subjects/{quoted}/versions", timeout=30).json()
        assert versions == list(range(1, len(wanted) + 1)), (subject, versions)
        seen = {
            requests.get(f"{base}/subjects/{quoted}/versions/{version}", timeout=30).json()["id"]
            for version in versions
        }
        assert seen == {next(iter(ids_by_schema[index])) for index in wanted}
