"""Parity with Confluent Schema Registry over HTTP: exact error codes and messages, data contracts,
metadata lookups, modes and qualified subjects.

Every expectation cites what Confluent's server does (``KafkaSchemaRegistry``,
``Errors``, ``RuleSet.validate``, ``Metadata.mergeMetadata`` in
confluentinc/schema-registry), so a failure here is a difference a real
client could see.
"""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient

from tests.registry.test_api import (
    CONTENT_TYPE,
    INCOMPATIBLE,
    V1,
    V2,
    assert_error,
    record,
    register,
    send,
)

CEL_RULE = {
    "name": "checkId",
    "kind": "CONDITION",
    "mode": "WRITE",
    "type": "CEL",
    "expr": "message.id > 0",
}


def error_of(response: Any, status: int, code: int) -> str:
    return assert_error(response, status, code)["message"]


# -- error messages and codes (Errors.java) ---------------------------------------------------


def test_not_found_messages_match_confluent(client: FlaskClient) -> None:
    assert error_of(client.get("/subjects/x/versions"), 404, 40401) == "Subject 'x' not found."
    register(client, "s", V1)
    assert error_of(client.get("/subjects/s/versions/5"), 404, 40402) == "Version 5 not found."
    assert error_of(client.get("/schemas/ids/7"), 404, 40403) == "Schema 7 not found"
    lookup = send(client, "POST", "/subjects/s", {"schema": V2})
    assert error_of(lookup, 404, 40403) == "Schema not found"
    client.delete("/subjects/s/versions/1")
    assert (
        error_of(client.delete("/subjects/s/versions/1"), 404, 40406)
        == "Subject 's' Version 1 was soft deleted.Set permanent=true to delete permanently"
    )
    register(client, "s", V2)
    client.delete("/subjects/s")
    assert (
        error_of(client.delete("/subjects/s"), 404, 40404)
        == "Subject 's' was soft deleted.Set permanent=true to delete permanently"
    )


def test_incompatible_schema_message(client: FlaskClient) -> None:
    register(client, "c", V1)
    message = error_of(register(client, "c", INCOMPATIBLE), 409, 409)
    assert message.startswith(
        'Schema being registered is incompatible with an earlier schema for subject "c", '
        "details: [{errorType:'TYPE_MISMATCH'"
    )
    assert message.endswith("]")


def test_invalid_and_empty_schemas_are_42201(client: FlaskClient) -> None:
    assert "Invalid" in error_of(register(client, "bad", "{not json"), 422, 42201)
    # An empty schema with no previous version to take it from.
    assert error_of(register(client, "bad", ""), 422, 42201) == "Empty schema"
    assert error_of(send(client, "POST", "/subjects/bad", {"schema": ""}), 422, 42201) == (
        "Empty schema"
    )


def test_version_must_be_the_next_one_outside_import(client: FlaskClient) -> None:
    register(client, "v", V1)
    message = error_of(register(client, "v", V2, version=5), 422, 42201)
    assert message == "Version is not one more than previous version"
    body = register(client, "v", V2, version=2).get_json()
    assert body["version"] == 2
    # An explicit version stamps confluent:version into the metadata (maybeSetMetadataRuleSet).
    assert body["metadata"] == {"properties": {"confluent:version": "2"}}


# -- data contracts: shape, normal form, 42210 -----------------------------------------------


def test_rule_set_normal_form(client: FlaskClient) -> None:
    rule_set = {
        "domainRules": [
            {
                "name": "r1",
                "type": "CEL",
                "expr": "true",
                "tags": ["PII", "A", "PII"],
                "params": {"b": 2, "a": "x"},
                "unknownField": 1,
            }
        ],
        "migrationRules": [],
    }
    metadata = {"properties": {"b": "2", "a": "1"}, "tags": {}, "sensitive": ["z", "a"]}
    body = register(client, "n", V1, metadata=metadata, ruleSet=rule_set).get_json()
    assert body["ruleSet"] == {
        "domainRules": [
            {
                "name": "r1",
                "kind": "TRANSFORM",
                "mode": "WRITEREAD",
                "type": "CEL",
                "tags": ["A", "PII"],
                "params": {"a": "x", "b": "2"},
                "expr": "true",
                "disabled": False,
            }
        ]
    }
    assert body["metadata"] == {"properties": {"a": "1", "b": "2"}, "sensitive": ["a", "z"]}
    assert list(body["metadata"]["properties"]) == ["a", "b"]
    fetched = client.get("/subjects/n/versions/1").get_json()
    assert list(fetched) == ["subject", "version", "id", "guid", "metadata", "ruleSet", "schema"]


