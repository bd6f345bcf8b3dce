"""schemathesis over every JSON API route of ``docs/openapi.yaml`` and ``docs/openapi-security.yaml``.

Each operation gets valid and invalid requests (positive and negative generation)
against the seeded app, in three set-ups: auth off (every answer a status, content
type and body the documents declare), auth on as the admin (the same), and auth on
as a reader with one narrow binding, a principal with no role, no credentials and a
wrong password (403 and 401 paths: any error must be a 4xx with a
``{"error_code", "message"}`` body). Auth off runs on SQLite and PostgreSQL. Runs are
derandomized so CI sees the same requests every time; ``CHARTER_FUZZ_EXAMPLES``
raises the examples per operation for a long local run.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.http_fuzz.stack import ADMIN, DERANDOMIZE, NOBODY, READER, basic, examples, seeded_app

DOCS = Path(__file__).resolve().parents[2] / "docs"
SPECS = {"registry": DOCS / "openapi.yaml", "security": DOCS / "openapi-security.yaml"}
CONFORMANCE = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


def _operations() -> dict[str, Any]:
    found: dict[str, Any] = {}
    for name, path in SPECS.items():
        schema = schemathesis.openapi.from_path(path)
        for result in schema.get_all_operations():
            operation = result.ok()
            found[f"{name}:{operation.method.upper()} {operation.path}"] = operation
    return found


OPERATIONS = _operations()


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def open_app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_module_url") if request.param == "postgresql" else ""
    with seeded_app(tmp_path_factory.mktemp("open"), database_url=url) as app:
        yield app


@pytest.fixture(scope="module")
def secured_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    with seeded_app(tmp_path_factory.mktemp("secured"), auth=True) as app:
        yield app


def _fuzz(
    operation: Any, app: Flask, headers: dict[str, str] | None, max_examples: int, check: Any
) -> None:
    """``check`` each generated case; ``headers`` override the generated ones (``None``: no
    ``Authorization`` header at all)."""
    strategy = operation.as_strategy(GenerationMode.POSITIVE) | operation.as_strategy(
        GenerationMode.NEGATIVE
    )

    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=DERANDOMIZE,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case: schemathesis.Case) -> None:
        case.headers = {
            key: value
            for key, value in {**(case.headers or {}), **(headers or {})}.items()
            if headers is not None or key.lower() != "authorization"
        }
        check(case, app)

    run()


def _conforms(case: schemathesis.Case, app: Flask) -> None:
    case.call_and_validate(app=app, checks=CONFORMANCE)


def _refused_cleanly(case: schemathesis.Case, app: Flask) -> None:
    response = case.call_and_validate(app=app, checks=[not_a_server_error])
    if response.status_code >= 400:
        assert response.status_code < 500, response.text[:300]
        body = response.json()
        assert isinstance(body.get("error_code"), int), body
        assert isinstance(body.get("message"), str) and body["message"], body


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_auth_off_every_operation_conforms(open_app: Flask, operation_id: str) -> None:
    _fuzz(OPERATIONS[operation_id], open_app, {}, examples(8), _conforms)


@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_auth_on_admin_every_operation_conforms(secured_app: Flask, operation_id: str) -> None:
    _fuzz(OPERATIONS[operation_id], secured_app, ADMIN, examples(4), _conforms)


@pytest.mark.parametrize("who", ["reader", "nobody", "anonymous", "wrong-password"])
@pytest.mark.parametrize("operation_id", sorted(OPERATIONS))
def test_auth_on_low_privilege_is_refused_cleanly(
    secured_app: Flask, operation_id: str, who: str
) -> None:
    headers = {
        "reader": READER,
        "nobody": NOBODY,
        "anonymous": None,
        "wrong-password": basic("admin", "not-the-password"),
    }[who]
    check = _refused_cleanly if who in {"reader", "nobody"} else _unauthenticated
    _fuzz(OPERATIONS[operation_id], secured_app, headers, examples(3), check)


def _unauthenticated(case: schemathesis.Case, app: Flask) -> None:
    """Without valid credentials only ``/health`` answers; the rest is 401 with a challenge
    (or 400/413 for a NUL in the URL or a body too large, refused before authenticating)."""
    response = case.call_and_validate(app=app, checks=[not_a_server_error])
    if case.operation.path == "/health":
        return
    assert response.status_code in (400, 401, 413), (response.status_code, response.text[:300])
    assert response.json()["error_code"] in (400, 40101, 413), response.text[:300]
    if response.status_code == 401:
        challenge = {key.lower(): value for key, value in response.headers.items()}
        assert "Basic" in str(challenge.get("www-authenticate")), response.headers


def test_both_documents_are_fuzzed() -> None:
    """Every route of both documents is in the parameter list (a parse failure would drop one)."""
    assert sum(key.startswith("security:") for key in OPERATIONS) >= 10
    assert sum(key.startswith("registry:") for key in OPERATIONS) >= 59


def _shape(path: str) -> str:
    """``/subjects/<subject:subject>/versions/{version}`` -> ``/subjects/{}/versions/{}``; the
    registry's trailing-slash twin of a route (``/subjects/``) is the same route."""
    shape = re.sub(r"<[^>]*>|\{[^}]*\}", "{}", path)
    return shape.rstrip("/") or "/"


def test_every_json_route_of_the_app_is_documented_and_fuzzed(open_app: Flask) -> None:
    """The app's route table, not a hand-kept list: a new JSON route needs documenting."""
    served = {
        (method, _shape(rule.rule))
        for rule in open_app.url_map.iter_rules()
        if not rule.rule.startswith(("/ui", "/static"))
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }
    documented = set()
    for key in OPERATIONS:
        spec, operation = key.split(":", 1)
        method, path = operation.split(" ", 1)
        documented.add((method, _shape(("/security/v1" if spec == "security" else "") + path)))
    assert served - documented == set(), "served but not documented"
    assert documented - served == set(), "documented but not served"
