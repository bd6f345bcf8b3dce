"""Each built-in registry policy, allow and deny, through the HTTP API; audit entries for each."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from flask.testing import FlaskClient

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}


def _put(client: FlaskClient, name: str, **body: Any) -> Any:
    response = client.put(f"/governance/v1/policies/{name}", json={"enabled": True, **body})
    assert response.status_code == 200, response.json
    return response.json


def _register(client: FlaskClient, subject: str, schema: Any, **extra: Any) -> Any:
    body = {"schema": json.dumps(schema), **extra}
    return client.post(f"/subjects/{subject}/versions", data=json.dumps(body), headers=CT)


def _record(*fields: dict[str, Any], name: str = "Event") -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "com.acme", "fields": list(fields)}


def _audit(client: FlaskClient, outcome: str | None = None, **query: Any) -> list[dict[str, Any]]:
    """The entries matching ``query`` once one has ``outcome`` (the follower writes some)."""
    deadline = time.monotonic() + 10
    while True:
        entries = client.get("/governance/v1/audit", query_string=query).json
        if any(outcome in (None, e["outcome"]) for e in entries) or time.monotonic() > deadline:
            return entries
        time.sleep(0.05)


def _denied(response: Any, policy: str, offending: str) -> str:
    assert response.status_code == 422, response.json
    assert response.json["error_code"] == 42205
    message = response.json["message"]
    assert f"policy {policy}" in message
    assert offending in message
    return message


DOCUMENTED = {"name": "id", "type": "long", "doc": "the id"}


@pytest.mark.parametrize(
    ("policy", "params", "subject", "good", "bad", "offending"),
    [
        (
            "subject-naming",
            {"pattern": r"[a-z]+\.[a-z]+-value"},
            None,
            ("sales.orders-value", _record(DOCUMENTED), {}),
            ("Orders-value", _record(DOCUMENTED), {}),
            "Orders-value",
        ),
        (
            "field-docs-required",
            None,
            "docs-value",
            (None, _record(DOCUMENTED, {"name": "x", "type": "string", "doc": "x"}), {}),
            (None, _record(DOCUMENTED, {"name": "note", "type": "string"}), {}),
            "com.acme.Event.note",
        ),
        (
            "owner-required",
            None,
            "owned-value",
            (None, _record(DOCUMENTED), {"metadata": {"properties": {"owner": "team-a"}}}),
            ("unowned-value", _record(DOCUMENTED), {}),
            "metadata.properties.owner",
        ),
        (
            "pii-fields-tagged",
            {"names": ["email", "ssn"]},
            "people-value",
            (
                None,
                _record(DOCUMENTED, {"name": "email", "type": "string", "confluent:tags": ["PII"]}),
                {},
            ),
            (None, _record(DOCUMENTED, {"name": "ssn", "type": "string"}, name="P2"), {}),
            "com.acme.P2.ssn",
        ),
        (
            "required-fields",
            {"fields": ["event_id", "event_time"]},
            "events-value",
            (
                None,
                _record(
                    {"name": "event_id", "type": "string"}, {"name": "event_time", "type": "long"}
                ),
                {},
            ),
            (None, _record({"name": "event_id", "type": "string"}, name="E2"), {}),
            "event_time",
        ),
    ],
)
def test_registration_policies_allow_and_deny(
    client: FlaskClient,
    policy: str,
    params: dict[str, Any] | None,
    subject: str | None,
    good: tuple[Any, ...],
    bad: tuple[Any, ...],
    offending: str,
) -> None:
    _put(client, policy, **({"params": params} if params is not None else {}))
    good_subject, good_schema, good_extra = good
    bad_subject, bad_schema, bad_extra = bad
    allowed = _register(client, good_subject or subject, good_schema, **good_extra)
    assert allowed.status_code == 200, allowed.json
    denied = _register(client, bad_subject or subject, bad_schema, **bad_extra)
    _denied(denied, policy, offending)

    resource = f"subject:{bad_subject or subject}"
    entries = _audit(client, "denied", action="schema.register", resource=resource)
    outcomes = [entry["outcome"] for entry in entries]
    assert "denied" in outcomes
    assert any(policy in entry["detail"] for entry in entries if entry["outcome"] == "denied")
    ok = _audit(
        client, "success", action="schema.register", resource=f"subject:{good_subject or subject}"
    )
    assert any(entry["outcome"] == "success" for entry in ok)


def test_pii_tags_may_come_from_metadata(client: FlaskClient) -> None:
    _put(client, "pii-fields-tagged", params={"names": ["email"]})
    schema = _record(DOCUMENTED, {"name": "email", "type": "string"})
    metadata = {"tags": {"com.acme.Event.email": ["PII"]}}
    assert _register(client, "m-value", schema, metadata=metadata).status_code == 200


def test_required_fields_skip_key_subjects(client: FlaskClient) -> None:
    _put(client, "required-fields")
    assert _register(client, "orders-key", {"type": "string"}).status_code == 200
    _denied(_register(client, "orders-value", {"type": "string"}), "required-fields", "event_id")


def test_min_compatibility(client: FlaskClient) -> None:
    _put(client, "min-compatibility", params={"level": "FULL"})
    assert (
        client.put("/config/s-value", json={"compatibility": "FULL_TRANSITIVE"}).status_code == 200
    )
    denied = client.put("/config/s-value", json={"compatibility": "BACKWARD"})
    _denied(denied, "min-compatibility", "BACKWARD")
    denied_global = client.put("/config", json={"compatibility": "NONE"})
    _denied(denied_global, "min-compatibility", "NONE")
    entries = _audit(client, "success", action="config.change")
    assert {entry["outcome"] for entry in entries} == {"success", "denied"}


def test_min_compatibility_cannot_be_bypassed_by_deleting_a_config(client: FlaskClient) -> None:
    """Every route that moves a subject's effective level is checked, deletes included."""
    assert client.put("/config", json={"compatibility": "NONE"}).status_code == 200
    assert client.put("/config/held-value", json={"compatibility": "FULL"}).status_code == 200
    _put(client, "min-compatibility", params={"level": "FULL"})
    # The subject would fall back to the global NONE.
    denied = client.delete("/config/held-value")
    message = _denied(denied, "min-compatibility", "held-value")
    assert "fall back to the global compatibility NONE" in message
    held = client.get("/config/held-value", query_string={"defaultToGlobal": "true"})
    assert held.json["compatibilityLevel"] == "FULL"
    # Options only (compatibilityGroup, normalize) do not move the level: allowed.
    changed = client.put("/config/held-value", json={"compatibilityGroup": "major"})
    assert changed.status_code == 200, changed.json
    # The global level is below the floor, but keeping it while editing options is fine.
    assert client.put("/config", json={"normalize": True}).status_code == 200
    # Raising the global level is allowed; then the subject may fall back to it.
    assert client.put("/config", json={"compatibility": "FULL_TRANSITIVE"}).status_code == 200
    assert client.delete("/config/held-value").status_code == 200
    fallen = client.get("/config/held-value", query_string={"defaultToGlobal": "true"})
    assert fallen.json["compatibilityLevel"] == "FULL_TRANSITIVE"
    # Deleting the global config resets it to the default BACKWARD: below FULL.
    message = _denied(client.delete("/config"), "min-compatibility", "BACKWARD")
    assert "the global config" in message
    assert client.get("/config").json["compatibilityLevel"] == "FULL_TRANSITIVE"
    # Setting a weaker level explicitly is refused even when it is the current one.
    _denied(
        client.put("/config/other-value", json={"compatibility": "NONE"}),
        "min-compatibility",
        "NONE",
    )
    entries = _audit(client, "denied", action="config.change")
    denied_entries = [e for e in entries if e["outcome"] == "denied"]
    assert {e["resource"] for e in denied_entries} >= {"subject:held-value", "config:global"}


