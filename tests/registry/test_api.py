"""The Confluent-compatible REST API through Flask's test client: every route and error code."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest
from flask.testing import FlaskClient

from tests.registry.schemas import record_text

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


def record(name: str, *fields: tuple[str, Any], namespace: str = "api") -> str:
    return record_text(name, *fields, namespace=namespace)


V1 = record("User", ("id", "long"))
V2 = json.dumps(
    {
        "type": "record",
        "name": "User",
        "namespace": "api",
        "fields": [
            {"name": "id", "type": "long"},
            {"name": "email", "type": ["null", "string"], "default": None},
        ],
    }
)
INCOMPATIBLE = record("User", ("id", "string"))
JSON_SCHEMA = json.dumps({"type": "object", "properties": {"id": {"type": "integer"}}})


def url(subject: str) -> str:
    """A subject as confluent-kafka puts it in a URL (every reserved character escaped)."""
    return quote(subject, safe="")


def send(client: FlaskClient, method: str, path: str, body: Any = None, **kwargs: Any) -> Any:
    if body is not None:
        kwargs["data"] = json.dumps(body)
        kwargs.setdefault("content_type", CONTENT_TYPE)
    return client.open(path, method=method, **kwargs)


def register(client: FlaskClient, subject: str, schema: str, **extra: Any) -> Any:
    return send(client, "POST", f"/subjects/{url(subject)}/versions", {"schema": schema, **extra})


def assert_error(response: Any, status: int, error_code: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.content_type == CONTENT_TYPE
    body = response.get_json()
    assert body["error_code"] == error_code
    assert isinstance(body["message"], str) and body["message"]
    return body


# -- basics ------------------------------------------------------------------------------


def test_root_types_contexts_and_unknown_routes(client: FlaskClient) -> None:
    response = client.get("/")
    assert response.status_code == 200 and response.get_json() == {}
    assert response.content_type == CONTENT_TYPE
    assert client.get("/schemas/types").get_json() == ["AVRO", "JSON", "PROTOBUF"]
    assert client.get("/contexts").get_json() == ["."]
    assert_error(client.get("/associations/resources/ns/name"), 404, 404)
    assert_error(client.get("/schemas/guids/abc"), 404, 40403)
    assert_error(client.patch("/subjects"), 405, 405)


def test_register_and_fetch_by_id(client: FlaskClient) -> None:
    response = register(client, "orders-value", V1)
    assert response.status_code == 200
    assert response.content_type == CONTENT_TYPE
    body = response.get_json()
    assert body["id"] == 1 and body["version"] == 1
    assert json.loads(body["schema"]) == json.loads(V1)
    assert "schemaType" not in body  # omitted for AVRO, as Confluent does

    fetched = client.get("/schemas/ids/1")
    assert fetched.status_code == 200
    assert fetched.get_json() == {"guid": body["guid"], "schema": body["schema"]}
    raw = client.get("/schemas/ids/1/schema")
    assert raw.get_data(as_text=True) == body["schema"]
    with_max = client.get("/schemas/ids/1?fetchMaxId=true&subject=orders-value&format=resolved")
    assert with_max.get_json()["maxId"] == 1
    assert client.get("/schemas/ids/1/versions").get_json() == [
        {"subject": "orders-value", "version": 1}
    ]
    assert client.get("/schemas/ids/1/subjects").get_json() == ["orders-value"]


def test_schema_id_errors(client: FlaskClient) -> None:
    for path in ("/schemas/ids/1", "/schemas/ids/0", "/schemas/ids/-3"):
        assert_error(client.get(path), 404, 40403)
    # Not a Java int: Jersey cannot convert the path parameter, so the path matches nothing.
    for path in ("/schemas/ids/abc", "/schemas/ids/99999999999"):
        assert_error(client.get(path), 404, 404)
    assert_error(client.get("/schemas/ids/7/versions"), 404, 40403)
    assert_error(client.get("/schemas/ids/7/subjects"), 404, 40403)
    assert_error(client.get("/schemas/ids/7/schema"), 404, 40403)


def test_json_schema_type_is_returned(client: FlaskClient) -> None:
    body = register(client, "j", JSON_SCHEMA, schemaType="JSON").get_json()
    assert body["schemaType"] == "JSON"
    assert client.get(f"/schemas/ids/{body['id']}").get_json()["schemaType"] == "JSON"
    version = client.get("/subjects/j/versions/1").get_json()
    assert version["schemaType"] == "JSON"


def test_idempotent_registration_and_shared_ids(client: FlaskClient) -> None:
    first = register(client, "a", V1).get_json()
    again = register(client, "a", json.dumps(json.loads(V1), indent=2)).get_json()
    other = register(client, "b", V1).get_json()
    assert first["id"] == again["id"] == other["id"]
    assert client.get("/subjects/a/versions").get_json() == [1]
    assert client.get("/schemas/ids/1/subjects").get_json() == ["a", "b"]


# -- subjects with awkward names -------------------------------------------------------

AWKWARD_SUBJECTS = [
    "with/slash",
    "with space",
    "ünïcödé-主题",
    "percent%25literal",
    "question?mark#hash",
    "ends/with/versions",
    "odd/versions/1",
    "x/versions/latest/schema",
    "trailing/",
    "a+b&c=d",
]


@pytest.mark.parametrize("subject", AWKWARD_SUBJECTS)
def test_percent_encoded_subjects_round_trip(client: FlaskClient, subject: str) -> None:
    assert register(client, subject, V1).status_code == 200
    assert register(client, subject, V2).get_json()["version"] == 2
    assert subject in client.get("/subjects").get_json()
    assert client.get(f"/subjects/{url(subject)}/versions").get_json() == [1, 2]
    latest = client.get(f"/subjects/{url(subject)}/versions/latest").get_json()
    assert latest["subject"] == subject and latest["version"] == 2
    raw = client.get(f"/subjects/{url(subject)}/versions/1/schema")
    assert json.loads(raw.get_data(as_text=True)) == json.loads(V1)
    looked_up = send(client, "POST", f"/subjects/{url(subject)}", {"schema": V1}).get_json()
    assert looked_up["version"] == 1
    config = send(client, "PUT", f"/config/{url(subject)}", {"compatibility": "NONE"})
    assert config.get_json() == {"compatibility": "NONE"}
    assert client.get(f"/config/{url(subject)}").get_json() == {"compatibilityLevel": "NONE"}
    assert client.delete(f"/subjects/{url(subject)}/versions/2").get_json() == 2
    assert client.delete(f"/subjects/{url(subject)}").get_json() == [1]
    assert client.delete(f"/subjects/{url(subject)}?permanent=true").get_json() == [1, 2]


# -- versions ------------------------------------------------------------------------------


def test_version_routes_and_errors(client: FlaskClient) -> None:
    register(client, "s", V1)
    register(client, "s", V2)
    assert client.get("/subjects/s/versions/-1").get_json()["version"] == 2
    assert client.get("/subjects/s/versions/1").get_json()["id"] == 1
    for bad in ("abc", "0", "-2", "1.5", "2147483648"):
        assert_error(client.get(f"/subjects/s/versions/{bad}"), 422, 42202)
        assert_error(client.delete(f"/subjects/s/versions/{bad}"), 422, 42202)
        assert_error(client.get(f"/subjects/s/versions/{bad}/schema"), 422, 42202)
    assert_error(client.get("/subjects/s/versions/3"), 404, 40402)
    assert_error(client.get("/subjects/nope/versions/1"), 404, 40401)
    assert_error(client.get("/subjects/nope/versions"), 404, 40401)
    assert_error(client.get("/subjects/nope/versions/1/referencedby"), 404, 40401)


def test_soft_and_permanent_delete_of_versions(client: FlaskClient) -> None:
    register(client, "s", V1)
    register(client, "s", V2)
    assert_error(client.delete("/subjects/s/versions/1?permanent=true"), 404, 40407)
    assert client.delete("/subjects/s/versions/1").get_json() == 1
    assert_error(client.delete("/subjects/s/versions/1"), 404, 40406)
    assert_error(client.get("/subjects/s/versions/1"), 404, 40402)
    deleted = client.get("/subjects/s/versions/1?deleted=true").get_json()
    assert deleted["version"] == 1 and deleted["deleted"] is True
    assert client.get("/subjects/s/versions").get_json() == [2]
    assert client.get("/subjects/s/versions?deleted=true").get_json() == [1, 2]
    assert client.get("/subjects/s/versions?deletedOnly=true").get_json() == [1]
    assert client.get("/subjects/s/versions?deleted_only=True").get_json() == [1]
    assert client.delete("/subjects/s/versions/1?permanent=true").get_json() == 1
    assert_error(client.delete("/subjects/s/versions/1?permanent=true"), 404, 40402)
    assert_error(client.delete("/subjects/nope/versions/1"), 404, 40401)
    # Schema 1 is gone everywhere now: 40403.
    assert_error(client.get("/schemas/ids/1"), 404, 40403)
    assert client.delete("/subjects/s/versions/latest").get_json() == 2


def test_soft_and_permanent_delete_of_subjects(client: FlaskClient) -> None:
    register(client, "s", V1)
    register(client, "s", V2)
    register(client, "keep", V1)
    assert_error(client.delete("/subjects/s?permanent=true"), 404, 40405)
    assert client.delete("/subjects/s").get_json() == [1, 2]
    assert_error(client.delete("/subjects/s"), 404, 40404)
    assert client.get("/subjects").get_json() == ["keep"]
    assert client.get("/subjects?deleted=true").get_json() == ["keep", "s"]
    assert client.get("/subjects?deletedOnly=true").get_json() == ["s"]
    assert_error(client.get("/subjects/s/versions"), 404, 40401)
    assert client.get("/schemas/ids/2").status_code == 200  # soft-deleted ids still resolve
    assert client.delete("/subjects/s?permanent=true").get_json() == [1, 2]
    assert_error(client.get("/schemas/ids/2"), 404, 40403)
    assert client.get("/schemas/ids/1").status_code == 200  # still used by "keep"
    assert_error(client.delete("/subjects/s"), 404, 40401)
    # Re-registering after a permanent delete starts a fresh version sequence.
    assert register(client, "s", V1).get_json() == {
        "id": 1,
        "guid": client.get("/schemas/ids/1").get_json()["guid"],
        "version": 1,
        "schema": client.get("/schemas/ids/1/schema").get_data(as_text=True),
    }


def test_re_registering_a_soft_deleted_schema(client: FlaskClient) -> None:
    register(client, "s", V1)
    client.delete("/subjects/s/versions/1")
    body = register(client, "s", V1).get_json()
    assert body["id"] == 1 and body["version"] == 2


# -- lookup -------------------------------------------------------------------------------


def test_lookup(client: FlaskClient) -> None:
    register(client, "s", V1)
    found = send(client, "POST", "/subjects/s", {"schema": V1})
    assert found.status_code == 200
    body = found.get_json()
    assert body["subject"] == "s" and body["id"] == 1 and body["version"] == 1
    assert json.loads(body["schema"]) == json.loads(V1)
    assert_error(send(client, "POST", "/subjects/s", {"schema": V2}), 404, 40403)
    assert_error(send(client, "POST", "/subjects/nope", {"schema": V1}), 404, 40401)
    assert_error(send(client, "POST", "/subjects/s", {"schema": "{bad"}), 422, 42201)
    client.delete("/subjects/s")
    assert_error(send(client, "POST", "/subjects/s", {"schema": V1}), 404, 40401)
    deleted = send(client, "POST", "/subjects/s?deleted=true", {"schema": V1}).get_json()
    assert deleted["version"] == 1


def test_normalize(client: FlaskClient) -> None:
    response = send(client, "POST", "/subjects/n/versions?normalize=true", {"schema": V1})
    assert response.status_code == 200
    looked = send(client, "POST", "/subjects/n?normalize=true", {"schema": V1})
    assert looked.get_json()["id"] == response.get_json()["id"]
    compat = send(
        client, "POST", "/compatibility/subjects/n/versions/latest?normalize=true", {"schema": V2}
    )
    assert compat.get_json() == {"is_compatible": True}


# -- references and metadata -------------------------------------------------------------

ADDRESS = record("Address", ("street", "string"), namespace="refs")
PERSON = json.dumps(
    {
        "type": "record",
        "name": "Person",
        "namespace": "refs",
        "fields": [{"name": "address", "type": "refs.Address"}],
    }
)


def test_references(client: FlaskClient) -> None:
    register(client, "address", ADDRESS)
    references = [{"name": "refs.Address", "subject": "address", "version": 1}]
    person = register(client, "person", PERSON, references=references).get_json()
    assert person["references"] == references
    assert client.get(f"/schemas/ids/{person['id']}").get_json()["references"] == references
    assert client.get("/subjects/person/versions/1").get_json()["references"] == references
    assert client.get("/subjects/address/versions/1/referencedby").get_json() == [person["id"]]
    assert_error(client.delete("/subjects/address/versions/1"), 422, 42206)
    assert_error(client.delete("/subjects/address"), 422, 42206)
    missing = [{"name": "refs.Address", "subject": "address", "version": 9}]
    assert_error(register(client, "person2", PERSON, references=missing), 422, 42201)
    assert_error(register(client, "person3", PERSON), 422, 42201)
    bad_version = [{"name": "refs.Address", "subject": "address", "version": 0}]
    assert_error(register(client, "person4", PERSON, references=bad_version), 422, 42202)
    looked = send(client, "POST", "/subjects/person", {"schema": PERSON, "references": references})
    assert looked.get_json()["version"] == 1


def test_metadata_and_rule_set_round_trip(client: FlaskClient) -> None:
    metadata = {"properties": {"owner": "team"}, "tags": {"api.User.id": ["PII"]}}
    rule_set = {
        "domainRules": [
            {
                "name": "positive",
                "kind": "CONDITION",
                "mode": "WRITE",
                "type": "CEL",
                "expr": "1 > 0",
            }
        ]
    }
    body = register(client, "m", V1, metadata=metadata, ruleSet=rule_set).get_json()
    # Confluent writes a rule's primitive ``disabled`` flag back even when it was not sent.
    stored_rule_set = {"domainRules": [{**rule_set["domainRules"][0], "disabled": False}]}
    assert body["metadata"] == metadata and body["ruleSet"] == stored_rule_set
    fetched = client.get(f"/schemas/ids/{body['id']}").get_json()
    assert fetched["metadata"] == metadata and fetched["ruleSet"] == stored_rule_set
    # Without metadata the new version inherits the previous one's (Confluent 7.4+): same schema.
    plain = register(client, "m", V1).get_json()
    assert plain["id"] == body["id"] and plain["version"] == 1


# -- listing schemas ---------------------------------------------------------------------


def test_list_schemas(client: FlaskClient) -> None:
    register(client, "orders-value", V1)
    register(client, "orders-value", V2)
    register(client, "users-value", V1)
    everything = client.get("/schemas").get_json()
    assert [(item["subject"], item["version"]) for item in everything] == [
        ("orders-value", 1),
        ("orders-value", 2),
        ("users-value", 1),
    ]
    latest = client.get("/schemas?subjectPrefix=orders&latestOnly=true").get_json()
    assert [(item["subject"], item["version"], item["id"]) for item in latest] == [
        ("orders-value", 2, 2)
    ]
    assert client.get("/subjects?subjectPrefix=users").get_json() == ["users-value"]
    assert client.get("/subjects?offset=1&limit=1").get_json() == ["users-value"]
    # Confluent's normalizeLimit: 0 or less is no limit; Jersey answers an int it cannot
    # convert with 404.
    assert client.get("/subjects?limit=0").get_json() == ["orders-value", "users-value"]
    assert len(client.get("/schemas?limit=-5").get_json()) == 3
    assert client.get("/subjects/orders-value/versions?limit=0&offset=1").get_json() == [2]
    for bad in ("ten", "1.5", "2147483648"):
        assert_error(client.get(f"/subjects?limit={bad}"), 404, 404)
        assert_error(client.get(f"/schemas?offset={bad}"), 404, 404)


# -- compatibility ---------------------------------------------------------------------------


def test_compatibility_routes(client: FlaskClient) -> None:
    register(client, "c", V1)
    path = "/compatibility/subjects/c/versions"
    assert send(client, "POST", f"{path}/latest", {"schema": V2}).get_json() == {
        "is_compatible": True
    }
    verbose = send(client, "POST", f"{path}/1?verbose=true", {"schema": INCOMPATIBLE}).get_json()
    assert verbose["is_compatible"] is False
    assert any("TYPE_MISMATCH" in message for message in verbose["messages"])
    assert send(client, "POST", path, {"schema": INCOMPATIBLE}).get_json() == {
        "is_compatible": False
    }
    assert send(client, "POST", f"{path}?verbose=true", {"schema": V2}).get_json() == {
        "is_compatible": True,
        "messages": [],
    }
    assert_error(send(client, "POST", f"{path}/5", {"schema": V2}), 404, 40402)
    assert_error(send(client, "POST", f"{path}/abc", {"schema": V2}), 422, 42202)
    assert_error(send(client, "POST", f"{path}/1", {"schema": "nope"}), 422, 42201)
    assert_error(
        send(client, "POST", "/compatibility/subjects/none/versions/1", {"schema": V1}), 404, 40402
    )
    new_subject = send(
        client, "POST", "/compatibility/subjects/none/versions/latest", {"schema": V1}
    )
    assert new_subject.get_json() == {"is_compatible": True}


def test_incompatible_registration_is_409(client: FlaskClient) -> None:
    register(client, "c", V1)
    body = assert_error(register(client, "c", INCOMPATIBLE), 409, 409)
    assert "incompatible" in body["message"]
    assert client.get("/subjects/c/versions").get_json() == [1]


# -- config ------------------------------------------------------------------------------------


def test_config_routes(client: FlaskClient) -> None:
    assert client.get("/config").get_json() == {"compatibilityLevel": "BACKWARD"}
    assert send(client, "PUT", "/config", {"compatibility": "full"}).get_json() == {
        "compatibility": "FULL"
    }
    assert client.get("/config").get_json() == {"compatibilityLevel": "FULL"}
    assert_error(client.get("/config/s"), 404, 40408)
    assert client.get("/config/s?defaultToGlobal=true").get_json() == {"compatibilityLevel": "FULL"}
    send(client, "PUT", "/config/s", {"compatibility": "NONE"})
    assert client.get("/config/s").get_json() == {"compatibilityLevel": "NONE"}
    assert client.delete("/config/s").get_json() == {"compatibilityLevel": "NONE"}
    assert_error(client.delete("/config/s"), 404, 40401)
    assert client.delete("/config").get_json() == {"compatibilityLevel": "FULL"}
    assert client.get("/config").get_json() == {"compatibilityLevel": "BACKWARD"}
    assert_error(send(client, "PUT", "/config", {"compatibility": "SIDEWAYS"}), 422, 42203)
    assert_error(send(client, "PUT", "/config/s", {}), 422, 42203)
    assert_error(send(client, "PUT", "/config", {"compatibility": 3}), 422, 422)
    normalize = send(client, "PUT", "/config/s", {"normalize": True})
    assert normalize.get_json() == {"normalize": True}


# -- mode ---------------------------------------------------------------------------------------


def test_mode_routes_and_read_only(client: FlaskClient) -> None:
    assert client.get("/mode").get_json() == {"mode": "READWRITE"}
    assert_error(client.get("/mode/s"), 404, 40409)
    assert client.get("/mode/s?defaultToGlobal=true").get_json() == {"mode": "READWRITE"}
    register(client, "s", V1)
    assert send(client, "PUT", "/mode/s", {"mode": "READONLY"}).get_json() == {"mode": "READONLY"}
    assert_error(register(client, "s", V2), 422, 42205)
    assert_error(client.delete("/subjects/s/versions/1"), 422, 42205)
    assert_error(client.delete("/subjects/s"), 422, 42205)
    assert client.delete("/mode/s").get_json() == {"mode": "READONLY"}
    assert_error(client.delete("/mode/s"), 404, 40401)
    assert_error(send(client, "PUT", "/mode", {"mode": "SOMETIMES"}), 422, 42204)
    assert_error(send(client, "PUT", "/mode", {}), 422, 422)
    send(client, "PUT", "/mode", {"mode": "READONLY_OVERRIDE"})
    assert_error(register(client, "t", V1), 422, 42205)
    assert client.delete("/mode").get_json() == {"mode": "READONLY_OVERRIDE"}
    assert client.get("/mode").get_json() == {"mode": "READWRITE"}


def test_import_mode(client: FlaskClient) -> None:
    register(client, "existing", V1)
    assert_error(send(client, "PUT", "/mode", {"mode": "IMPORT"}), 422, 42205)
    assert_error(register(client, "x", V2, id=50, version=3), 422, 42205)
    assert send(client, "PUT", "/mode?force=true", {"mode": "IMPORT"}).get_json() == {
        "mode": "IMPORT"
    }
    imported = register(client, "x", V2, id=50, version=3).get_json()
    assert imported["id"] == 50 and imported["version"] == 3
    assert client.get("/schemas/ids/50").status_code == 200
    assert_error(register(client, "x", INCOMPATIBLE, id=50), 422, 42205)  # id 50 is taken
    assert_error(register(client, "x", INCOMPATIBLE), 422, 42205)  # IMPORT needs an id
    send(client, "PUT", "/mode", {"mode": "READWRITE"})
    assert register(client, "y", record("Other", ("x", "int"))).get_json()["id"] == 51


# -- hostile input -------------------------------------------------------------------------------

BODY_ROUTES = [
    ("POST", "/subjects/s/versions"),
    ("POST", "/subjects/s"),
    ("POST", "/compatibility/subjects/s/versions"),
    ("POST", "/compatibility/subjects/s/versions/latest"),
    ("PUT", "/config"),
    ("PUT", "/config/s"),
    ("PUT", "/mode"),
    ("PUT", "/mode/s"),
]


@pytest.mark.parametrize(("method", "path"), BODY_ROUTES)
def test_bad_bodies_get_clear_errors(client: FlaskClient, method: str, path: str) -> None:
    register(client, "s", V1)
    cases = [
        (b"", CONTENT_TYPE, 400),
        (b"{not json", CONTENT_TYPE, 400),
        (b"\xff\xfe\x00", "application/json", 400),
        (b'{"schema": NaN}', CONTENT_TYPE, 400),
        (b"[1, 2]", CONTENT_TYPE, 422),
        (b'"text"', "application/octet-stream", 422),
        (b"{}", "text/plain", 415),
    ]
    for body, content_type, status in cases:
        response = client.open(path, method=method, data=body, content_type=content_type)
        assert_error(response, status, status)
    assert client.get("/subjects/s/versions").get_json() == [1]


@pytest.mark.parametrize(
    "body",
    [
        {"schema": 42},
        {"schema": V2, "schemaType": ["AVRO"]},
        {"schema": V2, "references": "nope"},
        {"schema": V2, "references": [{"name": "x"}]},
        {"schema": V2, "references": [{"name": "x", "subject": "s", "version": "1"}]},
        {"schema": V2, "metadata": "nope"},
        {"schema": V2, "ruleSet": [1]},
        {"schema": V2, "id": "7"},
        {"schema": V2, "version": True},
    ],
)
def test_wrong_field_types_are_422(client: FlaskClient, body: dict[str, Any]) -> None:
    assert_error(send(client, "POST", "/subjects/s/versions", body), 422, 422)
    assert client.get("/subjects").get_json() == []


def test_missing_or_empty_schema_and_unknown_type(client: FlaskClient) -> None:
    assert_error(send(client, "POST", "/subjects/s/versions", {"schemaType": "AVRO"}), 422, 42201)
    assert_error(send(client, "POST", "/subjects/s/versions", {"schema": ""}), 422, 42201)
    assert_error(register(client, "s", V1, schemaType="XML"), 422, 42201)
    assert client.get("/subjects").get_json() == []


def test_content_types_accepted(client: FlaskClient) -> None:
    body = json.dumps({"schema": V1}).encode()
    for index, content_type in enumerate(
        [
            "application/vnd.schemaregistry.v1+json",
            "application/vnd.schemaregistry+json",
            "application/json; charset=utf-8",
            "application/octet-stream",
            None,
        ]
    ):
        headers = {} if content_type is None else {"Content-Type": content_type}
        response = client.post(f"/subjects/s{index}/versions", data=body, headers=headers)
        assert response.status_code == 200, (content_type, response.get_json())


def test_unknown_fields_are_ignored(client: FlaskClient) -> None:
    response = register(client, "s", V1, somethingNew={"a": 1})
    assert response.status_code == 200


def test_oversized_body_is_413(tmp_path: Any) -> None:
    from charter.app import create_app
    from charter.config import Settings

    small_app = create_app(Settings(data_dir=tmp_path, max_request_bytes=1024))
    small = small_app.test_client()
    response = send(small, "POST", "/subjects/s/versions", {"schema": "x" * 4096})
    assert_error(response, 413, 413)
    assert small.get("/subjects").get_json() == []
    small_app.extensions["charter.events"].stop()


def test_lookup_of_a_subject_named_like_a_route(client: FlaskClient) -> None:
    register(client, "x", V1)
    register(client, "x/versions", V2)
    assert (
        send(client, "POST", f"/subjects/{url('x/versions')}", {"schema": V2}).get_json()["subject"]
        == "x/versions"
    )
    assert client.get("/subjects/x%FF%2Fy/versions").status_code == 404


def test_invalid_subject_is_42208(client: FlaskClient) -> None:
    assert_error(register(client, "bad\x01subject", V1), 422, 42208)


def test_store_failure_is_50001_json(client: FlaskClient, app: Any) -> None:
    register(client, "s", V1)
    app.extensions["charter.database"].execute_sql("DROP TABLE registry_subject_version")
    assert_error(client.get("/schemas/ids/1"), 500, 50001)
    assert_error(client.get("/subjects"), 500, 50001)


def test_deeply_nested_bodies_and_schemas_are_refused(client: FlaskClient) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert_error(
        client.post("/subjects/s/versions", data=deep, content_type=CONTENT_TYPE), 400, 400
    )
    nested_schema = '{"type":"array","items":' * 5000 + '"int"' + "}" * 5000
    assert_error(register(client, "s", nested_schema), 422, 42201)
