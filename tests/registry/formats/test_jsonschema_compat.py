"""JSON Schema compatibility: every rule of the table in both directions, refs, cycles, messages."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from registry.formats.base import Incompatibility, ResolvedReference
from registry.formats.jsonschema import JSON, JsonParsedSchema
from registry.formats.jsonschema_compat import COMPATIBLE_CHANGES, diff_schemas, format_path
from tests.registry.formats.jsonschema_rules import RULES, Rule

DOCS = Path(__file__).resolve().parents[3] / "docs" / "compatibility.md"


def parse(schema: Any, references: tuple[ResolvedReference, ...] = ()) -> JsonParsedSchema:
    return JSON.parse(json.dumps(schema), references)


def check(reader: Any, writer: Any) -> list[Incompatibility]:
    return JSON.check_compatibility(parse(reader), parse(writer))


def all_differences(writer: Any, reader: Any) -> list[tuple[str, str]]:
    return [
        (kind, format_path(path))
        for kind, path in diff_schemas(parse(writer).model, parse(reader).model)
    ]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_reader_new_writer_old(rule: Rule) -> None:
    assert (rule.kind, rule.location) in all_differences(rule.writer, rule.reader)
    assert (rule.kind in COMPATIBLE_CHANGES) == rule.compatible or rule.kind == "ENUM_ARRAY_CHANGED"
    found = check(reader=rule.reader, writer=rule.writer)
    assert (found == []) is rule.compatible, found
    if not rule.compatible:
        assert (
            Incompatibility(
                rule.kind,
                rule.location,
                found[[i.error_type for i in found].index(rule.kind)].description,
            )
            in found
        )


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_reversed(rule: Rule) -> None:
    found = check(reader=rule.writer, writer=rule.reader)
    assert (found == []) is rule.reverse_compatible, found


def test_docs_table_lists_every_rule() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## JSON Schema", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == {rule.kind for rule in RULES}


def test_identical_schemas_have_no_differences() -> None:
    schema = {"type": "object", "properties": {"a": {"type": "string", "maxLength": 3}}}
    assert all_differences(schema, schema) == []


def test_anything_can_become_the_empty_schema() -> None:
    for writer in ({"type": "string"}, {"properties": {"a": {"type": "number"}}}, {"enum": [1]}):
        assert check(reader={}, writer=writer) == []
        assert check(reader=True, writer=writer) == []


def test_false_writer_is_read_by_anything() -> None:
    assert check(reader={"type": "string"}, writer=False) == []


def test_empty_reader_writer_reversed_is_a_type_change() -> None:
    assert [i.error_type for i in check(reader={"type": "string"}, writer={})] == ["TYPE_CHANGED"]


def test_nested_property_change_reports_json_path() -> None:
    writer = {"properties": {"a": {"properties": {"b": {"type": "integer"}}}}}
    reader = {"properties": {"a": {"properties": {"b": {"type": "string"}}}}}
    found = check(reader, writer)
    assert [(i.error_type, i.location) for i in found] == [
        ("TYPE_CHANGED", "#/properties/a/properties/b")
    ]
    assert "#/properties/a/properties/b" in found[0].description


def test_combined_subschema_difference_is_reported_under_criterion_index() -> None:
    writer = {"allOf": [{"type": "string"}, {"enum": ["red"]}]}
    reader = {"allOf": [{"enum": ["red", "blue"]}, {"type": "string"}]}
    assert ("ENUM_ARRAY_EXTENDED", "#/allOf/1/enum") in all_differences(writer, reader)
    assert check(reader, writer) == []


def test_duplicate_subschemas_collapse() -> None:
    writer = {"anyOf": [{"type": "string"}, {"type": "string"}]}
    reader = {"anyOf": [{"type": "string"}]}
    assert check(reader, writer) == []


def test_singleton_union_unwraps() -> None:
    assert check(reader={"oneOf": [{"type": "number"}]}, writer={"type": "integer"}) == []
    assert check(reader={"type": "number"}, writer={"anyOf": [{"type": "integer"}]}) == []


def test_moving_to_and_from_a_local_reference_is_compatible() -> None:
    referenced = {"$ref": "#/definitions/name", "definitions": {"name": {"type": "string"}}}
    assert check(reader=referenced, writer={"type": "string"}) == []
    assert check(reader={"type": "string"}, writer=referenced) == []


def test_change_behind_local_reference_is_found_at_the_referring_path() -> None:
    writer = {
        "type": "array",
        "items": {"$ref": "#/definitions/x"},
        "definitions": {"x": {"type": "string"}},
    }
    reader = {
        "type": "array",
        "items": {"$ref": "#/definitions/x"},
        "definitions": {"x": {"type": "number"}},
    }
    assert [(i.error_type, i.location) for i in check(reader, writer)] == [
        ("TYPE_CHANGED", "#/items")
    ]


def test_recursive_schema_terminates_and_finds_change_once() -> None:
    writer = {"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "number"}}}
    reader = {"type": "object", "properties": {"next": {"$ref": "#"}, "v": {"type": "integer"}}}
    assert check(reader=writer, writer=writer) == []
    assert check(reader=writer, writer=reader) == []
    assert [(i.error_type, i.location) for i in check(reader, writer)] == [
        ("TYPE_NARROWED", "#/properties/v")
    ]


def test_mutually_recursive_definitions_terminate() -> None:
    schema = {
        "$ref": "#/definitions/a",
        "definitions": {
            "a": {"type": "object", "properties": {"b": {"$ref": "#/definitions/b"}}},
            "b": {"anyOf": [{"type": "null"}, {"$ref": "#/definitions/a"}]},
        },
    }
    assert check(schema, schema) == []


def test_cross_reference_change_is_detected() -> None:
    root = '{"type":"object","properties":{"customer":{"$ref":"customer.json"}}}'
    v1 = ResolvedReference(
        "customer.json", "customer", 1, '{"type":"object","properties":{"id":{"type":"integer"}}}'
    )
    v2 = ResolvedReference(
        "customer.json", "customer", 2, '{"type":"object","properties":{"id":{"type":"string"}}}'
    )
    old, new = JSON.parse(root, [v1]), JSON.parse(root, [v2])
    assert [(i.error_type, i.location) for i in JSON.check_compatibility(new, old)] == [
        ("TYPE_CHANGED", "#/properties/customer/properties/id")
    ]
    assert JSON.check_compatibility(JSON.parse(root, [v1]), old) == []


def test_cross_reference_cycle_terminates() -> None:
    a = ResolvedReference(
        "a.json", "a", 1, '{"type":"object","properties":{"b":{"$ref":"b.json"}}}'
    )
    b = ResolvedReference(
        "b.json", "b", 1, '{"type":"object","properties":{"a":{"$ref":"a.json"}}}'
    )
    root = JSON.parse('{"$ref":"a.json"}', [a, b])
    assert JSON.check_compatibility(root, root) == []


def test_incompatibility_message_matches_confluent_verbose_shape() -> None:
    found = check(reader={"type": "string", "maxLength": 3}, writer={"type": "string"})
    assert found[0].confluent_message() == (
        "{errorType:'MAX_LENGTH_ADDED', description:'The keyword at path '#/maxLength' in the "
        "reader schema is not present in the writer schema', additionalInfo:''}"
    )


def test_incompatibilities_are_not_repeated() -> None:
    writer = {"anyOf": [{"type": "string"}, {"type": "number"}]}
    reader = {"type": "boolean"}
    found = check(reader, writer)
    assert len(found) == len(set(found))