def test_min_compatibility_allows_a_delete_that_keeps_the_level(client: FlaskClient) -> None:
    assert client.put("/config/same-value", json={"compatibility": "BACKWARD"}).status_code == 200
    _put(client, "min-compatibility", params={"level": "FULL"})
    # Global is the default BACKWARD: the subject's level stays BACKWARD (not lowered).
    assert client.delete("/config/same-value").status_code == 200
    # A subject without a config of its own: Confluent's 40401, not a policy denial.
    assert client.delete("/config/same-value").json["error_code"] == 40401


def test_disabled_policies_do_not_deny(client: FlaskClient) -> None:
    _put(client, "owner-required")
    client.put("/governance/v1/policies/owner-required", json={"enabled": False})
    assert _register(client, "free-value", _record(DOCUMENTED)).status_code == 200


def test_every_registry_change_is_audited(client: FlaskClient) -> None:
    assert _register(client, "a-value", _record(DOCUMENTED)).status_code == 200
    assert client.put("/config/a-value", json={"compatibility": "NONE"}).status_code == 200
    assert client.put("/mode/a-value", json={"mode": "READONLY"}).status_code == 200
    assert client.put("/mode/a-value", json={"mode": "READWRITE"}).status_code == 200
    assert client.delete("/subjects/a-value/versions/1").status_code == 200
    assert client.delete("/subjects/a-value").status_code in (200, 404)
    deadline = time.monotonic() + 10
    wanted = {"schema.register", "config.change", "mode.change", "schema.delete"}
    while time.monotonic() < deadline:
        actions = {e["action"] for e in client.get("/governance/v1/audit").json}
        if wanted <= actions:
            break
        time.sleep(0.05)
    entries = client.get("/governance/v1/audit").json
    assert wanted <= {entry["action"] for entry in entries}
    assert all(entry["actor"] == "User:ANONYMOUS" for entry in entries)
    times = [entry["timeMs"] for entry in entries]
    assert times == sorted(times, reverse=True)  # newest first
