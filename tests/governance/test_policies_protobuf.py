"""The field policies read Protobuf schemas too: PII tags, required fields, field docs."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

CT = {"Content-Type": "application/vnd.schemaregistry.v1+json"}
META = 'import "confluent/meta.proto";\n'


def _enable(client: FlaskClient, name: str, **params: Any) -> None:
    response = client.put(
        f"/governance/v1/policies/{name}", json={"enabled": True, "params": params}
    )
    assert response.status_code == 200, response.json


def _register(client: FlaskClient, subject: str, text: str, **extra: Any) -> Any:
    body = {"schema": text, "schemaType": "PROTOBUF", **extra}
    return client.post(f"/subjects/{subject}/versions", data=json.dumps(body), headers=CT)


def _proto(body: str, imports: str = "") -> str:
    return f'syntax = "proto3";\npackage acme;\n{imports}{body}\n'


def test_pii_fields_tagged_reads_field_meta_and_metadata_tags(client: FlaskClient) -> None:
    _enable(client, "pii-fields-tagged", names=["ssn", "email"])
    untagged = _register(
        client,
        "people-value",
        _proto(
            "message Person { string name = 1; Contact contact = 2; }\n"
            "message Contact { string email = 1; }"
        ),
    )
    assert untagged.status_code == 422, untagged.json
    assert "policy pii-fields-tagged" in untagged.json["message"]
    assert "acme.Contact.email" in untagged.json["message"]

    tagged = _proto(
        'message Person { string ssn = 1 [(confluent.field_meta).tags = "PII"]; }', META
    )
    assert _register(client, "people-value", tagged).status_code == 200
    by_metadata = {"metadata": {"tags": {"acme.Member.email": ["PII"]}}}
    member = _proto("message Member { string email = 1; }")
    assert _register(client, "members-value", member, **by_metadata).status_code == 200


def test_required_fields_are_the_first_messages_fields(client: FlaskClient) -> None:
    _enable(client, "required-fields", fields=["event_id", "event_time"])
    complete = _proto("message Event { string event_id = 1; int64 event_time = 2; }")
    assert _register(client, "events-value", complete).status_code == 200
    partial = _register(client, "partial-value", _proto("message E { string event_id = 1; }"))
    assert partial.status_code == 422, partial.json
    assert "required field(s) missing: event_time" in partial.json["message"]


def test_field_docs_required_takes_comments_or_field_meta_doc(client: FlaskClient) -> None:
    _enable(client, "field-docs-required")
    documented = _proto(
        "message Doc {\n  // the id\n  int64 id = 1;\n"
        '  string note = 2 [(confluent.field_meta).doc = "a note"];\n}',
        META,
    )
    assert _register(client, "docs-value", documented).status_code == 200
    bare = _register(client, "bare-value", _proto("message Bare { int64 id = 1; }"))
    assert bare.status_code == 422, bare.json
    assert "field acme.Bare.id has no documentation" in bare.json["message"]
