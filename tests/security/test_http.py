"""Every HTTP door with auth on: no credentials, wrong ones, a principal lacking the permission."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings
from governance.security.acls import Acl
from governance.security.kafka_admin import KafkaSecurityAdmin
from governance.security.service import SecurityService
from registry.hooks import ALLOW

SCHEMA = {"schema": '{"type": "string"}'}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic("admin", "admin-password")
DEV = basic("dev", "dev-password")
READER = basic("reader", "reader-password")
NOBODY = basic("nobody", "nobody-password")


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = create_app(Settings(data_dir=tmp_path, auth=True, auth_failure_limit=5))
    security: SecurityService = application.extensions["charter.security"]
    security.bootstrap_admin("admin-password")
    for name in ("dev", "reader", "nobody"):
        security.create_user(name, f"{name}-password", actor="test")
    security.create_binding("User:dev", "DeveloperWrite", "Subject:orders-*", actor="test")
    security.create_binding("User:reader", "DeveloperRead", "Subject:orders-*", actor="test")
    yield application
    application.extensions["charter.events"].stop()
    security.audit.stop()
    application.extensions["charter.database"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


# (method, path, body, who may, who may not)
DOORS = [
    ("GET", "/subjects", None, DEV, None),
    ("POST", "/subjects/orders-value/versions", SCHEMA, DEV, READER),
    ("GET", "/subjects/orders-value/versions", None, READER, NOBODY),
    ("GET", "/subjects/orders-value/versions/latest", None, READER, NOBODY),
    ("POST", "/subjects/orders-value", SCHEMA, READER, NOBODY),
    ("GET", "/schemas/ids/1", None, READER, NOBODY),
    ("POST", "/compatibility/subjects/orders-value/versions/latest", SCHEMA, READER, NOBODY),
    ("PUT", "/config/orders-value", {"compatibility": "NONE"}, ADMIN, DEV),
    ("PUT", "/config", {"compatibility": "NONE"}, ADMIN, DEV),
    ("PUT", "/mode/orders-value", {"mode": "READWRITE"}, ADMIN, READER),
    ("DELETE", "/subjects/orders-value/versions/1", None, ADMIN, DEV),
    ("GET", "/security/v1/users", None, ADMIN, DEV),
    ("GET", "/security/v1/rolebindings", None, ADMIN, READER),
    ("GET", "/security/v1/acls", None, ADMIN, READER),
    ("GET", "/no/such/route", None, None, None),
]


@pytest.mark.parametrize(("method", "path", "body", "allowed", "denied"), DOORS)
def test_every_door(
    client: FlaskClient, method: str, path: str, body: object, allowed: object, denied: object
) -> None:
    client.post("/subjects/orders-value/versions", json=SCHEMA, headers=DEV)
    for headers in (
        {},
        basic("dev", "wrong-password"),
        basic("ghost", "x"),
        {"Authorization": "Bearer nope"},
    ):
        response = client.open(path, method=method, json=body, headers=headers)
        assert response.status_code == 401, (path, headers)
        assert response.json["error_code"] == 40101
        assert "Basic" in response.headers["WWW-Authenticate"]
    if denied is not None:
        response = client.open(path, method=method, json=body, headers=denied)
        assert response.status_code == 403 and response.json["error_code"] == 40301, response.json
    if allowed is not None:
        response = client.open(path, method=method, json=body, headers=allowed)
        assert response.status_code not in (401, 403), response.json


def test_health_needs_no_credentials(client: FlaskClient) -> None:
    assert client.get("/health").status_code == 200


def test_subject_lists_are_filtered(client: FlaskClient) -> None:
    client.post("/subjects/orders-value/versions", json=SCHEMA, headers=DEV)
    client.post("/subjects/payments-value/versions", json=SCHEMA, headers=ADMIN)
    assert client.get("/subjects", headers=READER).json == ["orders-value"]
    assert client.get("/subjects", headers=NOBODY).json == []
    assert sorted(client.get("/subjects", headers=ADMIN).json) == ["orders-value", "payments-value"]


def test_encoded_slashes_are_authorized_as_the_registry_routes_them(client: FlaskClient) -> None:
    # /subjects/orders-x%2Fversions is subject "orders-x/versions" (lookup), not a register
    response = client.post("/subjects/other%2Fversions", json=SCHEMA, headers=DEV)
    assert response.status_code == 403


def test_principal_reaches_the_registry_hooks(app: Flask, client: FlaskClient) -> None:
    seen = []

    class Recorder:
        def before_register(self, actor, subject, *rest):
            seen.append(actor.principal)
            return ALLOW

    app.extensions["charter.registry"].hooks.add(Recorder())
    assert client.post("/subjects/orders-a/versions", json=SCHEMA, headers=DEV).status_code == 200
    assert seen == ["User:dev"]


def test_api_keys_as_bearer_and_basic(client: FlaskClient) -> None:
    key = client.post("/security/v1/apikeys", json={"user": "reader"}, headers=ADMIN).json
    key_id, secret = key["secret"].split(".", 1)
    assert key["key"] == key_id
    bearer = {"Authorization": f"Bearer {key['secret']}"}
    assert client.get("/security/v1/whoami", headers=bearer).json == {"principal": "User:reader"}
    assert client.get("/security/v1/whoami", headers=basic(key_id, secret)).status_code == 200
    assert key_id in [k["key"] for k in client.get("/security/v1/apikeys", headers=ADMIN).json]
    assert "secret" not in client.get("/security/v1/apikeys", headers=ADMIN).json[0]
    assert client.delete(f"/security/v1/apikeys/{key_id}", headers=ADMIN).status_code == 200
    assert client.get("/security/v1/whoami", headers=bearer).status_code == 401


def test_users_and_role_bindings_over_rest(client: FlaskClient) -> None:
    created = client.post(
        "/security/v1/users", json={"name": "erin", "password": "erin-pass-1"}, headers=ADMIN
    )
    assert created.status_code == 200 and created.json == {"name": "erin"}
    again = client.post(
        "/security/v1/users", json={"name": "erin", "password": "erin-pass-1"}, headers=ADMIN
    )
    assert again.status_code == 409
    assert client.post("/security/v1/users", json={"name": "x"}, headers=ADMIN).status_code == 422
    assert "erin" in [u["name"] for u in client.get("/security/v1/users", headers=ADMIN).json]
    erin = basic("erin", "erin-pass-1")
    assert (
        client.post("/subjects/team-value/versions", json=SCHEMA, headers=erin).status_code == 403
    )
    binding = client.post(
        "/security/v1/rolebindings",
        json={"principal": "User:erin", "role": "ResourceOwner", "resource": "Subject:team-*"},
        headers=ADMIN,
    ).json
    assert binding["principal"] == "User:erin" and isinstance(binding["id"], int)
    assert (
        client.post("/subjects/team-value/versions", json=SCHEMA, headers=erin).status_code == 200
    )
    bad = client.post(
        "/security/v1/rolebindings",
        json={"principal": "User:erin", "role": "Boss", "resource": "Subject:x"},
        headers=ADMIN,
    )
    assert bad.status_code == 422 and bad.json["error_code"] == 42201
    assert (
        client.delete(f"/security/v1/rolebindings/{binding['id']}", headers=ADMIN).status_code
        == 200
    )
    assert (
        client.delete(f"/security/v1/rolebindings/{binding['id']}", headers=ADMIN).status_code
        == 404
    )
    assert (
        client.post("/subjects/team-value/versions", json=SCHEMA, headers=erin).status_code == 403
    )
    assert client.delete("/security/v1/users/erin", headers=ADMIN).status_code == 200
    assert client.delete("/security/v1/users/erin", headers=ADMIN).status_code == 404
    assert client.get("/subjects", headers=erin).status_code == 401


def test_brute_force_is_rate_limited(app: Flask, client: FlaskClient) -> None:
    for _ in range(5):
        assert client.get("/subjects", headers=basic("dev", "guess")).status_code == 401
    limited = client.get("/subjects", headers=basic("dev", "guess"))
    assert limited.status_code == 429 and limited.json["error_code"] == 42901
    assert "Retry-After" in limited.headers
    # other users from elsewhere are unaffected
    other = client.get("/subjects", headers=READER, environ_base={"REMOTE_ADDR": "10.1.1.1"})
    assert other.status_code == 200


def test_denials_and_changes_are_audited_without_secrets(app: Flask, client: FlaskClient) -> None:
    client.get("/subjects", headers=basic("dev", "the-wrong-secret"))
    client.post("/subjects/payments-value/versions", json=SCHEMA, headers=DEV)
    client.post(
        "/security/v1/users", json={"name": "fred", "password": "fred-secret-9"}, headers=ADMIN
    )
    app.extensions["charter.security"].audit.flush()
    entries = client.get("/security/v1/audit", headers=ADMIN).json
    triples = {(e["actor"], e["action"], e["resource"], e["outcome"]) for e in entries}
    assert ("User:dev", "authenticate", "Address:127.0.0.1", "denied") in triples
    assert ("User:dev", "subject.write", "Subject:payments-value", "denied") in triples
    assert ("User:admin", "user.create", "User:fred", "success") in triples
    text = str(entries)
    assert "the-wrong-secret" not in text and "fred-secret-9" not in text
    # the same entries are in the one governance audit log, filterable like any other
    joined = client.get("/governance/v1/audit?limit=1000", headers=ADMIN).json
    joined_triples = {(e["actor"], e["action"], e["resource"], e["outcome"]) for e in joined}
    assert triples <= joined_triples
    denied = client.get("/governance/v1/audit?outcome=denied&action=authenticate", headers=ADMIN)
    assert [(e["actor"], e["outcome"]) for e in denied.json] == [("User:dev", "denied")]


def test_a_data_steward_curates_but_cannot_grant_roles(client: FlaskClient) -> None:
    client.post(
        "/security/v1/users", json={"name": "stew", "password": "stew-pass-1"}, headers=ADMIN
    )
    client.post(
        "/security/v1/rolebindings",
        json={"principal": "User:stew", "role": "DataSteward", "resource": "Cluster:charter"},
        headers=ADMIN,
    )
    stew = basic("stew", "stew-pass-1")
    escalation = client.post(
        "/security/v1/rolebindings",
        json={"principal": "User:stew", "role": "SystemAdmin", "resource": "Cluster:charter"},
        headers=stew,
    )
    assert escalation.status_code == 403 and escalation.json["error_code"] == 40301
    assert client.get("/security/v1/users", headers=stew).status_code == 403
    policy = client.put(
        "/governance/v1/policies/owner-required", json={"enabled": True}, headers=stew
    )
    assert policy.status_code == 200, policy.get_data(as_text=True)


def test_acl_entries_apply_to_http_too_and_are_listed_and_deleted(app: Flask) -> None:
    """A Kafka DENY on the cluster is the one authorizer's: HTTP's cluster checks obey it (the
    test client's address is 127.0.0.1)."""
    client = app.test_client()
    security: SecurityService = app.extensions["charter.security"]
    admin = KafkaSecurityAdmin(security)
    deny_alter = Acl(4, "kafka-cluster", 3, "User:admin", "127.0.0.1", 7, 2)  # DENY ALTER
    assert admin.create_acls([deny_alter], actor="User:admin") == [None]
    assert client.put("/config", json={"compatibility": "NONE"}, headers=ADMIN).status_code == 403
    assert client.get("/security/v1/users", headers=ADMIN).status_code == 200  # not ALTER
    listed = client.get("/security/v1/acls", headers=ADMIN).json
    assert [(e["principal"], e["host"], e["operation"], e["permission"]) for e in listed] == [
        ("User:admin", "127.0.0.1", "ALTER", "DENY")
    ]
    assert client.get("/security/v1/acls?principal=User:*", headers=ADMIN).json == []
    entry_id = listed[0]["id"]
    assert client.delete(f"/security/v1/acls/{entry_id}", headers=ADMIN).status_code == 200
    assert client.delete(f"/security/v1/acls/{entry_id}", headers=ADMIN).status_code == 404
    assert client.put("/config", json={"compatibility": "NONE"}, headers=ADMIN).status_code == 200
