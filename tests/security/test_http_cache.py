"""The HTTP hot path's caches never outlive a change: verified credentials and the principal's
permissions, when another process (the CLI here) changes a password, deletes an API key or
removes a role binding. On SQLite and PostgreSQL.

The documented bound is one authorizer refresh (``refresh_interval_s``, 1 s): most tests run
that refresh themselves (``authorizer.refresh()``, what its thread does each interval), and one
waits for the thread.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from charter.app import create_app
from charter.config import Settings
from governance.security.audit import security_entries
from governance.security.service import SecurityService
from governance.security.store import SecurityStore

REPO_ROOT = Path(__file__).resolve().parents[2]
SCHEMA = {"schema": '{"type": "string"}'}


def basic(user: str, password: str) -> dict[str, str]:
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


ADMIN = basic("admin", "admin-password")
READER = basic("reader", "reader-password")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """The app's database: the data dir's SQLite file (None), or a private PostgreSQL schema."""
    return None if request.param == "sqlite" else request.getfixturevalue("pg_schema_url")


@pytest.fixture
def database_args(tmp_path: Path, database_url: str | None) -> list[str]:
    """How the CLI (the other process) finds the app's database."""
    return ["--data-dir", str(tmp_path)] + (
        ["--database-url", database_url] if database_url else []
    )


@pytest.fixture
def app(tmp_path: Path, database_url: str | None) -> Iterator[Flask]:
    application = create_app(
        Settings(data_dir=tmp_path, database_url=database_url, auth=True, auth_failure_limit=3)
    )
    security: SecurityService = application.extensions["charter.security"]
    security.bootstrap_admin("admin-password")
    security.create_user("reader", "reader-password", actor="test")
    security.create_binding("User:reader", "DeveloperRead", "Subject:orders-*", actor="test")
    assert (
        application.test_client()
        .post("/subjects/orders-value/versions", json=SCHEMA, headers=ADMIN)
        .status_code
        == 200
    )
    yield application
    application.extensions["charter.events"].stop()
    security.audit.stop()
    security.authorizer.stop()
    application.extensions["charter.database"].close()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


def security_of(app: Flask) -> SecurityService:
    return app.extensions["charter.security"]


