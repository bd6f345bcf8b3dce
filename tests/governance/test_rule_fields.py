"""CEL_FIELD rules reach tagged fields inside arrays, maps, unions and nested records, with
Confluent's bindings (value per element, the field's name/fullName/tags, the value's typeName,
the containing record as message) — in the engine's rules and in the SDK's client-side rules."""

from __future__ import annotations

from typing import Any

import pytest

from charter.sdk.rules import compile_write_rules
from governance.rules import compile_rule_set

PERSON: dict[str, Any] = {
    "type": "record",
    "name": "Person",
    "namespace": "com.acme",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "emails", "type": {"type": "array", "items": "string"}, "confluent:tags": ["PII"]},
        {"name": "phones", "type": {"type": "map", "values": "string"}, "confluent:tags": ["PII"]},
        {"name": "nickname", "type": ["null", "string"], "confluent:tags": ["PII"]},
        {
            "name": "addresses",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Address",
                    "fields": [
                        {"name": "kind", "type": "string"},
                        {"name": "zip", "type": "string", "confluent:tags": ["POSTAL"]},
                    ],
                },
            },
        },
        {"name": "home", "type": ["null", "Address"]},
        {"name": "level", "type": {"type": "enum", "name": "Level", "symbols": ["A", "B"]}},
    ],
}


def _person(**changes: Any) -> dict[str, Any]:
    person = {
        "name": "Ann",
        "emails": ["ann@example.com", "a@example.org"],
        "phones": {"home": "+33 1", "work": "+33 2"},
        "nickname": None,
        "addresses": [{"kind": "home", "zip": "75001"}, {"kind": "work", "zip": "10115"}],
        "home": {"kind": "home", "zip": "75001"},
        "level": "A",
    }
    person.update(changes)
    return person


def _rules(expr: str, tags: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    rule = {"name": "r", "kind": "CONDITION", "mode": "WRITE", "type": "CEL_FIELD", "expr": expr}
    if tags is not None:
        rule["tags"] = tags
    return {"domainRules": [rule]}


def _failures(schema: Any, rules: dict[str, Any], message: Any, **kw: Any) -> list[str]:
    schema_type = kw.get("schema_type", "AVRO")
    rule_set = compile_rule_set(schema_type, schema, rules, kw.get("metadata"))
    return [failure.reason for failure in rule_set.evaluate(message)]


PII_STRING = "typeName == 'STRING' ; value.contains('@') || value.startsWith('+')"


def test_every_array_element_and_map_value_of_a_tagged_field_is_checked() -> None:
    rules = _rules(PII_STRING, ["PII"])
    assert _failures(PERSON, rules, _person()) == []
    (reason,) = _failures(PERSON, rules, _person(emails=["ann@example.com", "not an address"]))
    assert reason.startswith("field com.acme.Person.emails (emails[1]): expression")
    (reason,) = _failures(PERSON, rules, _person(phones={"home": "+33 1", "fax": "0033"}))
    assert reason.startswith("field com.acme.Person.phones (phones['fax']): ")


def test_the_bindings_are_confluents() -> None:
    expr = (
        "name == 'emails' && fullName == 'com.acme.Person.emails' && typeName == 'STRING' "
        "&& tags == ['PII', 'EMAIL'] && message.name == 'Ann' && value.endsWith('.com')"
    )
    only_emails = {"tags": {"com.acme.Person.emails": ["EMAIL"]}}
    rules = _rules(expr, ["EMAIL"])
    assert _failures(PERSON, rules, _person(), metadata=only_emails) == [
        # the second address ends in .org: the rule ran once per element
        f"field com.acme.Person.emails (emails[1]): expression {expr!r} is false"
    ]


def test_nested_records_in_arrays_and_unions_bind_their_own_record_as_message() -> None:
    rules = _rules("message.kind != 'home' || value.startsWith('75')", ["POSTAL"])
    assert _failures(PERSON, rules, _person()) == []
    moved = _person(addresses=[{"kind": "work", "zip": "10115"}, {"kind": "home", "zip": "10117"}])
    (reason,) = _failures(PERSON, rules, moved)
    assert reason.startswith("field com.acme.Address.zip (addresses[1].zip): ")
    # through the union's record branch
    (reason,) = _failures(PERSON, rules, _person(home={"kind": "home", "zip": "13001"}))
    assert reason.startswith("field com.acme.Address.zip (home.zip): ")
    assert _failures(PERSON, rules, _person(home=None)) == []


def test_a_null_union_branch_reaches_the_rule_as_null() -> None:
    assert _failures(PERSON, _rules("typeName != 'NULL'", ["PII"]), _person(emails=[], phones={}))
    assert not _failures(
        PERSON, _rules("typeName != 'NULL'", ["PII"]), _person(emails=[], phones={}, nickname="x")
    )
    guarded = _rules("typeName == 'STRING' ; size(value) > 3", ["PII"])
    assert _failures(PERSON, guarded, _person(nickname=None)) == []


def test_enums_are_not_checked_and_untagged_rules_check_every_primitive() -> None:
    assert _failures(PERSON, _rules("false", ["NO_SUCH_TAG"]), _person()) == []
    # no tags: every primitive value; enums are not primitive for Confluent's executor
    seen = _rules("typeName != 'ENUM' && fullName != 'com.acme.Person.level'")
    assert _failures(PERSON, seen, _person()) == []
    (reason,) = _failures(PERSON, _rules("name != 'kind'"), _person())
    assert reason.startswith("field com.acme.Address.kind (addresses[0].kind)")


def test_recursive_records_are_walked_as_deep_as_the_data() -> None:
    node = {
        "type": "record",
        "name": "Node",
        "fields": [
            {"name": "label", "type": "string", "confluent:tags": ["PII"]},
            {"name": "next", "type": ["null", "Node"]},
        ],
    }
    chain: Any = None
    for label in ("d", "c", "b", "a"):
        chain = {"label": label, "next": chain}
    rules = _rules("value != 'c'", ["PII"])
    (reason,) = _failures(node, rules, chain)
    assert reason == "field Node.label (next.next.label): expression \"value != 'c'\" is false"
    assert _failures(node, _rules("value != 'z'", ["PII"]), chain) == []


JSON_ORDER: dict[str, Any] = {
    "title": "Order",
    "type": "object",
    "$defs": {
        "Contact": {
            "type": "object",
            "properties": {"email": {"type": "string", "confluent:tags": ["PII"]}},
        }
    },
    "properties": {
        "id": {"type": "integer"},
        "emails": {"type": "array", "items": {"type": "string"}, "confluent:tags": ["PII"]},
        "notes": {
            "type": "object",
            "additionalProperties": {"type": "string"},
            "confluent:tags": ["PII"],
        },
        "contact": {"$ref": "#/$defs/Contact"},
        "lines": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"sku": {"type": ["string", "null"]}, "qty": {"type": "integer"}},
            },
        },
    },
}


