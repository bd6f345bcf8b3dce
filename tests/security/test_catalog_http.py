"""The catalog's REST API and web UI with auth on: every route in the route table, reads per
entity, curation for DataSteward only, login sessions and CSRF (the browser flows are in
tests/ui/test_login.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings
from governance.security.routes import ROUTE_NEEDS
from governance.security.service import SecurityService
from tests.security.test_http import basic

ADMIN = basic("admin", "admin-password")
STEWARD = basic("steward", "steward-password")
READER = basic("reader", "reader-password")
NOBODY = basic("nobody", "nobody-password")
ORDER = json.dumps(
    {"type": "record", "name": "Order", "fields": [{"name": "email", "type": "string"}]}
)


@pytest.fixture
def app(tmp_path: Path) -> Iterator[Flask]:
    application = create_app(Settings(data_dir=tmp_path, auth=True, auth_failure_limit=5))
    security: SecurityService = application.extensions["charter.security"]
    security.bootstrap_admin("admin-password")
    for name in ("steward", "reader", "nobody"):
        security.create_user(name, f"{name}-password", actor="test")
    security.create_binding("User:steward", "DataSteward", None, actor="test")
    security.create_binding("User:reader", "DeveloperRead", "Subject:orders-*", actor="test")
    client = application.test_client()
    for subject in ("orders-value", "payments-value"):
        response = client.post(
            f"/subjects/{subject}/versions", json={"schema": ORDER}, headers=ADMIN
        )
        assert response.status_code == 200, response.json
    application.extensions["charter.catalog"].indexer.catch_up()
    yield application
    application.extensions["charter.events"].stop()
    security.audit.stop()
    application.extensions["charter.database"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def test_every_catalog_and_ui_route_is_in_the_route_table(app: Flask) -> None:
    endpoints = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith(("catalog_api.", "catalog_ui."))
    }
    assert endpoints and endpoints <= set(ROUTE_NEEDS), endpoints - set(ROUTE_NEEDS)


# (method, path, JSON body, who may, who may not)
DOORS = [
    ("GET", "/catalog/v1/search?q=email", None, READER, NOBODY),
    ("GET", "/catalog/v1/entities/subject:orders-value", None, READER, NOBODY),
    ("GET", "/catalog/v1/entities/subject:payments-value", None, STEWARD, READER),
    ("GET", "/catalog/v1/entities/field:orders-value:email", None, READER, NOBODY),
    ("GET", "/catalog/v1/entities/field:payments-value:email", None, STEWARD, READER),
    ("GET", "/catalog/v1/glossary", None, READER, NOBODY),
    ("GET", "/catalog/v1/lineage?entity=subject:orders-value", None, READER, NOBODY),
    ("GET", "/catalog/v1/lineage?entity=subject:payments-value", None, STEWARD, READER),
    ("GET", "/catalog/v1/lineage?entity=topic:orders", None, STEWARD, READER),
    ("POST", "/catalog/v1/impact?subject=orders-value", {"schema": ORDER}, READER, NOBODY),
    ("POST", "/catalog/v1/impact?subject=payments-value", {"schema": ORDER}, STEWARD, READER),
    ("POST", "/catalog/v1/entities/subject:orders-value/tags", {"value": "pii"}, STEWARD, READER),
    ("PUT", "/catalog/v1/entities/subject:orders-value/description", {"description": "x"}, ADMIN, READER),
    ("PUT", "/catalog/v1/glossary/Customer", {"definition": "who pays"}, STEWARD, READER),
    ("GET", "/ui/subjects/orders-value", None, READER, NOBODY),
    ("GET", "/ui/subjects/payments-value", None, STEWARD, READER),
    ("GET", "/ui/fields/orders-value/email", None, READER, NOBODY),
    ("GET", "/ui/governance", None, STEWARD, READER),
]  # fmt: skip


@pytest.mark.parametrize(("method", "path", "body", "allowed", "denied"), DOORS)
def test_every_catalog_door(
    client: FlaskClient, method: str, path: str, body: object, allowed: object, denied: object
) -> None:
    kwargs = {"json": body} if body is not None else {}
    for headers in ({}, basic("reader", "wrong-password"), {"Authorization": "Bearer nope"}):
        response = client.open(path, method=method, headers=headers, **kwargs)
        if path.startswith("/ui/") and not headers:
            assert response.status_code == 303  # a browser is sent to the login page
            assert response.location.startswith("/ui/login?next=")
        else:
            assert response.status_code == 401, (headers, response.data)
    refused = client.open(path, method=method, headers=denied, **kwargs)
    assert refused.status_code == 403, refused.data
    if path.startswith("/catalog/"):
        assert refused.json["error_code"] == 40301
    else:
        assert b'role="alert"' in refused.data
    response = client.open(path, method=method, headers=allowed, **kwargs)
    assert response.status_code in (200, 204), response.data


def _csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    assert found, page
    return found.group(1).decode()


def _sign_in(client: FlaskClient, name: str, password: str, next_path: str = "/ui/") -> object:
    token = _csrf(client.get("/ui/login").data)
    return client.post(
        "/ui/login",
        data={"name": name, "password": password, "csrf_token": token, "next": next_path},
    )


def test_login_sets_a_signed_httponly_cookie_and_logout_ends_the_session(
    client: FlaskClient,
) -> None:
    response = _sign_in(client, "steward", "steward-password", "/ui/governance")
    assert response.status_code == 303 and response.location == "/ui/governance"
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("charter_session=") and "." in cookie.split(";")[0]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/ui/" in cookie
    page = client.get("/ui/governance")
    assert page.status_code == 200 and b"Signed in as" in page.data
    value = client.get_cookie("charter_session", path="/ui/").value
    # The cookie only signs in to the UI: the JSON API still wants credentials.
    assert client.get("/catalog/v1/search").status_code == 401
    client.post("/ui/logout", data={"csrf_token": _csrf(page.data)})
    assert client.get("/ui/governance").status_code == 303
    client.set_cookie("charter_session", value, path="/ui/")  # replaying the old cookie
    assert client.get("/ui/governance").status_code == 303


def test_tampered_cookie_and_bad_password(client: FlaskClient) -> None:
    response = _sign_in(client, "steward", "wrong-password")
    assert response.status_code == 401 and b"Wrong user name or password" in response.data
    assert client.get_cookie("charter_session", path="/ui/") is None
    client.set_cookie("charter_session", "forged.value", path="/ui/")
    assert client.get("/ui/").status_code == 303
    assert _sign_in(client, "nobody", "nobody-password", "//evil.example/").location == "/ui/"


def test_forms_need_the_sessions_csrf_token(app: Flask, client: FlaskClient) -> None:
    _sign_in(client, "steward", "steward-password")
    page = client.get("/ui/subjects/orders-value")
    edit = "/ui/entities/subject:orders-value/edit"
    form = {"action": "add", "kind": "tags", "value": "pii"}
    assert client.post(edit, data=form).status_code == 403
    assert client.post(edit, data={**form, "csrf_token": "x" * 43}).status_code == 403
    response = client.post(edit, data={**form, "csrf_token": _csrf(page.data)})
    assert response.status_code == 303
    entity = client.get("/catalog/v1/entities/subject:orders-value", headers=ADMIN).json
    assert entity["curated"]["tags"] == ["pii"]
    audit = client.get("/governance/v1/audit?action=ui.csrf", headers=ADMIN).json
    assert [entry["outcome"] for entry in audit] == ["denied", "denied"]


def test_a_reader_cannot_curate_through_the_ui(client: FlaskClient) -> None:
    _sign_in(client, "reader", "reader-password")
    page = client.get("/ui/subjects/orders-value")
    assert page.status_code == 200
    response = client.post(
        "/ui/entities/subject:orders-value/edit",
        data={"action": "add", "kind": "tags", "value": "pii", "csrf_token": _csrf(page.data)},
    )
    assert response.status_code == 403


def test_login_attempts_are_rate_limited(client: FlaskClient) -> None:
    answers = [_sign_in(client, "steward", f"guess-{n}").status_code for n in range(6)]
    assert answers[:5] == [401] * 5 and answers[5] == 429
    refused = _sign_in(client, "steward", "steward-password")  # even the right one, for now
    assert refused.status_code == 429
    assert b"too many failed authentication attempts" in refused.data
