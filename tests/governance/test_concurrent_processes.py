"""Policies and the audit log with several processes at once, on SQLite and PostgreSQL.

``charter serve http`` with two workers takes policy changes and refused registrations
from several threads while ``charter serve broker`` refuses a stream of produces: nothing is
lost (every change and every refusal has its entry; a flood is folded with its count), the
audit entries, the governance outbox and the stored settings agree on one order, and every
process ends up enforcing the last settings.
"""

from __future__ import annotations

import threading
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from charter.db import open_database
from governance.store import governance_outbox
from tests.broker.test_server_handlers import _batch, _Client, _produce
from tests.charter.processes import running_broker
from tests.registry.server_process import running_server

pytestmark = pytest.mark.slow

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
THREADS, CHANGES, PRODUCES, REGISTRATIONS = 4, 8, 30, 8
FINAL_MAX_BYTES = 5000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'charter.db'}"
    return str(request.getfixturevalue("fresh_postgres_url"))


def _eventually(check: Callable[[], Any], what: str, timeout: float = 60) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = check()
        if found:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"not within {timeout}s: {what}")
        time.sleep(0.1)


def _audit(url: str, **query: Any) -> list[dict[str, Any]]:
    answer = requests.get(f"{url}/governance/v1/audit", params={"limit": 1000, **query}, timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def _produce_raw(port: int, topic: str, values: list[bytes]) -> list[int]:
    client = _Client(types.SimpleNamespace(port=port))
    try:
        return [int(_produce(client, topic, _batch([value])).error_code) for value in values]
    finally:
        client.sock.close()


def _create_topic(port: int, name: str, **configs: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": f"127.0.0.1:{port}"})
    admin.create_topics([NewTopic(name, 1, 1, config=configs)])[name].result(30)


def test_policy_changes_and_audit_from_several_processes_lose_nothing(
    tmp_path: Path, database_url: str
) -> None:
    with (
        running_server(tmp_path / "http", database_url=database_url, http_workers=2) as http,
        running_broker(
            tmp_path / "broker",
            extra_args=("--database-url", database_url),
            environment={"CHARTER_VALUE_SCHEMA_VALIDATION": "full"},
        ) as broker,
    ):
        port = broker.kafka_port
        _create_topic(port, "gated")
        _create_topic(port, "open", **{"charter.value.schema.validation": "none"})
        failures: list[BaseException] = []
        produced: list[int] = []

        def change_policies(thread: int) -> None:
            for change in range(CHANGES):
                answer = requests.put(
                    f"{http.url}/governance/v1/policies/max-record-bytes",
                    json={
                        "enabled": True,
                        "params": {"max_bytes": 100_000 + thread * 100 + change},
                    },
                    timeout=60,
                )
                assert answer.status_code == 200, answer.text

        def refuse_registrations() -> None:
            for number in range(REGISTRATIONS):
                answer = requests.post(
                    f"{http.url}/subjects/bad-{number}-value/versions",
                    json={"schema": '{"type": "nope"}'},
                    headers=CT,
                    timeout=60,
                )
                assert answer.status_code == 422, answer.text

        def refuse_produces() -> None:
            produced.extend(_produce_raw(port, "gated", [b"not framed"] * PRODUCES))

        def run(target: Callable[..., None], *args: Any) -> threading.Thread:
            def guarded() -> None:
                try:
                    target(*args)
                except BaseException as exc:  # reported by the test below
                    failures.append(exc)

            thread = threading.Thread(target=guarded)
            thread.start()
            return thread

        threads = [run(change_policies, n) for n in range(THREADS)]
        threads += [run(refuse_registrations), run(refuse_produces)]
        for thread in threads:
            thread.join(timeout=300)
        assert not failures, failures
        assert produced == [87] * PRODUCES  # INVALID_RECORD

        # one last change: every process must end up enforcing it
        final = {"enabled": True, "params": {"max_bytes": FINAL_MAX_BYTES}}
        assert requests.put(
            f"{http.url}/governance/v1/policies/max-record-bytes", json=final, timeout=60
        ).ok
        _eventually(
            lambda: _produce_raw(port, "open", [b"x" * (FINAL_MAX_BYTES + 1)]) == [87],
            "the broker enforces the last settings",
        )
        assert _produce_raw(port, "open", [b"x" * FINAL_MAX_BYTES]) == [0]
        for _ in range(10):  # whichever worker answers
            shown = _eventually(
                lambda: (
                    requests.get(
                        f"{http.url}/governance/v1/policies/max-record-bytes", timeout=30
                    ).json()["params"]
                    == {"max_bytes": FINAL_MAX_BYTES}
                ),
                "every HTTP worker shows the last settings",
            )
            assert shown

        # nothing lost
        changes = _audit(http.url, action="policy.change", resource="policy:max-record-bytes")
        expected = {100_000 + t * 100 + c for t in range(THREADS) for c in range(CHANGES)}
        shown_values = [
            int(entry["detail"].split('"max_bytes": ')[1].split("}")[0]) for entry in changes
        ]
        assert sorted(shown_values) == sorted([*expected, FINAL_MAX_BYTES])
        registrations = _audit(http.url, action="schema.register", outcome="rejected")
        assert sorted(e["resource"] for e in registrations) == sorted(
            f"subject:bad-{n}-value" for n in range(REGISTRATIONS)
        )
        assert all(e["detail"].startswith("error 42201: ") for e in registrations)
        refused = _eventually(
            lambda: (
                (entries := _audit(http.url, action="produce", resource="topic:gated"))
                and sum(e["count"] for e in entries) == PRODUCES
                and entries
            ),
            "every refused produce is counted",
        )
        assert len(refused) <= PRODUCES  # folded, never more rows than refusals

        # one order: the audit entries (oldest first), the outbox events and the stored row
        database = open_database(database_url)
        try:
            events = [
                event
                for event in governance_outbox(database).events_since(0, limit=10_000)
                if event.name == "policy_changed" and event.payload["name"] == "max-record-bytes"
            ]
        finally:
            database.close()
        assert len(events) == THREADS * CHANGES + 1
        outbox_order = [event.payload["params"]["max_bytes"] for event in events]
        assert list(reversed(shown_values)) == outbox_order
        assert outbox_order[-1] == FINAL_MAX_BYTES
        times = [entry["timeMs"] for entry in changes]
        assert times == sorted(times, reverse=True)
