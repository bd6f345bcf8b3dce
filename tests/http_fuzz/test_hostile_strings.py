"""Hostile strings wherever the HTTP API takes text: catalog search and its filters, lineage,
impact, entity and glossary names, audit filters, registry subjects, DEK names and the UI pages.

Quotes, FTS5 and ``tsquery`` operators, NUL bytes, huge strings and odd unicode must get an
answer (a result, a 404 or a 4xx naming the problem), never a 500, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.http_fuzz.stack import DERANDOMIZE, examples, seeded_app

OPERATORS = [
    '"',
    "'",
    '"email',
    'email"*',
    "*",
    "e*",
    "NEAR(a b)",
    "a NEAR/2 b",
    "a AND",
    "OR b",
    "NOT",
    "a OR NOT b",
    "^email",
    "email:*",
    "a & b | !c",
    "a <-> b",
    "a:* & !",
    "(",
    ")",
    "((a)",
    "{a b}",
    "col:value",
    "name : email",
    "-",
    "--",
    "+a -b",
    "\\",
    "%",
    "_",
    "%' OR 1=1 --",
    "'; DROP TABLE catalog_entity; --",
    "\x00",
    "a\x00b",
    "\x00" * 50,
    "\u202e\u200b\ufeff",
    "ﬁ ß İ ǅ",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🎉",
    "\U0010ffff",
    " ",
    "\t\n\r",
    "a" * 10_000,
    "email " * 2_000,
    "x:*" * 3_000,
]
hostile_text = st.sampled_from(OPERATORS) | st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300
)


def _get(client: FlaskClient, path: str, **params: str) -> None:
    response = client.get(path, query_string=params)
    _assert_answered(response, path)


def _assert_answered(response, path: str) -> None:
    assert response.status_code < 500, (path, response.status_code, response.get_data()[:300])
    if response.status_code >= 400 and not path.startswith("/ui/"):
        body = response.get_json(silent=True, force=True)
        assert isinstance(body, dict) and body.get("message"), (path, response.get_data()[:300])


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def app(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Flask]:
    url = request.getfixturevalue("pg_module_url") if request.param == "postgresql" else ""
    with seeded_app(tmp_path_factory.mktemp(request.param), database_url=url) as application:
        yield application


HOSTILE = settings(
    max_examples=examples(40),
    deadline=None,
    derandomize=DERANDOMIZE,
    database=None,
    suppress_health_check=list(HealthCheck),
)


@HOSTILE
@given(text=hostile_text, filter_text=hostile_text)
def test_catalog_search_never_fails(app: Flask, text: str, filter_text: str) -> None:
    client = app.test_client()
    _get(client, "/catalog/v1/search", q=text)
    for name in ("type", "tag", "owner", "domain"):
        _get(client, "/catalog/v1/search", q=text, **{name: filter_text})
    _get(client, "/ui/", q=text)


@HOSTILE
@given(text=hostile_text.filter(lambda text: "\x00" not in text))
def test_operators_are_words_not_syntax(app: Flask, text: str) -> None:
    """Any text around ``email`` still answers 200, and finds the seeded email field unless the
    text adds a word of its own that nothing contains."""
    response = app.test_client().get("/catalog/v1/search", query_string={"q": f"{text} email"})
    assert response.status_code == 200, response.get_data()[:300]
    if not any(character.isalnum() for character in text):
        names = [entity["name"] for entity in response.get_json()["results"]]
        assert "email" in names, (text, names)


@pytest.mark.parametrize(
    "path",
    [
        "/catalog/v1/search?q=a%00b",
        "/catalog/v1/entities/subject:a%00b",
        "/subjects/a%00b/versions",
        "/governance/v1/audit?resource=%00",
        "/governance/v1/audit?action=%00",
        "/governance/v1/audit?outcome=%00",
        "/security/v1/audit?outcome=%00",
        "/security/v1/apikeys?user=%00",
        "/catalog/v1/lineage?entity=subject:%00",
        "/subjects?subjectPrefix=%00",
        "/schemas?subjectPrefix=%00&latestOnly=true",
        "/dek-registry/v1/keks/%00",
        "/ui/?q=%00",
        "/ui/governance?action=%00",
        "/subjects?ignored%00=1",
    ],
)
def test_nul_bytes_in_urls_are_refused_by_name(app: Flask, path: str) -> None:
    response = app.test_client().get(path)
    assert response.status_code == 400
    assert response.get_json() == {
        "error_code": 400,
        "message": "NUL bytes (%00) are not allowed in URLs",
    }


@HOSTILE
@given(text=hostile_text)
def test_names_in_query_strings_never_fail(app: Flask, text: str) -> None:
    client = app.test_client()
    _get(client, "/catalog/v1/lineage", entity=text)
    _get(client, "/catalog/v1/impact", subject=text)
    _get(client, "/governance/v1/audit", action=text, resource=text)
    _get(client, "/security/v1/audit", outcome=text)
    _get(client, "/security/v1/rolebindings", principal=text)
    _get(client, "/security/v1/apikeys", user=text)
    _get(client, "/ui/governance", action=text, resource=text)


@HOSTILE
@given(text=hostile_text.filter(lambda text: text not in {"", ".", ".."}))
def test_names_in_paths_never_fail(app: Flask, text: str) -> None:
    client = app.test_client()
    name = quote(text[:2_000], safe="")
    for path in (
        f"/catalog/v1/entities/{name}",
        f"/catalog/v1/entities/subject:{name}",
        f"/subjects/{name}/versions",
        f"/subjects/{name}/versions/latest",
        f"/config/{name}",
        f"/mode/{name}",
        f"/governance/v1/policies/{name}",
        f"/dek-registry/v1/keks/{name}",
        f"/dek-registry/v1/keks/kek-1/deks/{name}",
        f"/ui/entities/{name}",
        f"/ui/subjects/{name}",
        f"/ui/topics/{name}",
    ):
        _get(client, path)
    for method, path, body in (
        ("PUT", f"/catalog/v1/glossary/{name}", {"definition": text}),
        ("PUT", f"/catalog/v1/entities/subject:{name}/description", {"description": text}),
        ("POST", "/catalog/v1/entities/subject:orders-value/tags", {"value": text}),
        ("DELETE", f"/catalog/v1/entities/subject:orders-value/tags/{name}", None),
        ("POST", f"/subjects/{name}/versions", {"schema": '"string"'}),
        ("POST", "/dek-registry/v1/keks", {"name": text, "kmsType": "x", "kmsKeyId": "y"}),
        ("POST", "/security/v1/users", {"name": text, "password": "long-enough-password"}),
    ):
        response = client.open(path, method=method, json=body)
        _assert_answered(response, path)


NUL = "\x00"
NUL_BODIES = [
    # (method, path, body, expected status, error code)
    ("POST", "/subjects/nul-1/versions", {"schema": '"string"' + NUL}, 422, 42201),
    (
        "POST",
        "/subjects/nul-2/versions",
        {"schemaType": "PROTOBUF", "schema": f'syntax = "proto3";\n// {NUL}\nmessage A {{}}'},
        422,
        42201,
    ),
    (
        "POST",
        "/subjects/nul-3/versions",
        {"schema": '"string"', "references": [{"name": NUL, "subject": "x", "version": 1}]},
        422,
        422,
    ),
    ("POST", "/dek-registry/v1/keks", {"name": "k", "kmsType": NUL, "kmsKeyId": "y"}, 422, 422),
    (
        "POST",
        "/dek-registry/v1/keks/kek-1/deks",
        {"subject": "s" + NUL, "encryptedKeyMaterial": "AQ=="},
        422,
        422,
    ),
    ("PUT", "/catalog/v1/glossary/t", {"definition": NUL}, 400, 40001),
    ("POST", "/security/v1/users", {"name": NUL, "password": "long-enough-password"}, 422, 42201),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), NUL_BODIES)
def test_nul_characters_in_bodies_are_refused_by_name(
    app: Flask, method: str, path: str, body: dict, status: int, code: int
) -> None:
    response = app.test_client().open(path, method=method, json=body)
    assert response.status_code == status, response.get_data()[:300]
    error = response.get_json(force=True)
    assert error["error_code"] == code, error
    assert "NUL" in error["message"] or "\\x00" in error["message"], error  # names the problem


def test_schemas_holding_nul_escapes_are_catalogued(app: Flask) -> None:
    """A JSON Schema property named ``a\\u0000b`` and a metadata property holding NUL are legal
    schemas; the catalog indexes them without the NUL instead of failing on every retry."""
    client = app.test_client()
    for subject, body in (
        (
            "nul-json-value",
            {
                "schemaType": "JSON",
                "schema": '{"type": "object", "properties": {"nul\\u0000field": {"type": "string",'
                ' "description": "a \\u0000 doc"}}}',
                "metadata": {"properties": {"owner": "team\x00nul"}},
            },
        ),
    ):
        response = client.post(f"/subjects/{subject}/versions", json=body)
        assert response.status_code == 200, response.get_data()
    app.extensions["charter.catalog"].indexer.catch_up()
    field = client.get("/catalog/v1/entities/field:nul-json-value:nulfield")
    assert field.status_code == 200, field.get_data()
    assert field.get_json()["description"] == "a  doc"
    subject = client.get("/catalog/v1/entities/subject:nul-json-value").get_json()
    assert subject["owners"] == ["teamnul"]


BIG = 2**64
OUT_OF_RANGE = [
    # (method, path, body, expected status, error code): ids past 64 bits were a 500
    ("DELETE", f"/security/v1/rolebindings/{BIG}", None, 404, 40404),
    ("DELETE", "/security/v1/rolebindings/0", None, 404, 40404),
    (
        "POST",
        "/dek-registry/v1/keks/kek-1/deks",
        {"subject": "big", "version": BIG, "encryptedKeyMaterial": "AQ=="},
        422,
        42271,
    ),
    (
        "POST",
        "/dek-registry/v1/keks/kek-1/deks",
        {"subject": "big", "version": 2**31, "encryptedKeyMaterial": "AQ=="},
        422,
        42271,
    ),
]


@pytest.mark.parametrize(("method", "path", "body", "status", "code"), OUT_OF_RANGE)
def test_numbers_out_of_range_are_refused(
    app: Flask, method: str, path: str, body: dict | None, status: int, code: int
) -> None:
    response = app.test_client().open(path, method=method, json=body)
    assert response.status_code == status, response.get_data()[:300]
    assert response.get_json(force=True)["error_code"] == code
