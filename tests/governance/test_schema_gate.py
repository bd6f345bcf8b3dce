"""The schema gate as an engine (``governance.gate.Gate``) over an in-memory schema lookup:
CEL_FIELD rules selected by tags, guards, onFailure NONE, rules that do not compile,
lineage counts."""

from __future__ import annotations

import json
from typing import Any

from governance.gate import (
    ACCEPT,
    GateConfig,
    GateContext,
    GateRecord,
    Reject,
    Route,
    Validation,
)
from governance.lineage import LineageRecorder
from governance.schema_gate import SchemaGate
from registry.formats import get_format
from registry.formats.base import ParsedSchema
from registry.store import StoredSchema
from tests.governance.records import ORDER, avro, framed

PERSON = {
    "type": "record",
    "name": "Person",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [{"name": "zip", "type": "string"}],
            },
        },
    ],
}


class Lookup:
    """Schemas registered under one subject each, by id."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[StoredSchema, str]] = {}

    def add(self, schema_id: int, subject: str, schema: Any, **extra: Any) -> None:
        text = json.dumps(schema)
        stored = StoredSchema(
            schema_id, "AVRO", text, (), extra.get("metadata"), extra.get("rule_set")
        )
        self.rows[schema_id] = (stored, subject)

    def schema(self, schema_id: int) -> StoredSchema | None:
        row = self.rows.get(schema_id)
        return row[0] if row else None

    def parsed(self, schema_id: int) -> ParsedSchema:
        return get_format("AVRO").parse(self.rows[schema_id][0].schema_text)

    def subject_version(self, subject: str, schema_id: int) -> int | None:
        row = self.rows.get(schema_id)
        return 1 if row and row[1] == subject else None


def _context(topic: str = "t", **config: Any) -> GateContext:
    return GateContext(topic, 0, "User:alice", "client-1", -1, GateConfig(**config))


def _records(*values: bytes | None) -> list[GateRecord]:
    return [GateRecord(i, None, v, (), 0) for i, v in enumerate(values)]


def _rule(**fields: Any) -> dict[str, Any]:
    return {"domainRules": [{"name": "r", "kind": "CONDITION", "mode": "WRITE", **fields}]}


def _person(ssn: str, zip_code: str = "75001") -> bytes:
    return avro(PERSON, {"name": "n", "ssn": ssn, "address": {"zip": zip_code}})


def test_cel_field_rules_apply_to_the_fields_with_their_tags() -> None:
    lookup = Lookup()
    rule = _rule(
        type="CEL_FIELD", tags=["PII"], expr="value.matches('^[0-9]{3}-[0-9]{2}-[0-9]{4}$')"
    )
    lookup.add(1, "t-value", PERSON, rule_set=rule)
    gate = SchemaGate(lookup)
    assert gate.check(_context(), _records(framed(1, _person("123-45-6789")))) is ACCEPT
    verdict = gate.check(_context(), _records(framed(1, _person("nope"))))
    assert isinstance(verdict, Reject)
    assert "field Person.ssn" in verdict.errors[0].message


def test_metadata_tags_and_nested_fields() -> None:
    lookup = Lookup()
    rule = _rule(type="CEL_FIELD", tags=["POSTAL"], expr="size(value) == 5")
    metadata = {"tags": {"Address.zip": ["POSTAL"]}}
    lookup.add(1, "t-value", PERSON, rule_set=rule, metadata=metadata)
    gate = SchemaGate(lookup)
    assert gate.check(_context(), _records(framed(1, _person("x", "75001")))) is ACCEPT
    verdict = gate.check(_context(), _records(framed(1, _person("x", "7500"))))
    assert isinstance(verdict, Reject) and "Address.zip" in verdict.errors[0].message


def test_a_guard_skips_the_rule_and_none_only_records() -> None:
    lookup = Lookup()
    lookup.add(
        1,
        "t-value",
        ORDER,
        rule_set=_rule(type="CEL", expr="message.id > 100; message.amount > 0.0"),
    )
    lookup.add(2, "u-value", ORDER, rule_set=_rule(type="CEL", expr="false", onFailure="NONE"))
    gate = SchemaGate(lookup)

    def value(schema_id: int, order_id: int, amount: float) -> bytes:
        return framed(schema_id, avro(ORDER, {"id": order_id, "amount": amount, "customer": "c"}))

    assert gate.check(_context(), _records(value(1, 5, -1.0))) is ACCEPT  # guard false
    assert isinstance(gate.check(_context(), _records(value(1, 500, -1.0))), Reject)
    assert gate.check(_context("u"), _records(value(2, 1, 1.0))) is ACCEPT


def test_a_rule_that_does_not_compile_refuses_the_records() -> None:
    lookup = Lookup()
    lookup.add(1, "t-value", ORDER, rule_set=_rule(type="CEL", expr="message.amount >"))
    verdict = SchemaGate(lookup).check(
        _context(), _records(framed(1, avro(ORDER, {"id": 1, "amount": 1.0, "customer": "c"})))
    )
    assert isinstance(verdict, Reject)
    assert "does not compile" in verdict.errors[0].message


def test_dlq_without_a_topic_is_an_error_and_read_rules_are_skipped() -> None:
    lookup = Lookup()
    rules = {
        "domainRules": [
            {
                "name": "read-only",
                "kind": "CONDITION",
                "mode": "READ",
                "type": "CEL",
                "expr": "false",
            },
            {
                "name": "transform",
                "kind": "TRANSFORM",
                "mode": "WRITE",
                "type": "CEL",
                "expr": "false",
            },
            {
                "name": "off",
                "kind": "CONDITION",
                "mode": "WRITE",
                "type": "CEL",
                "expr": "false",
                "disabled": True,
            },
        ]
    }
    lookup.add(1, "t-value", ORDER, rule_set=rules)
    lookup.add(2, "u-value", ORDER, rule_set=_rule(type="CEL", expr="false", onFailure="DLQ"))
    gate = SchemaGate(lookup)
    payload = avro(ORDER, {"id": 1, "amount": 1.0, "customer": "c"})
    assert gate.check(_context(), _records(framed(1, payload))) is ACCEPT
    assert isinstance(gate.check(_context("u"), _records(framed(2, payload))), Reject)


def test_routes_and_tombstones_and_lineage() -> None:
    lookup = Lookup()
    rule = _rule(
        type="CEL", expr="message.amount > 0.0", onFailure="DLQ", params={"dlq.topic": "dlq"}
    )
    lookup.add(1, "t-value", ORDER, rule_set=rule)
    lineage = LineageRecorder(None)
    gate = SchemaGate(lookup, lineage=lineage)
    good = framed(1, avro(ORDER, {"id": 1, "amount": 1.0, "customer": "c"}))
    bad = framed(1, avro(ORDER, {"id": 2, "amount": -1.0, "customer": "c"}))
    verdict = gate.check(_context(), _records(good, bad, None, good))
    assert isinstance(verdict, Route)
    (letter,) = verdict.dead_letters
    assert (letter.index, letter.topic) == (1, "dlq")
    assert dict(letter.headers)["charter.dlq.rule"] == b"r"
    seen = {(e["schema_id"], e["count"]) for e in lineage.snapshot()}
    assert seen == {(1, 2), (None, 1)}  # two records of schema 1, one tombstone
    assert lineage.snapshot()[0]["principal"] == "User:alice"


def test_validation_none_inspects_nothing_without_produce_policies() -> None:
    gate = SchemaGate(Lookup())
    assert not gate.inspects(_context(value_validation=Validation.NONE))
    assert gate.inspects(_context())


CONTACTS = {
    "type": "record",
    "name": "Contacts",
    "fields": [
        {"name": "emails", "type": {"type": "array", "items": "string"}, "confluent:tags": ["PII"]},
        {
            "name": "people",
            "type": {"type": "map", "values": PERSON},
        },
    ],
}


def test_cel_field_rules_reach_tagged_values_in_arrays_and_maps_of_records() -> None:
    lookup = Lookup()
    rule = _rule(type="CEL_FIELD", tags=["PII"], expr="value.contains('@') || size(value) == 11")
    lookup.add(1, "t-value", CONTACTS, rule_set=rule)
    gate = SchemaGate(lookup)

    def contacts(emails: list[str], ssn: str) -> bytes:
        person = {"name": "n", "ssn": ssn, "address": {"zip": "75001"}}
        return framed(1, avro(CONTACTS, {"emails": emails, "people": {"ann": person}}))

    assert gate.check(_context(), _records(contacts(["a@x.io"], "123-45-6789"))) is ACCEPT
    verdict = gate.check(_context(), _records(contacts(["a@x.io", "nope"], "123-45-6789")))
    assert isinstance(verdict, Reject)
    assert "field Contacts.emails (emails[1])" in verdict.errors[0].message
    verdict = gate.check(_context(), _records(contacts([], "12")))
    assert isinstance(verdict, Reject)
    assert "field Person.ssn (people['ann'].ssn)" in verdict.errors[0].message


def test_a_condition_rule_of_a_type_without_executor_fails_every_record() -> None:
    """As Confluent's serializers: a CONDITION rule nothing can run applies its onFailure."""
    lookup = Lookup()
    lookup.add(1, "t-value", ORDER, rule_set=_rule(type="JSONATA", expr="amount > 0"))
    skipped = {"onFailure": "NONE"}
    lookup.add(2, "u-value", ORDER, rule_set=_rule(type="CUSTOM", expr="x", **skipped))
    value = avro(ORDER, {"id": 1, "amount": 1.0, "customer": "c"})
    verdict = SchemaGate(lookup).check(_context(), _records(framed(1, value)))
    assert isinstance(verdict, Reject)
    assert "no executor for rule type 'JSONATA'" in verdict.errors[0].message
    assert SchemaGate(lookup).check(_context("u"), _records(framed(2, value))) is ACCEPT
