"""Two ``charter serve http`` processes over one PostgreSQL database, registering at once.

This is the scale-out promise of the HTTP tier: stateless servers sharing
PostgreSQL must agree on ids and versions exactly as one server would. Threads
register a fixed set of distinct schemas (each sent in two different JSON
layouts, which are the same schema) into shared and private subjects through
both servers concurrently; afterwards every distinct schema has exactly one id
everywhere, distinct schemas have distinct ids, and every subject's versions
are 1..n with one version per distinct schema, no gaps and no duplicates.
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

from tests.registry.server_process import ServerProcess, running_servers

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
DISTINCT_SCHEMAS = 10
THREADS = 8
REQUESTS_PER_THREAD = 30
SHARED_SUBJECTS = ["shared-one", "shared two/with slash"]


def schema_document(index: int) -> dict:
    return {
        "type": "record",
        "name": f"Event{index}",
        "namespace": "com.example.concurrency",
        "fields": [{"name": "id", "type": "long"}, {"name": f"field{index}", "type": "string"}],
    }


def schema_text(index: int, layout: int) -> str:
    """The same schema in two layouts (compact and indented): one schema, one id."""
    document = schema_document(index)
    return json.dumps(document) if layout == 0 else json.dumps(document, indent=2)


@pytest.fixture
def two_servers(tmp_path: Path, fresh_postgres_url: str) -> Iterator[list[ServerProcess]]:
    """Both servers start at the same time, so their migrations race too."""
    with running_servers(tmp_path, database_url=fresh_postgres_url) as servers:
        yield list(servers)


def test_concurrent_registration_through_two_servers(two_servers: list[ServerProcess]) -> None:
    first, second = two_servers
    setup = requests.put(
        f"{first.url}/config",
        json={"compatibility": "NONE"},
        headers={"Content-Type": CONTENT_TYPE},
    )
    assert setup.status_code == 200, setup.text

    # (subject, schema index) -> ids answered; failures collected, not raised in threads.
    answered: dict[tuple[str, int], set[int]] = defaultdict(set)
    failures: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(THREADS)

    def worker(number: int) -> None:
        chooser = random.Random(number)
        own_subject = f"private-{number}"
        with requests.Session() as session:
            start.wait()
            for request_number in range(REQUESTS_PER_THREAD):
                server = two_servers[(number + request_number) % 2]
                subject = chooser.choice([*SHARED_SUBJECTS, own_subject])
                index = chooser.randrange(DISTINCT_SCHEMAS)
                body = {"schema": schema_text(index, chooser.randrange(2))}
                response = session.post(
                    f"{server.url}/subjects/{quote(subject, safe='')}/versions",
                    data=json.dumps(body),
                    headers={"Content-Type": CONTENT_TYPE},
                    timeout=60,
                )
                with lock:
                    if response.status_code != 200:
                        failures.append(
                            f"{subject} #{index}: {response.status_code} {response.text}"
                        )
                    else:
                        answered[(subject, index)].add(response.json()["id"])

    threads = [threading.Thread(target=worker, args=(number,)) for number in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    assert failures == []

    # One id per distinct schema, whatever the subject, layout or server.
    ids_by_schema: dict[int, set[int]] = defaultdict(set)
    for (_subject, index), ids in answered.items():
        ids_by_schema[index] |= ids
    assert all(len(ids) == 1 for ids in ids_by_schema.values()), ids_by_schema
    schema_id = {index: next(iter(ids)) for index, ids in ids_by_schema.items()}
    assert len(set(schema_id.values())) == len(schema_id), "distinct schemas must get distinct ids"

    registered_subjects: dict[str, set[int]] = defaultdict(set)
    for subject, index in answered:
        registered_subjects[subject].add(index)

    listed = requests.get(f"{second.url}/subjects", timeout=30).json()
    assert sorted(listed) == sorted(registered_subjects)

    for subject, indexes in registered_subjects.items():
        quoted = quote(subject, safe="")
        for server in two_servers:
            versions = requests.get(f"{server.url}/subjects/{quoted}/versions", timeout=30).json()
            assert versions == list(range(1, len(indexes) + 1)), (subject, versions)
        seen_ids = []
        for version in range(1, len(indexes) + 1):
            detail = requests.get(
                f"{first.url}/subjects/{quoted}/versions/{version}", timeout=30
            ).json()
            seen_ids.append(detail["id"])
        assert sorted(seen_ids) == sorted(schema_id[index] for index in indexes), subject

    for index, one_id in schema_id.items():
        bodies = [
            requests.get(f"{server.url}/schemas/ids/{one_id}", timeout=30).json()
            for server in two_servers
        ]
        assert bodies[0] == bodies[1]
        assert json.loads(bodies[0]["schema"]) == schema_document(index)