def _order(**changes: Any) -> dict[str, Any]:
    order = {
        "id": 1,
        "emails": ["a@x.io"],
        "notes": {"n1": "ok@x.io"},
        "contact": {"email": "c@x.io"},
        "lines": [{"sku": "A1", "qty": 2}, {"sku": None, "qty": 1}],
    }
    order.update(changes)
    return order


def test_json_schema_arrays_maps_refs_and_confluents_names() -> None:
    rules = _rules("value.contains('@')", ["PII"])
    assert _failures(JSON_ORDER, rules, _order(), schema_type="JSON") == []
    for changed, where in (
        ({"emails": ["a@x.io", "nope"]}, "field $.emails (emails[1])"),
        ({"notes": {"n1": "nope"}}, "field $.notes (notes['n1'])"),
        ({"contact": {"email": "nope"}}, "field $.contact.email (contact.email): "),
    ):
        (reason,) = _failures(JSON_ORDER, rules, _order(**changed), schema_type="JSON")
        assert reason.startswith(where), reason
    # typeName INT for integers, and a JSON null is not checked
    typed = _rules("(name in ['qty', 'id']) == (typeName == 'INT')")
    assert _failures(JSON_ORDER, typed, _order(), schema_type="JSON") == []
    sku = {"tags": {"$.lines.sku": ["CODE"]}}
    not_null = _rules("typeName == 'STRING' && size(value) == 2", ["CODE"])
    assert _failures(JSON_ORDER, not_null, _order(), schema_type="JSON", metadata=sku) == []
    # metadata tags may also name a field as Charter's policies do (title.path)
    legacy = {"tags": {"Order.lines.qty": ["QTY"]}}
    positive = _rules("value > 1", ["QTY"])
    (reason,) = _failures(JSON_ORDER, positive, _order(), schema_type="JSON", metadata=legacy)
    assert reason.startswith("field $.lines.qty (lines[1].qty)")


@pytest.mark.parametrize("tags", [["PII"], ["POSTAL"]])
def test_the_sdk_judges_a_record_as_the_gate_does(tags: list[str]) -> None:
    rules = _rules("value.size() > 4", tags)
    bad = _person(emails=["a@b"], addresses=[{"kind": "k", "zip": "123"}])
    engine = _failures(PERSON, rules, bad)
    client = [v.reason for v in compile_write_rules("AVRO", PERSON, rules, None).check(bad)]
    assert client == engine and len(engine) == 1