def cli(database_args: list[str], *args: str, stdin: str | None = None) -> str:
    """Run ``charter …`` in another process over the same database."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT), environ.get("PYTHONPATH")])
    )
    done = subprocess.run(
        [sys.executable, "-m", "charter", *args, *database_args],
        input=stdin,
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def read(client: FlaskClient, headers: dict[str, str]) -> int:
    return client.get("/schemas/ids/1", headers=headers).status_code


def test_a_password_changed_elsewhere_ends_the_cached_login(
    app: Flask, client: FlaskClient, database_args: list[str]
) -> None:
    assert read(client, READER) == 200  # verified once, remembered from now on
    assert read(client, READER) == 200
    # another process changes the password (there is no in-place change: delete, create)
    cli(database_args, "user", "delete", "reader")
    cli(database_args, "user", "create", "reader", "--password-stdin", stdin="new-password\n")
    cli(
        database_args,
        *("rolebinding", "create", "--principal", "User:reader", "--role", "DeveloperRead"),
        *("--resource", "Subject:orders-*"),
    )
    security_of(app).authorizer.refresh()  # one refresh interval later
    for _ in range(2):  # (the third failure would reach the rate limit)
        assert read(client, READER) == 401
    assert read(client, basic("reader", "new-password")) == 200


def test_a_role_binding_removed_elsewhere_denies_at_once_after_a_refresh(
    app: Flask, client: FlaskClient, database_args: list[str]
) -> None:
    assert read(client, READER) == 200
    assert client.get("/subjects/orders-value/versions", headers=READER).status_code == 200
    listed = json.loads(cli(database_args, "rolebinding", "list"))
    (binding,) = [b for b in listed if b["principal"] == "User:reader"]
    cli(database_args, "rolebinding", "delete", str(binding["id"]))
    security_of(app).authorizer.refresh()
    for _ in range(3):
        denied = client.get("/schemas/ids/1", headers=READER)
        assert denied.status_code == 403 and denied.json["error_code"] == 40301
    assert client.get("/subjects/orders-value/versions", headers=READER).status_code == 403
    security_of(app).audit.flush()
    denials = {
        (row.actor, row.action, row.resource)
        for row in security_entries(security_of(app).store.database, limit=100, outcome="denied")
    }
    assert ("User:reader", "subject.read", "Subject:*") in denials
    assert ("User:reader", "subject.read", "Subject:orders-value") in denials


def test_an_api_key_deleted_elsewhere_stops_working(
    app: Flask, client: FlaskClient, database_args: list[str]
) -> None:
    key = client.post("/security/v1/apikeys", json={"user": "reader"}, headers=ADMIN).json
    bearer = {"Authorization": f"Bearer {key['secret']}"}
    assert read(client, bearer) == 200
    cli(database_args, "apikey", "delete", key["key"])
    security_of(app).authorizer.refresh()
    assert read(client, bearer) == 401


def test_the_refresh_thread_applies_a_change_made_elsewhere(
    app: Flask, client: FlaskClient, database_args: list[str]
) -> None:
    security_of(app).cache_ttl_s = 3600  # only the generation can end the entry
    assert read(client, READER) == 200
    cli(database_args, "user", "delete", "reader")
    deadline = time.monotonic() + 60  # the bound is 1 s; this only keeps a failure from hanging
    while read(client, READER) != 401:
        assert time.monotonic() < deadline, "the deletion never reached the running app"
        time.sleep(0.1)
    assert read(client, READER) == 401  # and it stays refused


def test_cached_credentials_are_still_rate_limited_and_keyed_on_the_whole_header(
    client: FlaskClient,
) -> None:
    assert read(client, READER) == 200  # remembered
    wrong = basic("reader", "reader-passwore")  # same user, another secret: not the cached one
    for _ in range(3):
        assert read(client, wrong) == 401
    limited = client.get("/schemas/ids/1", headers=READER)  # the right, cached credentials too
    assert limited.status_code == 429 and limited.json["error_code"] == 42901
    elsewhere = client.get(
        "/schemas/ids/1", headers=READER, environ_base={"REMOTE_ADDR": "10.2.3.4"}
    )
    assert elsewhere.status_code == 200


def test_a_change_between_the_check_and_remembering_voids_the_entry(
    service: SecurityService,
) -> None:
    service.create_user("dora", "dora-password", actor="test")
    header = "Basic " + base64.b64encode(b"dora:dora-password").decode()
    generation = service.authorizer_generation()  # read before the check, as http_auth does
    principal = service.authenticate_password("dora", "dora-password", "10.0.0.9")
    SecurityStore(service.store.database).delete_user("dora")  # another process, meanwhile
    service.authorizer.refresh()
    service.remember(header, principal, generation)
    assert service.remembered(header, "10.0.0.9") is None
    service.remember(header, principal)  # remembered at the current generation: valid
    assert service.remembered(header, "10.0.0.9") == "User:dora"


def test_what_was_allowed_is_remembered_per_route_resource_and_address(
    app: Flask, client: FlaskClient
) -> None:
    """The verified entry's grants skip the authorizer for the same route, resource and client
    only; a denial is never remembered (each one is asked again and audited)."""
    security_of(app).create_user("sam", "sam-password", actor="test")
    security_of(app).create_binding("User:sam", "DeveloperRead", "Subject:orders-*", actor="test")
    sam = basic("sam", "sam-password")
    versions = "/subjects/{}/versions"
    assert client.get(versions.format("orders-value"), headers=sam).status_code == 200
    assert client.get(versions.format("orders-value"), headers=sam).status_code == 200
    for _ in range(2):
        assert client.get(versions.format("payments-value"), headers=sam).status_code == 403
    assert client.get("/subjects/orders-value/versions/1", headers=sam).status_code == 200
    security_of(app).audit.flush()
    denials = [
        row
        for row in security_entries(security_of(app).store.database, limit=100, outcome="denied")
        if row.actor == "User:sam"
    ]
    # identical entries of one flush interval fold into one row with a count
    assert {row.resource for row in denials} == {"Subject:payments-value"}
    assert sum(row.count for row in denials) == 2


def test_a_binding_removed_in_this_process_denies_the_next_request(
    app: Flask, client: FlaskClient
) -> None:
    assert read(client, READER) == 200  # verified and allowed: both remembered
    assert read(client, READER) == 200
    bindings = client.get("/security/v1/rolebindings", headers=ADMIN).json
    (binding,) = [b for b in bindings if b["principal"] == "User:reader"]
    deleted = client.delete(f"/security/v1/rolebindings/{binding['id']}", headers=ADMIN)
    assert deleted.status_code == 200
    assert read(client, READER) == 403  # no refresh interval to wait for
    security_of(app).create_binding(
        "User:reader", "DeveloperRead", "Subject:orders-*", actor="test"
    )
    assert read(client, READER) == 200


def test_grants_are_bounded(service: SecurityService) -> None:
    service.create_user("dora", "dora-password", actor="test")
    entry = service.remember("Basic ZG9yYTpkb3JhLXBhc3N3b3Jk", "User:dora")
    for index in range(1000):
        entry.grant(("route", f"subject-{index}", "10.0.0.1"))
    assert 0 < len(entry.grants) <= 256
    assert service.verified("Basic ZG9yYTpkb3JhLXBhc3N3b3Jk", "10.0.0.1") is entry