def test_rule_set_checks_are_42210_with_confluent_messages(client: FlaskClient) -> None:
    cases = [
        ({"domainRules": [{"type": "CEL"}]}, "Missing rule name"),
        ({"domainRules": [{"name": "", "type": "CEL"}]}, "Empty rule name"),
        (
            {"domainRules": [{"name": "1a", "type": "CEL"}]},
            "Illegal initial character in rule name: 1a",
        ),
        ({"domainRules": [{"name": "a-b", "type": "CEL"}]}, "Illegal character in rule name: a-b"),
        ({"domainRules": [{"name": "a"}]}, "Missing rule type"),
        (
            {
                "domainRules": [{"name": "a", "type": "CEL"}],
                "migrationRules": [{"name": "a", "type": "J", "mode": "UPGRADE"}],
            },
            "Found rule with duplicate name 'a'",
        ),
        (
            {"migrationRules": [{"name": "a", "type": "CEL", "mode": "WRITE"}]},
            "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN",
        ),
        (
            {"domainRules": [{"name": "a", "type": "CEL", "mode": "UPGRADE"}]},
            "Domain rules can only be WRITE, READ, WRITEREAD",
        ),
        (
            {"encodingRules": [{"name": "a", "type": "CEL", "mode": "UPDOWN"}]},
            "Encoding rules can only be WRITE, READ, WRITEREAD",
        ),
    ]
    for rule_set, message in cases:
        assert error_of(register(client, "r", V1, ruleSet=rule_set), 422, 42210) == message
    assert client.get("/subjects").get_json() == []


def test_malformed_contract_shapes_are_422(client: FlaskClient) -> None:
    for extra in (
        {"metadata": "nope"},
        {"metadata": {"properties": ["a"]}},
        {"metadata": {"properties": {"a": {"nested": 1}}}},
        {"metadata": {"tags": {"a": "PII"}}},
        {"ruleSet": [1]},
        {"ruleSet": {"domainRules": {"name": "a"}}},
        {"ruleSet": {"domainRules": ["rule"]}},
        {"ruleSet": {"domainRules": [{"name": "a", "type": "CEL", "kind": "MAYBE"}]}},
        {"ruleSet": {"domainRules": [{"name": "a", "type": "CEL", "disabled": "no"}]}},
    ):
        message = error_of(register(client, "m", V1, **extra), 422, 422)
        assert message.startswith("Invalid metadata") or message.startswith("Invalid ruleSet")


# -- data contracts: inheritance and config (KafkaSchemaRegistry.maybeSetMetadataRuleSet) -------


def test_new_version_inherits_previous_metadata_and_rule_set(client: FlaskClient) -> None:
    metadata = {"properties": {"owner": "team-a"}}
    rule_set = {"domainRules": [CEL_RULE]}
    first = register(client, "i", V1, metadata=metadata, ruleSet=rule_set).get_json()
    second = register(client, "i", V2).get_json()
    assert second["version"] == 2 and second["id"] != first["id"]
    latest = client.get("/subjects/i/versions/latest").get_json()
    assert latest["metadata"] == metadata
    assert latest["ruleSet"]["domainRules"][0]["name"] == "checkId"
    # Given explicitly, metadata replaces (not merges with) the previous version's.
    third = register(client, "i", V2, metadata={"properties": {"owner": "b"}}).get_json()
    assert third["version"] == 3 and third["metadata"] == {"properties": {"owner": "b"}}
    assert third["ruleSet"] == latest["ruleSet"]


