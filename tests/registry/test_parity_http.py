"""Parity with Confluent Schema Registry at the HTTP level, through Flask's test client.

Content negotiation (Jersey over Confluent's ``@Produces``), request bodies in
UTF-16/UTF-32 (Jackson's detection), compatibility tests against a version that
is not live (``CompatibilityResource``: 40402), schema ids that are not Java
ints (Jersey's 404), the 42203 text (``RestInvalidCompatibilityException``),
``GET /v1/metadata/id`` (``ServerMetadataResource``) and Charter's ``GET /health``.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import peewee
import pytest
from flask import Flask
from flask.testing import FlaskClient

import charter
from broker.cluster_id import load_or_create_cluster_id
from charter.app import create_app
from charter.config import Settings
from tests.registry.test_api import CONTENT_TYPE, INCOMPATIBLE, V1, V2, register, send

V1_JSON = CONTENT_TYPE
DEFAULT_JSON = "application/vnd.schemaregistry+json"
JSON = "application/json"
NOT_ACCEPTABLE = {"error_code": 406, "message": "HTTP 406 Not Acceptable"}
NOT_FOUND = {"error_code": 404, "message": "HTTP 404 Not Found"}
INVALID_LEVEL = (
    "Invalid compatibility level. Valid values are none, backward, forward, full, "
    "backward_transitive, forward_transitive, and full_transitive"
)


def error_body(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    return json.loads(response.get_data())


# -- content negotiation ------------------------------------------------------------------


def routes_to_read(client: FlaskClient) -> list[str]:
    """One GET per kind of answer: lists, objects, raw schemas, errors, unknown paths."""
    register(client, "s", V1)
    return [
        "/",
        "/subjects",
        "/subjects/s/versions",
        "/subjects/s/versions/latest",
        "/subjects/s/versions/1/schema",
        "/schemas/ids/1",
        "/schemas/ids/1/schema",
        "/schemas/ids/1/versions",
        "/schemas/types",
        "/config",
        "/mode",
        "/contexts",
        "/v1/metadata/id",
        "/subjects/missing/versions",  # 40401
        "/schemas/ids/99",  # 40403
        "/schemas/ids/abc",  # 404
        "/subjects/s/versions/abc",  # 42202
    ]


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, V1_JSON),
        ("*/*", V1_JSON),
        (JSON, JSON),
        (V1_JSON, V1_JSON),
        (DEFAULT_JSON, DEFAULT_JSON),
        (f"{JSON}, {DEFAULT_JSON}", DEFAULT_JSON),
        (f"{JSON};q=0.9, {DEFAULT_JSON};q=0.5, {V1_JSON};q=0.1", JSON),
        (f"{V1_JSON}, {DEFAULT_JSON}, {JSON}", V1_JSON),
    ],
)
def test_every_answer_is_sent_as_the_negotiated_type(
    client: FlaskClient, accept: str | None, expected: str
) -> None:
    headers = {"Accept": accept} if accept is not None else {}
    for path in routes_to_read(client):
        response = client.get(path, headers=headers)
        assert response.status_code < 500, path
        assert response.headers["Content-Type"] == expected, path
        json.loads(response.get_data())  # still the same JSON body


def test_bodies_do_not_change_with_the_content_type(client: FlaskClient) -> None:
    for path in routes_to_read(client):
        as_v1 = client.get(path)
        as_json = client.get(path, headers={"Accept": JSON})
        assert (as_json.status_code, as_json.get_data()) == (as_v1.status_code, as_v1.get_data())


@pytest.mark.parametrize("accept", ["text/plain", "application/xml, text/html", f"{JSON};q=0"])
def test_nothing_acceptable_is_406_on_every_route(client: FlaskClient, accept: str) -> None:
    for path in routes_to_read(client):
        if path == "/schemas/ids/abc":
            continue  # no route: 404 whatever the Accept header
        response = client.get(path, headers={"Accept": accept})
        assert error_body(response, 406) == NOT_ACCEPTABLE, path
        assert response.headers["Content-Type"] == V1_JSON


def test_406_comes_before_the_body_is_read_and_changes_nothing(client: FlaskClient) -> None:
    text_only = {"Accept": "text/plain"}
    refused = send(client, "POST", "/subjects/s/versions", {"schema": V1}, headers=text_only)
    assert error_body(refused, 406) == NOT_ACCEPTABLE
    garbage = client.post(
        "/subjects/s/versions", data=b"{nope", content_type=V1_JSON, headers=text_only
    )
    assert error_body(garbage, 406) == NOT_ACCEPTABLE
    config = send(client, "PUT", "/config", {"compatibility": "NONE"}, headers=text_only)
    assert error_body(config, 406) == NOT_ACCEPTABLE
    assert client.get("/subjects").get_json() == []
    assert client.get("/config").get_json() == {"compatibilityLevel": "BACKWARD"}


def test_unknown_routes_and_methods_answer_in_the_negotiated_type(client: FlaskClient) -> None:
    missing = client.get("/no/such/route", headers={"Accept": JSON})
    assert error_body(missing, 404) == NOT_FOUND
    assert missing.headers["Content-Type"] == JSON
    wrong_method = client.patch("/subjects", headers={"Accept": DEFAULT_JSON})
    assert error_body(wrong_method, 405)["error_code"] == 405
    assert wrong_method.headers["Content-Type"] == DEFAULT_JSON
    # Jersey finds no resource before it negotiates: 404, in the default type.
    unacceptable = client.get("/no/such/route", headers={"Accept": "text/plain"})
    assert error_body(unacceptable, 404) == NOT_FOUND
    assert unacceptable.headers["Content-Type"] == V1_JSON


def test_write_routes_answer_in_the_negotiated_type(client: FlaskClient) -> None:
    accept_json = {"Accept": JSON}
    registered = send(client, "POST", "/subjects/s/versions", {"schema": V1}, headers=accept_json)
    assert registered.status_code == 200
    assert registered.headers["Content-Type"] == JSON
    conflict = send(
        client, "POST", "/subjects/s/versions", {"schema": INCOMPATIBLE}, headers=accept_json
    )
    assert error_body(conflict, 409)["error_code"] == 409
    assert conflict.headers["Content-Type"] == JSON
    deleted = client.delete("/subjects/s/versions/1", headers=accept_json)
    assert deleted.get_json() == 1 and deleted.headers["Content-Type"] == JSON


# -- request bodies in UTF-16 / UTF-32 ----------------------------------------------------

ENCODINGS = [
    ("utf-8", b""),
    ("utf-8", codecs.BOM_UTF8),
    ("utf-16-be", b""),
    ("utf-16-le", b""),
    ("utf-16-be", codecs.BOM_UTF16_BE),
    ("utf-16-le", codecs.BOM_UTF16_LE),
    ("utf-32-be", b""),
    ("utf-32-le", b""),
    ("utf-32-be", codecs.BOM_UTF32_BE),
    ("utf-32-le", codecs.BOM_UTF32_LE),
]


def encoded(document: Any, encoding: str, mark: bytes) -> bytes:
    return mark + json.dumps(document, ensure_ascii=False).encode(encoding)


@pytest.mark.parametrize(("encoding", "mark"), ENCODINGS)
def test_bodies_in_every_unicode_encoding_are_read(
    client: FlaskClient, encoding: str, mark: bytes
) -> None:
    # A doc with characters outside ASCII and the BMP, so the encoding really matters.
    schema = json.dumps(
        {
            "type": "record",
            "name": "Größe",
            "namespace": "enc",
            "doc": "Maße 📏",
            "fields": [{"name": "id", "type": "long"}],
        },
        ensure_ascii=False,
    )

    def post(path: str, document: Any) -> Any:
        return client.post(path, data=encoded(document, encoding, mark), content_type=V1_JSON)

    registered = post("/subjects/enc/versions", {"schema": schema})
    assert registered.status_code == 200, registered.get_data(as_text=True)
    schema_id = registered.get_json()["id"]
    assert "📏" in client.get(f"/schemas/ids/{schema_id}").get_json()["schema"]
    found = post("/subjects/enc", {"schema": schema})
    assert found.get_json()["id"] == schema_id
    verdict = post("/compatibility/subjects/enc/versions/latest", {"schema": schema})
    assert verdict.get_json() == {"is_compatible": True}
    config = client.put(
        "/config/enc", data=encoded({"compatibility": "FULL"}, encoding, mark), content_type=JSON
    )
    assert config.get_json() == {"compatibility": "FULL"}


def test_a_charset_parameter_is_ignored_as_jackson_ignores_it(client: FlaskClient) -> None:
    body = json.dumps({"schema": V1}).encode("utf-16-le")
    response = client.post(
        "/subjects/s/versions", data=body, content_type="application/json; charset=utf-8"
    )
    assert response.status_code == 200, response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (codecs.BOM_UTF16_LE + '{"schema": "'.encode("utf-16-le") + b"\x00\xd8", "UTF-16"),
        (b"\x00\x00\xff\xfe" + b"{}", "2143"),
        ('{"schema": "x"}'.encode("utf-16-be")[:-1], "UTF-16"),  # cut in a code unit
        ("  ".encode("utf-16-le"), "empty"),
    ],
)
def test_undecodable_bodies_are_400_and_change_nothing(
    client: FlaskClient, body: bytes, reason: str
) -> None:
    response = client.post("/subjects/s/versions", data=body, content_type=V1_JSON)
    message = error_body(response, 400)["message"]
    assert reason in message
    assert client.get("/subjects").get_json() == []


# -- compatibility against one version ----------------------------------------------------


def check(client: FlaskClient, subject: str, version: str, schema: str = V2) -> Any:
    return send(
        client, "POST", f"/compatibility/subjects/{subject}/versions/{version}", {"schema": schema}
    )


def assert_version_not_found(response: Any, version: str) -> None:
    assert error_body(response, 404) == {
        "error_code": 40402,
        "message": f"Version {version} not found.",
    }


def test_a_version_that_is_not_live_is_40402(client: FlaskClient) -> None:
    register(client, "s", V1)
    register(client, "s", V2)
    assert check(client, "s", "2").get_json() == {"is_compatible": True}
    assert_version_not_found(check(client, "s", "3"), "3")  # never registered
    client.delete("/subjects/s/versions/2")
    assert_version_not_found(check(client, "s", "2"), "2")  # soft-deleted
    # latest is the newest live version
    assert check(client, "s", "latest", INCOMPATIBLE).get_json() == {"is_compatible": False}
    assert check(client, "s", "-1", V2).get_json() == {"is_compatible": True}


def test_a_subject_that_is_gone_is_40402_for_a_number_and_compatible_for_latest(
    client: FlaskClient,
) -> None:
    assert_version_not_found(check(client, "never", "1"), "1")
    assert check(client, "never", "latest").get_json() == {"is_compatible": True}
    register(client, "s", V1)
    client.delete("/subjects/s")  # soft: no live version left
    assert_version_not_found(check(client, "s", "1"), "1")
    assert check(client, "s", "latest", INCOMPATIBLE).get_json() == {"is_compatible": True}
    client.delete("/subjects/s?permanent=true")  # hard
    assert_version_not_found(check(client, "s", "1"), "1")
    assert check(client, "s", "latest", INCOMPATIBLE).get_json() == {"is_compatible": True}


def test_the_version_is_looked_up_before_the_schema_is_parsed(client: FlaskClient) -> None:
    register(client, "s", V1)
    assert_version_not_found(check(client, "s", "9", "not a schema"), "9")
    assert error_body(check(client, "s", "1", "not a schema"), 422)["error_code"] == 42201
    assert error_body(check(client, "s", "0"), 422)["error_code"] == 42202


# -- schema ids that are not Java ints ----------------------------------------------------


@pytest.mark.parametrize("schema_id", ["abc", "1.5", "0x10", "2147483648", "-2147483649", "1e3"])
@pytest.mark.parametrize("suffix", ["", "/schema", "/versions", "/subjects"])
def test_an_id_that_is_not_an_int_is_an_unknown_path(
    client: FlaskClient, schema_id: str, suffix: str
) -> None:
    response = client.get(f"/schemas/ids/{schema_id}{suffix}")
    assert error_body(response, 404) == NOT_FOUND
    assert response.headers["Content-Type"] == V1_JSON


def test_an_int_that_names_no_schema_is_40403(client: FlaskClient) -> None:
    for schema_id in ("0", "-1", "2147483647", "-2147483648"):
        assert error_body(client.get(f"/schemas/ids/{schema_id}"), 404) == {
            "error_code": 40403,
            "message": f"Schema {int(schema_id)} not found",
        }


def test_ints_are_read_as_java_reads_them(client: FlaskClient) -> None:
    schema_id = register(client, "s", V1).get_json()["id"]
    for spelling in (f"+{schema_id}", f"00{schema_id}"):
        assert client.get(f"/schemas/ids/{spelling}").get_json()["schema"]


# -- 42203 -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/config", "/config/s"])
@pytest.mark.parametrize("body", [{"compatibility": "SIDEWAYS"}, {"compatibilityLevel": ""}, {}])
def test_invalid_level_message_is_confluents_text(
    client: FlaskClient, path: str, body: dict[str, Any]
) -> None:
    response = send(client, "PUT", path, body)
    assert error_body(response, 422) == {"error_code": 42203, "message": INVALID_LEVEL}


# -- GET /v1/metadata/id ------------------------------------------------------------------


def test_metadata_id_names_the_kafka_cluster_of_the_data_dir(
    app: Flask, client: FlaskClient
) -> None:
    response = client.get("/v1/metadata/id")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == V1_JSON
    body = response.get_json()
    data_dir = app.extensions["charter.settings"].data_dir
    assert body == {
        "scope": {
            "path": [],
            "clusters": {
                "kafka-cluster": load_or_create_cluster_id(data_dir),
                "schema-registry-cluster": "schema-registry",
            },
        }
    }
    assert (Path(data_dir) / "cluster_id").read_text().strip() == body["scope"]["clusters"][
        "kafka-cluster"
    ]
    assert client.get("/v1/metadata/id").get_json() == body  # stable


def test_metadata_id_reads_an_existing_cluster_id(tmp_path: Path) -> None:
    (tmp_path / "cluster_id").write_text("MkU3OEVBNTcwNTJENDM2Qk\n")
    app = create_app(Settings(data_dir=tmp_path))
    try:
        clusters = app.test_client().get("/v1/metadata/id").get_json()["scope"]["clusters"]
    finally:
        app.extensions["charter.database"].close()
    assert clusters["kafka-cluster"] == "MkU3OEVBNTcwNTJENDM2Qk"


def test_metadata_id_when_the_cluster_id_cannot_be_read_is_50001(tmp_path: Path) -> None:
    app = create_app(Settings(data_dir=tmp_path))
    (tmp_path / "cluster_id").mkdir()  # a directory where the file should be
    try:
        response = app.test_client().get("/v1/metadata/id")
    finally:
        app.extensions["charter.database"].close()
    assert error_body(response, 500)["error_code"] == 50001


# -- GET /health ---------------------------------------------------------------------------


def test_health_is_up_while_the_database_answers(client: FlaskClient) -> None:
    response = client.get("/health")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.get_json() == {
        "status": "UP",
        "checks": [{"name": "database", "status": "UP"}],
    }
    assert client.head("/health").status_code == 200


def test_health_is_down_while_the_database_fails_then_up_again(
    app: Flask, client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = app.extensions["charter.database"]

    def fail(*args: Any, **kwargs: Any) -> Any:
        raise peewee.OperationalError("unable to open database file")

    with monkeypatch.context() as patched:
        patched.setattr(database, "execute_sql", fail)
        response = client.get("/health")
        assert response.status_code == 503
        assert response.get_json() == {
            "status": "DOWN",
            "checks": [{"name": "database", "status": "DOWN"}],
        }
        assert "unable to open" not in response.get_data(as_text=True)
    recovered = client.get("/health")
    assert recovered.status_code == 200 and recovered.get_json()["status"] == "UP"


def test_metadata_version_names_charter_s_version(client: FlaskClient) -> None:
    response = client.get("/v1/metadata/version")
    assert response.status_code == 200
    assert response.get_json() == {"version": charter.__version__}


def test_a_trailing_slash_is_the_same_route_as_in_jersey(client: FlaskClient) -> None:
    """Jersey's path templates end in an optional ``/``: ``/subjects/`` is ``/subjects``."""
    schema = json.dumps({"type": "record", "name": "S", "fields": [{"name": "x", "type": "int"}]})
    body = json.dumps({"schema": schema})
    registered = client.post("/subjects/s/versions/", data=body, content_type=CONTENT_TYPE)
    assert registered.get_json()["version"] == 1
    assert client.get("/subjects/").get_json() == ["s"]
    assert client.get("/subjects/s/versions/").get_json() == [1]
    assert client.get("/subjects/s/versions/latest/").get_json()["subject"] == "s"
    found = client.post("/subjects/s/", data=body, content_type=CONTENT_TYPE)
    assert found.get_json()["version"] == 1
    assert client.get("/config/").get_json() == {"compatibilityLevel": "BACKWARD"}
    assert client.get(f"/schemas/ids/{registered.get_json()['id']}/").status_code == 200
    # A subject ending in "/" is sent encoded and keeps its slash.
    client.post("/subjects/t%2F/versions", data=body, content_type=CONTENT_TYPE)
    assert client.get("/subjects").get_json() == ["s", "t/"]
    assert client.delete("/subjects/s/").get_json() == [1]
