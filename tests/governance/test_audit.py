"""The audit log is complete: every registry change and refusal, policy change, rejected produce
(a flood folded into one entry with its count), and security's entries, in one log."""

from __future__ import annotations

import json
import time
import types
from collections.abc import Callable
from typing import Any

import peewee
import pytest
from flask.testing import FlaskClient

from charter.compose import open_migrated_database
from charter.config import Settings
from charter.db import open_database
from governance.audit import AuditBuffer
from governance.store import MIGRATIONS, GovernanceStore
from tests.broker.test_server_handlers import _batch, _Client, _produce
from tests.governance.stack import Stack

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _record(*fields: str, name: str = "Event") -> str:
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "fields": [{"name": field, "type": "string"} for field in fields],
        }
    )


def _register(client: FlaskClient, subject: str, schema: str, **extra: Any) -> Any:
    body = json.dumps({"schema": schema, **extra})
    return client.post(f"/subjects/{subject}/versions", data=body, headers=CT)


def _entries_until(
    client: FlaskClient, done: Callable[[list[dict[str, Any]]], bool]
) -> list[dict[str, Any]]:
    """The audit log once ``done`` holds (successful changes are audited by a follower)."""
    deadline = time.monotonic() + 15
    while True:
        entries = client.get("/governance/v1/audit?limit=1000").json
        if done(entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def test_every_registry_change_and_refusal_is_audited(client: FlaskClient) -> None:
    assert _register(client, "a-value", _record("id")).status_code == 200
    assert client.put("/config/a-value", json={"compatibility": "FULL"}).status_code == 200
    # incompatible (409) and invalid (422) registrations are refused by the registry itself
    incompatible = _register(client, "a-value", _record("id", "required_new"))
    assert incompatible.status_code == 409
    invalid = _register(client, "a-value", '{"type": "nope"}')
    assert invalid.status_code == 422
    # a policy's denial
    assert client.put("/governance/v1/policies/owner-required", json={"enabled": True}).status_code
    assert _register(client, "b-value", _record("id")).status_code == 422
    client.put("/governance/v1/policies/owner-required", json={"enabled": False})
    assert client.delete("/config/a-value").status_code == 200
    assert client.put("/config", json={"compatibility": "FORWARD"}).status_code == 200
    assert client.delete("/config").status_code == 200
    assert client.put("/mode/a-value", json={"mode": "READONLY"}).status_code == 200
    assert client.delete("/mode/a-value").status_code == 200
    assert client.put("/mode", json={"mode": "READONLY"}).status_code == 200
    assert client.put("/mode", json={"mode": "READWRITE"}).status_code == 200
    # a config change a policy refuses
    client.put("/governance/v1/policies/min-compatibility", json={"enabled": True})
    assert client.put("/config/a-value", json={"compatibility": "NONE"}).status_code == 422
    client.put("/governance/v1/policies/min-compatibility", json={"enabled": False})
    assert client.delete("/subjects/a-value/versions/1").status_code == 200
    assert client.delete("/subjects/a-value/versions/1?permanent=true").status_code == 200
    assert _register(client, "c-value", _record("id")).status_code == 200
    assert client.delete("/subjects/c-value").status_code == 200

    wanted = {
        ("schema.register", "subject:a-value", "success"),
        ("schema.register", "subject:a-value", "rejected"),
        ("schema.register", "subject:b-value", "denied"),
        ("config.change", "subject:a-value", "success"),
        ("config.change", "config:global", "success"),
        ("mode.change", "mode:a-value", "success"),
        ("mode.change", "mode:global", "success"),
        ("config.change", "subject:a-value", "denied"),
        ("policy.change", "policy:min-compatibility", "success"),
        ("schema.delete", "subject:a-value", "success"),
        ("subject.delete", "subject:c-value", "success"),
        ("policy.change", "policy:owner-required", "success"),
    }
    entries = _entries_until(
        client,
        lambda found: (
            wanted <= {(e["action"], e["resource"], e["outcome"]) for e in found}
            and len([e for e in found if e["action"] == "schema.delete"]) == 2
        ),
    )
    assert wanted <= {(e["action"], e["resource"], e["outcome"]) for e in entries}
    assert all(e["actor"] == "User:ANONYMOUS" for e in entries)

    def details(action: str, resource: str, outcome: str = "success") -> list[str]:
        return [
            e["detail"]
            for e in entries
            if (e["action"], e["resource"], e["outcome"]) == (action, resource, outcome)
        ]

    (refused_409, refused_422) = sorted(details("schema.register", "subject:a-value", "rejected"))
    assert refused_409.startswith("error 409: ") and "incompatible" in refused_409.lower()
    assert refused_422.startswith("error 42201: ")
    assert "owner-required" in details("schema.register", "subject:b-value", "denied")[0]
    assert set(details("config.change", "subject:a-value")) == {
        "compatibility FULL",
        "config deleted",
    }
    assert set(details("config.change", "config:global")) == {
        "compatibility FORWARD",
        "config deleted",
    }
    assert set(details("mode.change", "mode:a-value")) == {"mode READONLY", "mode deleted"}
    assert set(details("mode.change", "mode:global")) == {"mode READONLY", "mode READWRITE"}
    assert "min-compatibility" in details("config.change", "subject:a-value", "denied")[0]
    assert set(details("schema.delete", "subject:a-value")) == {
        "version 1 deleted (soft)",
        "version 1 deleted (permanently)",
    }
    assert details("subject.delete", "subject:c-value") == ["versions [1] deleted (soft)"]


def test_a_flood_of_identical_entries_is_one_row_with_its_count(tmp_path: Any) -> None:
    database = open_migrated_database(Settings(data_dir=tmp_path))
    store = GovernanceStore(database)
    buffer = AuditBuffer(store, flush_interval_s=3600)  # flushed by hand below
    try:
        for _ in range(1000):
            buffer.record("User:bob", "produce", "topic:t", "rejected", "no framing")
        buffer.record("User:bob", "produce", "topic:t", "rejected", "unknown id")
        buffer.flush()
    finally:
        buffer.stop()
    rows = store.audit(resource="topic:t")
    assert sorted((row.detail, row.count) for row in rows) == [
        ("no framing", 1000),
        ("unknown id", 1),
    ]
    database.close()


def test_rejected_produces_are_audited_and_a_flood_is_folded(stack: Stack) -> None:
    from charter import compose

    buffer = compose.governance_for(stack.broker.database).buffered_audit
    buffer.flush_interval_s = 3600  # one interval for the whole flood: flushed by hand below
    stack.create_topic("flooded")
    client = _Client(types.SimpleNamespace(port=stack.broker.port))
    try:
        answers = [_produce(client, "flooded", _batch([b"not framed"])) for _ in range(50)]
    finally:
        client.sock.close()
    assert {answer.error_code for answer in answers} == {87}  # INVALID_RECORD
    buffer.flush()
    entries = stack.audit(action="produce", resource="topic:flooded")
    assert [(e["outcome"], e["count"]) for e in entries] == [("rejected", 50)]
    assert entries[0]["actor"] == "User:ANONYMOUS"
    assert "no schema framing" in entries[0]["detail"]


def test_security_rows_of_before_the_join_move_into_the_governance_log(tmp_path: Any) -> None:
    database = open_database(f"sqlite:///{tmp_path / 'old.db'}")
    for migration in MIGRATIONS[:2]:
        migration(database)
    database.execute_sql(
        "CREATE TABLE security_audit (id INTEGER PRIMARY KEY, time_ms BIGINT, actor TEXT, "
        "action TEXT, resource TEXT, outcome TEXT, detail TEXT)"
    )
    database.execute_sql(
        "INSERT INTO security_audit (time_ms, actor, action, resource, outcome, detail) VALUES "
        "(1000, 'User:eve', 'authenticate', 'Address:10.0.0.9', 'denied', 'bad password'), "
        "(2000, 'User:admin', 'user.create', 'User:fred', 'success', '')"
    )
    MIGRATIONS[2](database)
    assert not database.table_exists("security_audit")
    moved = GovernanceStore(database).audit(source="security")
    assert [(e.time_ms, e.actor, e.action, e.outcome) for e in moved] == [
        (2000, "User:admin", "user.create", "success"),
        (1000, "User:eve", "authenticate", "denied"),
    ]
    MIGRATIONS[2](database)  # nothing left to move: a no-op
    database.close()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_audit_filters_by_outcome_and_source(
    backend: str, tmp_path: Any, request: pytest.FixtureRequest
) -> None:
    url = (
        f"sqlite:///{tmp_path / 'a.db'}"
        if backend == "sqlite"
        else request.getfixturevalue("pg_schema_url")
    )
    database: peewee.Database = open_migrated_database(
        Settings(data_dir=tmp_path, database_url=url)
    )
    store = GovernanceStore(database)
    security = AuditBuffer(store, source="security", flush_interval_s=3600)
    other = AuditBuffer(store, flush_interval_s=3600)
    try:
        security.record("User:eve", "authenticate", "Address:x", "denied", "bad password")
        security.record("User:admin", "user.create", "User:fred", "success")
        other.record("User:eve", "topic.create", "topic:x", "denied", "policy topic-naming")
        for topic in ("X_y", "x_y", "xay"):
            other.record("User:eve", "topic.config", f"topic:{topic}", "success", "retention")
        security.flush()
        other.flush()
    finally:
        security.stop()
        other.stop()
    assert {e.action for e in store.audit(source="security")} == {"authenticate", "user.create"}
    assert {e.action for e in store.audit(outcome="denied")} == {"authenticate", "topic.create"}
    assert [e.action for e in store.audit(outcome="denied", source="security")] == ["authenticate"]
    # A resource prefix is literal and case-sensitive on both databases.
    assert [e.resource for e in store.audit(resource="topic:x_*")] == ["topic:x_y"]
    assert {e.resource for e in store.audit(resource="topic:x*")} == {
        "topic:x",
        "topic:x_y",
        "topic:xay",
    }
    database.close()


def test_a_resource_prefix_is_matched_case_sensitively_and_literally(client: Any) -> None:
    for subject in ("Orders-value", "orders-value", "o_ders-value"):
        assert client.put(f"/config/{subject}", json={"compatibility": "FULL"}).status_code == 200
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        entries = client.get("/governance/v1/audit", query_string={"resource": "subject:*"}).json
        if len(entries) >= 3:
            break
        time.sleep(0.05)

    def resources(prefix: str) -> set[str]:
        query = {"resource": prefix, "action": "config.change"}
        return {e["resource"] for e in client.get("/governance/v1/audit", query_string=query).json}

    assert resources("subject:orders*") == {"subject:orders-value"}
    assert resources("subject:O*") == {"subject:Orders-value"}
    assert resources("subject:o_*") == {"subject:o_ders-value"}  # LIKE would match orders too
    assert resources("subject:%*") == set()
    assert resources("subject:Orders-value") == {"subject:Orders-value"}