def test_empty_schema_registers_new_metadata_on_the_previous_schema(client: FlaskClient) -> None:
    register(client, "e", V1)
    body = register(client, "e", "", metadata={"properties": {"stage": "prod"}}).get_json()
    assert body["version"] == 2 and json.loads(body["schema"]) == json.loads(V1)
    assert body["metadata"] == {"properties": {"stage": "prod"}}


def test_re_registering_an_exact_live_schema_returns_it_before_inheritance(
    client: FlaskClient,
) -> None:
    plain = register(client, "p", V1).get_json()
    register(client, "p", V2, metadata={"properties": {"k": "v"}})
    again = register(client, "p", V1).get_json()
    assert (again["id"], again["version"]) == (plain["id"], 1)


def test_default_and_override_metadata_and_rule_sets(client: FlaskClient) -> None:
    config = {
        "defaultMetadata": {"properties": {"owner": "default", "tier": "gold"}},
        "overrideMetadata": {"properties": {"tier": "platinum"}},
        "defaultRuleSet": {"domainRules": [CEL_RULE]},
        "overrideRuleSet": {
            "domainRules": [{"name": "forced", "type": "CEL", "mode": "READ", "expr": "true"}]
        },
        "compatibilityGroup": "application.major.version",
        "normalize": True,
        "validateFields": False,
        "alias": "other",
    }
    put = send(client, "PUT", "/config/d", config)
    assert put.status_code == 200, put.get_data(as_text=True)
    got = client.get("/config/d").get_json()
    for name, value in config.items():
        if "RuleSet" not in name:
            assert got[name] == value
    assert got["overrideRuleSet"]["domainRules"][0]["kind"] == "TRANSFORM"
    body = register(client, "d", V1, metadata={"properties": {"owner": "me"}}).get_json()
    assert body["metadata"] == {"properties": {"owner": "me", "tier": "platinum"}}
    assert [rule["name"] for rule in body["ruleSet"]["domainRules"]] == ["checkId", "forced"]
    bad = {"defaultRuleSet": {"domainRules": [{"name": "x"}]}}
    assert error_of(send(client, "PUT", "/config/d", bad), 422, 42210) == "Missing rule type"
    assert_error(send(client, "PUT", "/config/d", {"defaultMetadata": [1]}), 422, 422)


def test_compatibility_group_only_checks_versions_of_the_same_group(client: FlaskClient) -> None:
    send(client, "PUT", "/config/g", {"compatibilityGroup": "major"})
    register(client, "g", V1, metadata={"properties": {"major": "1"}})
    # A breaking change is fine in a new group...
    v2 = register(client, "g", INCOMPATIBLE, metadata={"properties": {"major": "2"}})
    assert v2.status_code == 200 and v2.get_json()["version"] == 2
    # ...but within group 1 it is still checked against the group's latest version.
    breaking = record("User", ("id", "int"))
    assert_error(register(client, "g", breaking, metadata={"properties": {"major": "1"}}), 409, 409)
    check = send(
        client,
        "POST",
        "/compatibility/subjects/g/versions?verbose=true",
        {"schema": breaking, "metadata": {"properties": {"major": "3"}}},
    )
    assert check.get_json()["is_compatible"] is True


# -- GET /subjects/{s}/metadata (getLatestWithMetadata) -----------------------------------------


