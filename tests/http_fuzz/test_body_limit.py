"""Every HTTP route refuses a body over ``max_request_bytes`` with 413 and a JSON error, before
authentication and whatever the route does with bodies (GET routes ignore theirs), whether
the body's length is declared or it comes chunked."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator

import pytest
from flask import Flask

from tests.http_fuzz.stack import ADMIN, MAX_REQUEST_BYTES, seeded_app

SAMPLE_ARGUMENTS = {
    "subject": "orders-value",
    "version": "1",
    "schema_id": "1",
    "guid": "00000000-0000-0000-0000-000000000000",
    "qualified_name": "subject:orders-value",
    "kind": "tags",
    "value": "pii",
    "name": "kek-1",
    "key_id": "k",
    "binding_id": "1",
    "entry_id": "1",
    "filename": "app.css",
    "path": "email",
}


CHUNKED = {"wsgi.input_terminated": True}
"""What a WSGI server that de-chunks request bodies (gunicorn, werkzeug's) sets."""


def _routes(app: Flask) -> list[tuple[str, str]]:
    found = []
    for rule in app.url_map.iter_rules():
        path = re.sub(
            r"<(?:[^:>]+:)?([^>]+)>", lambda match: SAMPLE_ARGUMENTS[match.group(1)], rule.rule
        )
        found += [(method, path) for method in sorted(rule.methods - {"HEAD", "OPTIONS"})]
    return sorted(found)


@pytest.fixture(scope="module", params=["auth", "no-auth"])
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    with seeded_app(tmp_path_factory.mktemp(request.param), auth=request.param == "auth") as app:
        yield app


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
def test_every_route_refuses_an_oversized_body_with_413(app: Flask, declared: bool) -> None:
    client = app.test_client()
    body = b'{"schema": "' + b"x" * MAX_REQUEST_BYTES + b'"}'
    routes = _routes(app)
    assert len(routes) > 70
    for method, path in routes:
        if declared:
            response = client.open(
                path, method=method, data=body, content_type="application/json", headers=ADMIN
            )
        else:
            response = client.open(
                path,
                method=method,
                input_stream=io.BytesIO(body),
                content_type="application/json",
                headers={**ADMIN, "Transfer-Encoding": "chunked"},
                environ_overrides=CHUNKED,
            )
        assert response.status_code == 413, (
            method,
            path,
            response.status_code,
            response.data[:200],
        )
        assert response.get_json(force=True) == {
            "error_code": 413,
            "message": "Request body too large",
        }, (method, path)


def test_a_chunked_body_under_the_limit_reaches_the_route(tmp_path) -> None:
    with seeded_app(tmp_path) as app:
        client = app.test_client()
        registered = client.post(
            "/subjects/chunked-value/versions",
            input_stream=io.BytesIO(b'{"schema": "\\"string\\""}'),
            content_type="application/json",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides=CHUNKED,
        )
        assert registered.status_code == 200, registered.data
        assert client.get("/subjects/chunked-value/versions").get_json() == [1]
        csrf = client.get("/ui/subjects/orders-value")
        token = re.search(rb'name="csrf_token" value="([^"]+)"', csrf.data).group(1)
        edited = client.post(
            "/ui/entities/subject:orders-value/edit",
            input_stream=io.BytesIO(b"action=add&kind=tags&value=chunked&csrf_token=" + token),
            content_type="application/x-www-form-urlencoded",
            headers={"Transfer-Encoding": "chunked"},
            environ_overrides=CHUNKED,
        )
        assert edited.status_code == 303, edited.data[:300]
        tags = client.get("/catalog/v1/entities/subject:orders-value").get_json()["tags"]
        assert "chunked" in tags
