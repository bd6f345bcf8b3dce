"""Fuzz the registry's HTTP API in-process: the OpenAPI file is the contract, hostile bodies the attack.

Two halves:

* the file lists the routes this test expects (schemathesis fuzzes every
  operation of it in ``tests/http_fuzz/test_openapi.py``).
* hypothesis builds bodies that must be refused — invalid UTF-8, deeply nested
  JSON, fields of the wrong type, broken Avro and JSON Schema documents, bodies
  over the size limit — and each must get a 4xx with a Confluent error body
  ``{"error_code": int, "message": str}`` and leave the store exactly as it was.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.app import create_app
from charter.config import Settings

REPO_ROOT = Path(__file__).resolve().parents[2]
OPENAPI_PATH = REPO_ROOT / "docs" / "openapi.yaml"
CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
MAX_REQUEST_BYTES = 64 * 1024

SEED_AVRO = {
    "type": "record",
    "name": "Order",
    "namespace": "com.example",
    "fields": [{"name": "id", "type": "long"}, {"name": "item", "type": "string"}],
}
SEED_JSON = {
    "type": "object",
    "properties": {"id": {"type": "integer"}},
    "required": ["id"],
}
SEED_SUBJECT = "orders-value"


def build_app(data_dir: Path) -> Flask:
    """The real app over a fresh SQLite database, with a small body limit and two subjects."""
    app = create_app(Settings(data_dir=data_dir, max_request_bytes=MAX_REQUEST_BYTES))
    client = app.test_client()
    for subject, body in [
        (SEED_SUBJECT, {"schema": json.dumps(SEED_AVRO)}),
        ("users-value", {"schema": json.dumps(SEED_JSON), "schemaType": "JSON"}),
        (
            "users-value",
            {"schema": json.dumps({**SEED_JSON, "title": "User"}), "schemaType": "JSON"},
        ),
    ]:
        response = client.post(
            f"/subjects/{subject}/versions", data=json.dumps(body), content_type=CONTENT_TYPE
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    return app


# -- the OpenAPI file ---------------------------------------------------------------------------
# schemathesis fuzzes every operation of both OpenAPI files in tests/http_fuzz/test_openapi.py.


def test_openapi_file_describes_every_registry_route() -> None:
    """The file and the app agree on the route list (a new route needs documenting)."""
    schema = schemathesis.openapi.from_path(OPENAPI_PATH)
    documented = {
        (operation.method.upper(), operation.path)
        for operation in (result.ok() for result in schema.get_all_operations())
    }
    expected = {
        ("GET", "/"),
        ("GET", "/health"),
        ("GET", "/v1/metadata/id"),
        ("GET", "/v1/metadata/version"),
        ("GET", "/subjects"),
        ("POST", "/subjects/{subject}"),
        ("DELETE", "/subjects/{subject}"),
        ("GET", "/subjects/{subject}/versions"),
        ("POST", "/subjects/{subject}/versions"),
        ("GET", "/subjects/{subject}/versions/{version}"),
        ("DELETE", "/subjects/{subject}/versions/{version}"),
        ("GET", "/subjects/{subject}/versions/{version}/schema"),
        ("GET", "/subjects/{subject}/versions/{version}/referencedby"),
        ("GET", "/subjects/{subject}/metadata"),
        ("GET", "/subjects/{subject}/metadata"),
        ("GET", "/schemas"),
        ("GET", "/schemas/types"),
        ("GET", "/schemas/ids/{id}"),
        ("GET", "/schemas/ids/{id}/schema"),
        ("GET", "/schemas/ids/{id}/versions"),
        ("GET", "/schemas/ids/{id}/subjects"),
        ("GET", "/schemas/guids/{guid}"),
        ("GET", "/schemas/guids/{guid}/ids"),
        ("GET", "/config"),
        ("PUT", "/config"),
        ("DELETE", "/config"),
        ("GET", "/config/{subject}"),
        ("PUT", "/config/{subject}"),
        ("DELETE", "/config/{subject}"),
        ("GET", "/mode"),
        ("PUT", "/mode"),
        ("DELETE", "/mode"),
        ("GET", "/mode/{subject}"),
        ("PUT", "/mode/{subject}"),
        ("DELETE", "/mode/{subject}"),
        ("POST", "/compatibility/subjects/{subject}/versions"),
        ("POST", "/compatibility/subjects/{subject}/versions/{version}"),
        ("GET", "/contexts"),
        ("GET", "/governance/v1/policies"),
        ("GET", "/governance/v1/policies/{name}"),
        ("PUT", "/governance/v1/policies/{name}"),
        ("GET", "/governance/v1/audit"),
        ("GET", "/catalog/v1/search"),
        ("GET", "/catalog/v1/entities/{qualifiedName}"),
        ("PUT", "/catalog/v1/entities/{qualifiedName}/description"),
        ("POST", "/catalog/v1/entities/{qualifiedName}/{kind}"),
        ("PUT", "/catalog/v1/entities/{qualifiedName}/{kind}"),
        ("DELETE", "/catalog/v1/entities/{qualifiedName}/{kind}/{value}"),
        ("GET", "/catalog/v1/glossary"),
        ("PUT", "/catalog/v1/glossary/{name}"),
        ("DELETE", "/catalog/v1/glossary/{name}"),
        ("GET", "/catalog/v1/lineage"),
        ("GET", "/catalog/v1/impact"),
        ("POST", "/catalog/v1/impact"),
        ("GET", "/dek-registry/v1/keks"),
        ("POST", "/dek-registry/v1/keks"),
        ("GET", "/dek-registry/v1/keks/{name}"),
        ("PUT", "/dek-registry/v1/keks/{name}"),
        ("GET", "/dek-registry/v1/keks/{name}/deks"),
        ("POST", "/dek-registry/v1/keks/{name}/deks"),
        ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}"),
        ("POST", "/dek-registry/v1/keks/{name}/deks/{subject}"),
        ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}/versions"),
        ("GET", "/dek-registry/v1/keks/{name}/deks/{subject}/versions/{version}"),
    }
    assert documented == expected


# -- hostile bodies: always a 4xx with a JSON message, never a change ------------------------

SCHEMA_ROUTES = [
    ("POST", f"/subjects/{SEED_SUBJECT}/versions"),
    ("POST", "/subjects/brand-new-subject/versions"),
    ("POST", f"/subjects/{SEED_SUBJECT}"),
    ("POST", f"/compatibility/subjects/{SEED_SUBJECT}/versions"),
    ("POST", f"/compatibility/subjects/{SEED_SUBJECT}/versions/latest"),
]
CONFIG_ROUTES = [("PUT", "/config"), ("PUT", f"/config/{SEED_SUBJECT}")]
MODE_ROUTES = [("PUT", "/mode"), ("PUT", f"/mode/{SEED_SUBJECT}")]
ALL_BODY_ROUTES = SCHEMA_ROUTES + CONFIG_ROUTES + MODE_ROUTES

# Schema texts every format must refuse (42201); Avro rules from the Avro 1.11 specification,
# JSON Schema rules from the draft-07 meta-schema.
# Blank texts are left out: Confluent registers a blank schema under a subject with versions as
# a copy of the latest one (KafkaSchemaRegistry.maybePopulateFromPrevious).
BROKEN_AVRO = [
    "not json at all",
    "{",
    '{"type": "recrod", "name": "X", "fields": []}',
    '{"type": "record", "fields": []}',
    '{"type": "record", "name": "X"}',
    '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "nosuch.Type"}]}',
    '{"type": "record", "name": "X", "fields": [{"name": "a"}]}',
    '{"type": "record", "name": "1bad", "fields": []}',
    '{"type": "enum", "name": "E", "symbols": ["A", "A"]}',
    '{"type": "enum", "name": "E", "symbols": "A"}',
    '{"type": "fixed", "name": "F", "size": -1}',
    '{"type": "array"}',
    '{"type": "map", "values": "nosuch"}',
    '["null", "null"]',
    '{"type": "record", "name": "X", "fields": [{"name": "a", "type": "int"}, {"name": "a", "type": "int"}]}',
    "12",
    "null",
]
BROKEN_JSON_SCHEMA = [
    "not json",
    '{"type": 12}',
    '{"type": "nosuch"}',
    '{"properties": []}',
    '{"required": "id"}',
    '{"minimum": "zero"}',
    '{"type": "object", "properties": {"a": {"type": ["string", 3]}}}',
    "12",
]


def _is_invalid_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def _nested(depth: int, opener: str, closer: str, inner: str = "1") -> str:
    return opener * depth + inner + closer * depth


invalid_utf8 = st.binary(min_size=1, max_size=200).filter(_is_invalid_utf8)
deep_depth = st.integers(min_value=1_500, max_value=50_000)
json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)
not_a_string = json_values.filter(lambda value: not isinstance(value, str))
not_a_list = json_values.filter(lambda value: not isinstance(value, list) and value is not None)
non_json_text = st.text(max_size=60).filter(
    lambda text: text.strip() != "" and not _parses_as_json(text)
)


def _parses_as_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return False
    return True


@st.composite
def wrong_type_schema_bodies(draw: st.DrawFn) -> Any:
    """A registration body with at least one field of the wrong type (or not an object at all)."""
    choice = draw(st.integers(min_value=0, max_value=5))
    valid_schema = json.dumps(SEED_AVRO)
    if choice == 0:
        return draw(json_values.filter(lambda value: not isinstance(value, dict)))
    if choice == 1:
        # A null schema is not wrong: Confluent re-uses the latest version's schema.
        return {"schema": draw(not_a_string.filter(lambda value: value is not None))}
    if choice == 2:
        return {
            "schema": valid_schema,
            "schemaType": draw(not_a_string.filter(lambda v: v is not None)),
        }
    if choice == 3:
        return {
            "schema": valid_schema,
            "schemaType": draw(
                st.text(max_size=12).filter(
                    lambda text: text.upper() not in {"AVRO", "JSON", "PROTOBUF", ""}
                )
            ),
        }
    if choice == 4:
        return {"schema": valid_schema, "references": draw(not_a_list)}
    bad_reference = draw(
        st.fixed_dictionaries(
            {},
            optional={
                "name": not_a_string,
                "subject": not_a_string,
                "version": json_values.filter(
                    lambda v: not isinstance(v, int) or isinstance(v, bool)
                ),
            },
        ).filter(bool)
    )
    return {"schema": valid_schema, "references": [bad_reference]}


@st.composite
def broken_schema_bodies(draw: st.DrawFn) -> dict[str, Any]:
    """A well-formed body whose schema text is not a valid schema of its type."""
    if draw(st.booleans()):
        text = draw(st.sampled_from(BROKEN_AVRO) | non_json_text)
        body: dict[str, Any] = {"schema": text}
        if draw(st.booleans()):
            body["schemaType"] = "AVRO"
        return body
    text = draw(st.sampled_from(BROKEN_JSON_SCHEMA) | non_json_text)
    return {"schema": text, "schemaType": "JSON"}


@st.composite
def deeply_nested_bodies(draw: st.DrawFn) -> bytes:
    """JSON nested far beyond any real schema, in the body itself or inside the schema text.

    Depths stay under the body limit so the nesting, not the size, is what gets refused.
    """
    shapes = {
        "body-array": lambda depth: _nested(depth, "[", "]"),
        "body-object": lambda depth: _nested(depth, '{"a":', "}"),
        "schema-array": lambda depth: json.dumps({"schema": _nested(depth, "[", "]")}),
        "avro-array": lambda depth: json.dumps(
            {"schema": _nested(depth, '{"type":"array","items":', "}", '"int"')}
        ),
        "json-schema": lambda depth: json.dumps(
            {"schemaType": "JSON", "schema": _nested(depth, '{"properties":{"a":', "}}", "{}")}
        ),
        "avro-default": lambda depth: json.dumps(
            {
                "schema": '{"type":"record","name":"R","fields":[{"name":"a","type":'
                '{"type":"array","items":"int"},"default":' + _nested(depth, "[", "]") + "}]}"
            }
        ),
    }
    shape = shapes[draw(st.sampled_from(sorted(shapes)))]
    depth = draw(deep_depth)
    while len(shape(depth)) > MAX_REQUEST_BYTES - 64:
        depth //= 2
    return shape(depth).encode()


def snapshot(client: FlaskClient) -> dict[str, Any]:
    """Everything a client can read about the store, soft-deleted state included."""

    def read(path: str) -> tuple[int, Any]:
        response = client.get(path)
        return response.status_code, response.get_json(silent=True)

    state: dict[str, Any] = {
        "/subjects": read("/subjects?deleted=true"),
        "/schemas": read("/schemas?deleted=true"),
        "/config": read("/config"),
        "/mode": read("/mode"),
    }
    for subject in state["/subjects"][1]:
        versions_path = f"/subjects/{subject}/versions?deleted=true"
        state[versions_path] = read(versions_path)
        for version in state[versions_path][1]:
            version_path = f"/subjects/{subject}/versions/{version}?deleted=true"
            state[version_path] = read(version_path)
        state[f"/config/{subject}"] = read(f"/config/{subject}")
        state[f"/mode/{subject}"] = read(f"/mode/{subject}")
    return state


def assert_rejected(response: Any) -> dict[str, Any]:
    assert 400 <= response.status_code < 500, (response.status_code, response.get_data()[:300])
    body = response.get_json(silent=True, force=True)
    assert isinstance(body, dict), response.get_data()[:300]
    assert isinstance(body.get("error_code"), int) and not isinstance(body["error_code"], bool)
    assert isinstance(body.get("message"), str) and body["message"]
    return body


@pytest.fixture
def hostile(tmp_path: Path) -> Callable[[str, str, bytes, str], dict[str, Any]]:
    """Send one request that must be refused; check the refusal and that nothing changed."""
    app = build_app(tmp_path)
    client = app.test_client()
    before = snapshot(client)

    def send(
        method: str, path: str, body: bytes, content_type: str = CONTENT_TYPE
    ) -> dict[str, Any]:
        response = client.open(path, method=method, data=body, content_type=content_type)
        error = assert_rejected(response)
        assert snapshot(client) == before, f"{method} {path} changed the store"
        return error

    return send


HOSTILE_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@HOSTILE_SETTINGS
@given(route=st.sampled_from(ALL_BODY_ROUTES), body=invalid_utf8)
def test_invalid_utf8_is_refused(
    hostile: Callable[..., dict], route: tuple[str, str], body: bytes
) -> None:
    hostile(*route, body)


@HOSTILE_SETTINGS
@given(route=st.sampled_from(ALL_BODY_ROUTES), body=deeply_nested_bodies())
def test_deeply_nested_json_is_refused(
    hostile: Callable[..., dict], route: tuple[str, str], body: bytes
) -> None:
    hostile(*route, body)


@HOSTILE_SETTINGS
@given(route=st.sampled_from(SCHEMA_ROUTES), body=wrong_type_schema_bodies())
def test_schema_bodies_with_wrong_types_are_refused(
    hostile: Callable[..., dict], route: tuple[str, str], body: Any
) -> None:
    hostile(*route, json.dumps(body).encode())


@HOSTILE_SETTINGS
@given(route=st.sampled_from(SCHEMA_ROUTES), body=broken_schema_bodies())
def test_broken_schemas_are_refused(
    hostile: Callable[..., dict], route: tuple[str, str], body: dict
) -> None:
    error = hostile(*route, json.dumps(body).encode())
    if route[1].endswith("/versions") and not route[1].startswith("/compatibility"):
        assert error["error_code"] == 42201


@HOSTILE_SETTINGS
@given(
    route=st.sampled_from(CONFIG_ROUTES),
    level=not_a_string
    | st.text(max_size=20).filter(
        lambda text: (
            text.upper()
            not in {
                "BACKWARD",
                "BACKWARD_TRANSITIVE",
                "FORWARD",
                "FORWARD_TRANSITIVE",
                "FULL",
                "FULL_TRANSITIVE",
                "NONE",
            }
        )
    ),
)
def test_invalid_compatibility_levels_are_refused(
    hostile: Callable[..., dict], route: tuple[str, str], level: Any
) -> None:
    error = hostile(*route, json.dumps({"compatibility": level}).encode())
    if isinstance(level, str):
        assert error["error_code"] == 42203


@HOSTILE_SETTINGS
@given(
    route=st.sampled_from(MODE_ROUTES),
    mode=not_a_string
    | st.text(max_size=20).filter(
        lambda text: text.upper() not in {"READWRITE", "READONLY", "READONLY_OVERRIDE", "IMPORT"}
    ),
)
def test_invalid_modes_are_refused(
    hostile: Callable[..., dict], route: tuple[str, str], mode: Any
) -> None:
    error = hostile(*route, json.dumps({"mode": mode}).encode())
    if isinstance(mode, str):
        assert error["error_code"] == 42204


@pytest.mark.parametrize(("method", "path"), ALL_BODY_ROUTES)
def test_body_over_the_limit_is_refused_with_413(
    hostile: Callable[..., dict], method: str, path: str
) -> None:
    body = json.dumps({"schema": "x" * (MAX_REQUEST_BYTES + 1)}).encode()
    error = hostile(method, path, body)
    assert error["error_code"] == 413


@pytest.mark.parametrize(("method", "path"), SCHEMA_ROUTES)
def test_large_garbage_schema_under_the_limit_is_refused(
    hostile: Callable[..., dict], method: str, path: str
) -> None:
    hostile(method, path, json.dumps({"schema": "{" * (MAX_REQUEST_BYTES - 100)}).encode())


@pytest.mark.parametrize(("method", "path"), ALL_BODY_ROUTES)
@pytest.mark.parametrize("body", [b"", b"   ", b"{", b"null", b"[]", b'"text"', b"{}"])
def test_empty_and_truncated_bodies_are_refused(
    hostile: Callable[..., dict], method: str, path: str, body: bytes
) -> None:
    if body == b"{}" and (method, path) == ("POST", f"/subjects/{SEED_SUBJECT}/versions"):
        pytest.skip("a schema-less registration repeats the latest version, as in Confluent")
    hostile(method, path, body)


def test_blank_schema_repeats_the_latest_version_without_change(tmp_path: Path) -> None:
    """Confluent's maybePopulateFromPrevious: no new id, no new version."""
    client = build_app(tmp_path).test_client()
    before = snapshot(client)
    for body in ({}, {"schema": ""}, {"schema": "  "}):
        response = client.post(
            f"/subjects/{SEED_SUBJECT}/versions", data=json.dumps(body), content_type=CONTENT_TYPE
        )
        assert response.status_code == 200, response.get_data()
        assert response.get_json()["id"] == 1
    assert snapshot(client) == before
    fresh = client.post(
        "/subjects/brand-new-subject/versions",
        data=json.dumps({"schema": ""}),
        content_type=CONTENT_TYPE,
    )
    assert_rejected(fresh)


def test_unknown_route_and_method_answer_confluent_errors(tmp_path: Path) -> None:
    client = build_app(tmp_path).test_client()
    missing = client.get("/no/such/route")
    assert missing.status_code == 404
    assert missing.get_json() == {"error_code": 404, "message": "HTTP 404 Not Found"}
    wrong_method = client.patch("/subjects")
    assert wrong_method.status_code == 405
    assert wrong_method.get_json()["error_code"] == 405