def test_latest_with_metadata(client: FlaskClient) -> None:
    assert error_of(client.get("/subjects/lm/metadata?key=a&value=1"), 404, 40401) == (
        "Subject 'lm' not found."
    )
    register(client, "lm", V1)
    assert error_of(client.get("/subjects/lm/metadata"), 404, 40403) == "Schema not found"
    register(client, "lm", V2, metadata={"properties": {"app": "1", "env": "prod"}})
    v3 = record("User", ("id", "long"), ("n", ["null", "int"]))
    three = json.loads(v3)
    three["fields"][1]["default"] = None
    register(client, "lm", json.dumps(three), metadata={"properties": {"app": "2"}})
    found = client.get("/subjects/lm/metadata?key=app&value=1").get_json()
    assert (found["subject"], found["version"]) == ("lm", 2)
    assert list(found) == ["subject", "version", "id", "guid", "metadata", "schema"]
    both = client.get("/subjects/lm/metadata?key=app&value=1&key=env&value=prod").get_json()
    assert both["version"] == 2
    # No keys: the newest version that has metadata at all.
    assert client.get("/subjects/lm/metadata").get_json()["version"] == 3
    assert_error(client.get("/subjects/lm/metadata?key=app&value=9"), 404, 40403)
    client.delete("/subjects/lm/versions/2")
    assert_error(client.get("/subjects/lm/metadata?key=app&value=1"), 404, 40403)
    deleted = client.get("/subjects/lm/metadata?key=app&value=1&deleted=true").get_json()
    assert deleted["version"] == 2 and deleted["deleted"] is True


# -- modes ----------------------------------------------------------------------------------


def test_read_only_blocks_config_changes(client: FlaskClient) -> None:
    register(client, "ro", V1)
    send(client, "PUT", "/mode/ro", {"mode": "READONLY"})
    message = error_of(send(client, "PUT", "/config/ro", {"compatibility": "NONE"}), 422, 42205)
    assert message == "Subject ro is in read-only mode"
    # Re-registering the exact live schema still answers (registerOrForward looks it up first).
    assert register(client, "ro", V1).get_json()["version"] == 1
    send(client, "PUT", "/mode", {"mode": "READONLY_OVERRIDE"})
    message = error_of(send(client, "PUT", "/config", {"compatibility": "NONE"}), 422, 42205)
    assert message == "Subject null is in read-only mode"
    assert_error(client.delete("/config"), 422, 42205)
    send(client, "DELETE", "/mode")


def test_import_mode_transitions_and_id_conflicts(client: FlaskClient) -> None:
    register(client, "live", V1)
    assert error_of(send(client, "PUT", "/mode", {"mode": "IMPORT"}), 422, 42205) == (
        "Cannot import since found existing subjects"
    )
    # Only soft-deleted versions: entering IMPORT deletes them permanently.
    client.delete("/subjects/live")
    assert send(client, "PUT", "/mode/live", {"mode": "IMPORT"}).get_json() == {"mode": "IMPORT"}
    assert client.get("/subjects/live/versions?deleted=true").status_code == 404
    assert error_of(register(client, "live", V2), 422, 42205) == (
        "Subject live is not in read-write mode"
    )
    assert register(client, "live", V2, id=40, version=7).get_json()["id"] == 40
    message = error_of(register(client, "live", INCOMPATIBLE, id=40), 422, 42205)
    assert message == "Overwrite new schema with id 40 is not permitted."
    send(client, "PUT", "/mode/live", {"mode": "READWRITE"})
    assert error_of(register(client, "other", V1, id=99), 422, 42205) == (
        "Subject other is not in import mode"
    )
    # An id equal to the one the live schema already has is accepted in any mode.
    assert register(client, "live", V2, id=40).get_json()["version"] == 7


# -- contexts and references -----------------------------------------------------------------


def test_default_context_qualified_subjects_are_plain_subjects(client: FlaskClient) -> None:
    body = register(client, ":.:plain", V1).get_json()
    assert client.get("/subjects").get_json() == ["plain"]
    assert client.get("/subjects/plain/versions/1").get_json()["id"] == body["id"]
    assert client.get("/subjects/:.:plain/versions/1").get_json()["subject"] == "plain"
    assert client.get("/subjects/%3A.%3Aplain/versions").get_json() == [1]
    register(client, ":.team:orders", V1)
    assert client.get("/contexts").get_json() == [".", ".team"]
    assert ":.team:orders" in client.get("/subjects").get_json()


