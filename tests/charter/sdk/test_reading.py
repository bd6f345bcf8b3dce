"""READ-mode rules and migration rules on consume, against an in-memory registry.

The plans ``ValueReader`` builds (which versions' rules run, in which order,
then resolution into the reader schema) and the failures that become record
errors; ``tests/e2e/test_sdk_migrations.py`` runs the same against ``charter up``
side by side with confluent-kafka's deserializer.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from charter.sdk.errors import RegistryClientError, ValidationError
from charter.sdk.migrations import plan_migration
from charter.sdk.reading import ValueReader
from charter.sdk.registry_client import RegisteredSchema, Schema
from charter.sdk.schemas import SchemaCache
from tests.charter.sdk.people import PERSON_HEIGHT, PERSON_NICK, PERSON_V1, SIZE_TO_HEIGHT

SUBJECT = "people-value"
V1, V2, V3, UP_1_2 = PERSON_V1, PERSON_HEIGHT, PERSON_NICK, SIZE_TO_HEIGHT
DOWN_2_1 = "$merge([$sift($, function($v, $k) {$k != 'height'}), {'size': $.'height'}])"


def migration(mode: str, expression: str, name: str = "m", kind: str = "JSONATA") -> dict:
    return {"name": name, "kind": "TRANSFORM", "type": kind, "mode": mode, "expr": expression}


class FakeRegistry:
    """The calls ``ValueReader`` and ``SchemaCache`` make, over a dict of versions."""

    def __init__(self) -> None:
        self.versions: dict[int, RegisteredSchema] = {}
        self.calls: list[str] = []

    def add(self, document: Any, rule_set: Any = None, metadata: Any = None) -> int:
        version = len(self.versions) + 1
        schema = Schema(json.dumps(document), "AVRO", metadata=metadata, rule_set=rule_set)
        self.versions[version] = RegisteredSchema(SUBJECT, version, 100 + version, schema)
        return 100 + version

    def _by_id(self, schema_id: int) -> RegisteredSchema:
        for registered in self.versions.values():
            if registered.schema_id == schema_id:
                return registered
        raise RegistryClientError("Schema not found", 404, 40403)

    def get_schema(self, schema_id: int) -> Schema:
        self.calls.append(f"schema {schema_id}")
        return self._by_id(schema_id).schema

    def get_latest(self, subject: str) -> RegisteredSchema:
        self.calls.append("latest")
        return self.versions[max(self.versions)]

    def get_latest_with_metadata(self, subject, metadata, *, deleted=False) -> RegisteredSchema:
        self.calls.append(f"metadata {metadata}")
        for version in sorted(self.versions, reverse=True):
            properties = (self.versions[version].schema.metadata or {}).get("properties", {})
            if all(properties.get(k) == v for k, v in metadata.items()):
                return self.versions[version]
        raise RegistryClientError("Schema not found", 404, 40403)

    def schema_versions(self, schema_id: int, *, deleted: bool = False):
        return [(SUBJECT, self._by_id(schema_id).version)]

    def get_version(self, subject: str, version: Any, *, deleted: bool = False):
        self.calls.append(f"version {version}")
        return self.versions[version]


def reader_for(registry: FakeRegistry, **options: Any) -> tuple[ValueReader, SchemaCache]:
    schemas = SchemaCache(registry, auto_register=False)  # type: ignore[arg-type]
    return ValueReader(registry, schemas, **options), schemas  # type: ignore[arg-type]


def payload(schemas: SchemaCache, schema_id: int, value: Any) -> bytes:
    return schemas.for_read(schema_id).encode(value)[5:]


@pytest.fixture
def registry() -> FakeRegistry:
    found = FakeRegistry()
    found.add(V1)
    found.add(
        V2,
        {"migrationRules": [migration("UPGRADE", UP_1_2), migration("DOWNGRADE", DOWN_2_1)]},
    )
    found.add(V3)  # no rules: plain Avro schema resolution from v2
    return found


def test_upgrade_runs_the_rules_of_each_later_version_then_resolves(registry):
    reader, schemas = reader_for(registry, use_latest_version=True)
    written = payload(schemas, 101, {"name": "ann", "size": 170})
    assert reader.read("people", 101, written) == {"name": "ann", "height": 170, "nick": None}
    assert reader.read("people", 101, written) == {"name": "ann", "height": 170, "nick": None}
    assert registry.calls.count("latest") == 1  # the reader version and the plan: once


def test_downgrade_runs_the_rules_in_reverse_from_the_writer_down(registry):
    registry.versions[3] = RegisteredSchema(
        SUBJECT, 3, 103, Schema(json.dumps(V3), "AVRO", metadata={"properties": {"app": "new"}})
    )
    registry.versions[1] = RegisteredSchema(
        SUBJECT, 1, 101, Schema(json.dumps(V1), "AVRO", metadata={"properties": {"app": "old"}})
    )
    reader, schemas = reader_for(registry, use_latest_with_metadata={"app": "old"})
    written = payload(schemas, 103, {"name": "bo", "height": 180, "nick": "b"})
    assert reader.read("people", 103, written) == {"name": "bo", "size": 180}


def test_without_a_reader_version_the_writer_schema_is_used(registry):
    reader, schemas = reader_for(registry)
    written = payload(schemas, 101, {"name": "ann", "size": 170})
    assert reader.read("people", 101, written) == {"name": "ann", "size": 170}
    assert "latest" not in registry.calls


def test_read_rules_of_the_writer_version_fail_the_record(registry):
    rule_set = {
        "domainRules": [
            {"name": "tall", "kind": "CONDITION", "type": "CEL", "mode": "READ",
             "expr": "message.size > 100"},
            {"name": "write-only", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
             "expr": "false"},
            {"name": "noted", "kind": "CONDITION", "type": "CEL", "mode": "WRITEREAD",
             "expr": "message.name != 'x'", "onFailure": "ERROR,NONE"},
        ]
    }  # fmt: skip
    schema_id = registry.add(V1, rule_set)
    reader, schemas = reader_for(registry)
    assert reader.read("people", schema_id, payload(schemas, schema_id, {"name": "a", "size": 150}))
    # WRITEREAD "ERROR,NONE": NONE on read, so "x" passes.
    assert reader.read("people", schema_id, payload(schemas, schema_id, {"name": "x", "size": 150}))
    with pytest.raises(ValidationError) as failed:
        reader.read("people", schema_id, payload(schemas, schema_id, {"name": "a", "size": 50}))
    assert failed.value.rule == "tall" and "people-value" in str(failed.value)


def test_a_read_transform_the_sdk_cannot_run_fails_closed(registry):
    rule_set = {
        "domainRules": [
            {"name": "decrypt", "kind": "TRANSFORM", "type": "ENCRYPT", "mode": "WRITEREAD"}
        ]
    }
    schema_id = registry.add(V1, rule_set)
    reader, schemas = reader_for(registry)
    with pytest.raises(ValidationError, match="decrypt"):
        reader.read("people", schema_id, payload(schemas, schema_id, {"name": "a", "size": 1}))


def test_a_migration_that_does_not_fit_the_reader_is_a_record_error(registry):
    registry.versions[2] = RegisteredSchema(
        SUBJECT,
        2,
        102,
        Schema(json.dumps(V2), "AVRO", rule_set={"migrationRules": [migration("UPGRADE", "$")]}),
    )
    reader, schemas = reader_for(registry, use_latest_version=True)
    with pytest.raises(ValidationError, match="height"):
        reader.read("people", 101, payload(schemas, 101, {"name": "a", "size": 1}))


def test_a_broken_expression_and_another_rule_type_are_record_errors(registry):
    registry.versions[2] = RegisteredSchema(
        SUBJECT,
        2,
        102,
        Schema(
            json.dumps(V2),
            "AVRO",
            rule_set={"migrationRules": [migration("UPDOWN", "$merge([", name="broken")]},
        ),
    )
    reader, schemas = reader_for(registry, use_latest_version=True)
    with pytest.raises(ValidationError, match="'broken' of version 2 does not compile"):
        reader.read("people", 101, payload(schemas, 101, {"name": "a", "size": 1}))
    with pytest.raises(ValidationError, match="JSONATA migration rules only"):
        plan_migration(1, 2, {2: {"migrationRules": [migration("UPGRADE", "x", kind="CEL")]}})


def test_plan_order_and_modes():
    rule_sets = {
        2: {"migrationRules": [migration("UPGRADE", "a2"), migration("UPDOWN", "b2", "n")]},
        3: {"migrationRules": [migration("DOWNGRADE", "c3"), migration("UPDOWN", "d3", "n")]},
    }
    up = plan_migration(1, 3, rule_sets)
    assert [(s.version, s.expression) for s in up.steps] == [(2, "a2"), (2, "b2"), (3, "d3")]
    down = plan_migration(3, 1, rule_sets)
    assert [(s.version, s.expression) for s in down.steps] == [(3, "d3"), (3, "c3"), (2, "b2")]
    assert plan_migration(2, 2, rule_sets).steps == ()
    disabled = {2: {"migrationRules": [{**migration("UPGRADE", "x"), "disabled": True}]}}
    assert plan_migration(1, 2, disabled).steps == ()


def test_resolution_without_rules_that_cannot_read_the_writer_is_a_record_error():
    registry = FakeRegistry()
    registry.add(V1)
    registry.add({**V1, "fields": [*V1["fields"], {"name": "age", "type": "int"}]})  # no default
    reader, schemas = reader_for(registry, use_latest_version=True)
    with pytest.raises(ValidationError, match="reader schema cannot read"):
        reader.read("people", 101, payload(schemas, 101, {"name": "a", "size": 1}))
    with pytest.raises(ValidationError):  # a truncated payload names the field, as before
        reader.read("people", 101, payload(schemas, 101, {"name": "a", "size": 1})[:-1])
