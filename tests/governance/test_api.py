"""The governance API: listing, params validation, errors, the audit query; persistence."""

from __future__ import annotations

from pathlib import Path

from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings
from governance.policies import BUILTIN_POLICIES

BUILTIN_NAMES = [
    "subject-naming",
    "field-docs-required",
    "owner-required",
    "pii-fields-tagged",
    "topic-naming",
    "min-compatibility",
    "max-record-bytes",
    "retention-limits",
    "required-fields",
    "consume-access",
]


def test_lists_every_builtin_disabled_with_defaults(client: FlaskClient) -> None:
    policies = client.get("/governance/v1/policies").json
    assert [p["name"] for p in policies] == BUILTIN_NAMES
    assert [p.name for p in BUILTIN_POLICIES] == BUILTIN_NAMES
    assert all(p["enabled"] is False and p["description"] for p in policies)
    naming = client.get("/governance/v1/policies/topic-naming").json
    assert naming["params"] == {"pattern": "[a-z0-9][a-z0-9._-]*"}
    assert naming["paramTypes"][0]["type"] == "regex"
    assert naming["hooks"] == ["topic_create"]


def test_put_validates_params(client: FlaskClient) -> None:
    cases = [
        ("retention-limits", {"max_retention_ms": "soon"}, "must be an integer"),
        ("retention-limits", {"max_retention_ms": 10**30}, "at most 9223372036854775807"),
        ("min-compatibility", {"level": "SOMETIMES"}, "must be one of"),
        ("subject-naming", {"pattern": "(unclosed"}, "not a valid regular expression"),
        ("required-fields", {"fields": "event_id"}, "list of non-empty strings"),
        ("max-record-bytes", {"max_bytes": 0}, "at least 1"),
        ("max-record-bytes", {"max_bytes": 2**31}, "at most 2147483647"),
        ("owner-required", {"who": "x"}, "unknown param"),
    ]
    for name, params, reason in cases:
        response = client.put(
            f"/governance/v1/policies/{name}", json={"enabled": True, "params": params}
        )
        assert response.status_code == 422, (name, response.json)
        assert response.json["error_code"] == 42250
        assert reason in response.json["message"], response.json
        assert client.get(f"/governance/v1/policies/{name}").json["enabled"] is False
    assert (
        client.put("/governance/v1/policies/owner-required", json={"enabled": "yes"}).status_code
        == 422
    )
    assert client.put("/governance/v1/policies/owner-required", data="nope").status_code == 422
    missing = client.put("/governance/v1/policies/no-such-policy", json={"enabled": True})
    assert missing.status_code == 404
    assert missing.json["error_code"] == 40410


def test_policy_changes_are_audited_and_filtered(client: FlaskClient) -> None:
    client.put(
        "/governance/v1/policies/topic-naming", json={"enabled": True, "params": {"pattern": "a.*"}}
    )
    client.put("/governance/v1/policies/owner-required", json={"enabled": True})
    entries = client.get("/governance/v1/audit?action=policy.change").json
    assert [e["resource"] for e in entries] == ["policy:owner-required", "policy:topic-naming"]
    assert entries[1]["detail"] == 'enabled=true params={"pattern": "a.*"}'
    only = client.get("/governance/v1/audit?resource=policy:topic-naming&limit=1").json
    assert len(only) == 1 and only[0]["resource"] == "policy:topic-naming"
    prefix = client.get("/governance/v1/audit?resource=policy:*").json
    assert len(prefix) == 2
    assert client.get("/governance/v1/audit?limit=0").status_code == 422
    assert client.get("/governance/v1/audit?limit=x").status_code == 422
    unknown = client.get("/governance/v1/audit?outcome=failed")
    assert unknown.status_code == 422
    assert "outcome must be one of success, denied, rejected" in unknown.json["message"]
    assert len(client.get("/governance/v1/audit?outcome=success").json) == 2


def test_policies_survive_a_restart(tmp_path: Path) -> None:
    def app():
        return create_app(Settings(data_dir=tmp_path))

    first = app()
    try:
        client = first.test_client()
        body = {"enabled": True, "params": {"fields": ["event_id"]}}
        assert client.put("/governance/v1/policies/required-fields", json=body).status_code == 200
    finally:
        first.extensions["charter.events"].stop()
        first.extensions["charter.database"].close()
    second = app()
    try:
        policy = second.test_client().get("/governance/v1/policies/required-fields").json
        assert policy["enabled"] is True
        assert policy["params"] == {"fields": ["event_id"]}
    finally:
        second.extensions["charter.events"].stop()
        second.extensions["charter.database"].close()