def test_referenced_by_a_soft_deleted_version_and_deleted_referrers(client: FlaskClient) -> None:
    address = record("Address", ("street", "string"), namespace="refs")
    person = record("Person", ("home", "refs.Address"), namespace="refs")
    register(client, "address", address)
    refs = [{"name": "refs.Address", "subject": "address", "version": 1}]
    person_id = register(client, "person", person, references=refs).get_json()["id"]
    assert client.get("/subjects/address/versions/1/referencedby").get_json() == [person_id]
    client.delete("/subjects/person")
    assert client.get("/subjects/address/versions/1/referencedby").get_json() == []
    assert client.get("/subjects/address/versions/1/referencedby?deleted=true").get_json() == [
        person_id
    ]
    client.delete("/subjects/address")
    # Confluent finds the referenced version even when it is soft-deleted.
    assert client.get("/subjects/address/versions/1/referencedby").status_code == 200


def test_response_shapes(client: FlaskClient) -> None:
    avro = register(client, "shape", V1).get_json()
    fetched = client.get("/subjects/shape/versions/1")
    assert fetched.content_type == CONTENT_TYPE
    assert list(fetched.get_json()) == ["subject", "version", "id", "guid", "schema"]
    assert list(client.get(f"/schemas/ids/{avro['id']}").get_json()) == ["guid", "schema"]
    json_schema = json.dumps({"type": "object"})
    register(client, "js", json_schema, schemaType="JSON")
    assert list(client.get("/subjects/js/versions/1").get_json()) == [
        "subject",
        "version",
        "id",
        "guid",
        "schemaType",
        "schema",
    ]


def test_latest_is_the_newest_live_version_even_with_deleted(client: FlaskClient) -> None:
    """Confluent resolves ``latest`` to the newest live version whatever ``deleted`` says, so a
    permanent delete of ``latest`` never reaches a soft-deleted version."""
    register(client, "lt", V1)
    register(client, "lt", V2)
    client.delete("/subjects/lt/versions/2")
    assert client.get("/subjects/lt/versions/latest?deleted=true").get_json()["version"] == 1
    assert client.get("/subjects/lt/versions/2?deleted=true").get_json()["deleted"] is True
    assert error_of(client.delete("/subjects/lt/versions/latest?permanent=true"), 404, 40407)
    assert client.get("/subjects/lt/versions?deleted=true").get_json() == [1, 2]
    client.delete("/subjects/lt/versions/1")
    # Only soft-deleted versions left: the subject exists for deleted=true, but has no latest.
    assert error_of(client.get("/subjects/lt/versions/latest?deleted=true"), 404, 40402) == (
        "Version -1 not found."
    )
    assert_error(client.get("/subjects/lt/versions/latest"), 404, 40401)
    assert_error(client.get("/subjects/lt/versions/latest/referencedby"), 404, 40402)
    assert_error(client.delete("/subjects/lt/versions/latest?permanent=true"), 404, 40402)


def test_a_schema_sent_with_its_references_inlined_finds_the_version_with_references(
    client: FlaskClient,
) -> None:
    """Confluent's lookup (and so registration) answers an Avro schema sent with every
    reference resolved inline with the version registered with the references."""
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "ref",
        "fields": [{"name": "street", "type": "string"}],
    }
    register(client, "address", json.dumps(address))
    person = {
        "type": "record",
        "name": "Person",
        "namespace": "ref",
        "fields": [
            {"name": "home", "type": "ref.Address"},
            {"name": "work", "type": "ref.Address"},
        ],
    }
    reference = [{"name": "ref.Address", "subject": "address", "version": 1}]
    with_refs = register(client, "person", json.dumps(person), references=reference).get_json()
    inlined = {**person, "fields": [{"name": "home", "type": address}, person["fields"][1]]}
    found = send(client, "POST", "/subjects/person", {"schema": json.dumps(inlined)}).get_json()
    assert (found["version"], found["id"]) == (1, with_refs["id"])
    assert found["references"] == reference
    again = register(client, "person", json.dumps(inlined)).get_json()
    assert (again["version"], again["id"]) == (1, with_refs["id"])
    assert client.get("/subjects/person/versions").get_json() == [1]
    # Another structure is still not found.
    other = {**inlined, "fields": inlined["fields"][:1]}
    assert_error(
        send(client, "POST", "/subjects/person", {"schema": json.dumps(other)}), 404, 40403
    )
