"""JSON Schema parsing: validity checks, canonical form, normalize, references, payload validation."""

from __future__ import annotations

import pytest

from registry.errors import InvalidSchema
from registry.formats import get_format
from registry.formats.base import ResolvedReference
from registry.formats.jsonschema import JSON, JsonPayloadInvalid


def test_registered_as_json_format() -> None:
    assert JSON.schema_type == "JSON"
    assert get_format("json") is JSON


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("{", "not valid JSON"),
        ('{"type": "string"} x', "not valid JSON"),
        ('{"maximum": NaN}', "not valid JSON"),
        ("", "not valid JSON"),
        ("[1, 2]", "object or a boolean, got an array"),
        ('"string"', "object or a boolean, got a string"),
        ("null", "object or a boolean, got null"),
        ('{"type": "strin"}', "at #/type"),
        ('{"minLength": -1}', "at #/minLength"),
        ('{"required": "a"}', "at #/required"),
        ('{"properties": {"a": {"type": 5}}}', "at #/properties/a/type"),
        ('{"maximum": 3, "exclusiveMaximum": true}', "(draft7) at #/exclusiveMaximum"),
        (
            '{"$schema": "https://json-schema.org/draft/2020-12/schema", "prefixItems": {}}',
            "(draft2020-12) at #/prefixItems",
        ),
        ('{"$ref": "#/definitions/missing"}', "Cannot resolve $ref '#/definitions/missing'"),
        ('{"properties": {"a": {"$ref": "other.json"}}}', "Cannot resolve $ref 'other.json'"),
    ],
)
def test_invalid_schemas_are_rejected_with_a_clear_message(text: str, fragment: str) -> None:
    with pytest.raises(InvalidSchema) as caught:
        JSON.parse(text)
    assert fragment in caught.value.message
    assert caught.value.error_code == 42201


def test_non_string_input_is_invalid() -> None:
    with pytest.raises(InvalidSchema):
        JSON.parse(b"{}")  # type: ignore[arg-type]


def test_draft4_boolean_exclusive_maximum_is_valid_under_draft4() -> None:
    parsed = JSON.parse(
        '{"$schema": "http://json-schema.org/draft-04/schema#", "maximum": 3, "exclusiveMaximum": true}'
    )
    assert parsed.dialect == "draft4"


def test_unknown_dialect_falls_back_to_draft7_like_confluent() -> None:
    assert (
        JSON.parse('{"$schema": "http://example.com/custom", "type": "string"}').dialect == "draft7"
    )
    assert JSON.parse('{"type": "string"}').dialect == "draft7"
    assert JSON.parse("true").dialect == "draft7"


def test_invalid_reference_text_names_the_reference() -> None:
    bad = ResolvedReference("other.json", "other", 1, "{nope")
    with pytest.raises(InvalidSchema, match="reference 'other.json'"):
        JSON.parse('{"$ref": "other.json"}', [bad])


def test_canonical_string_is_compact_and_keeps_key_order() -> None:
    parsed = JSON.parse(
        '{\n  "type" : "object",\n  "properties" : { "b" : {}, "a" : {"type":"string"} }\n}'
    )
    assert (
        parsed.canonical_string == '{"type":"object","properties":{"b":{},"a":{"type":"string"}}}'
    )


def test_whitespace_only_differences_share_canonical_string_and_fingerprint() -> None:
    one = JSON.parse('{"type":"string","maxLength":3}')
    two = JSON.parse('{ "type": "string",\n\t"maxLength": 3 }')
    assert one.canonical_string == two.canonical_string
    assert one.fingerprint == two.fingerprint


def test_canonical_string_keeps_number_spelling_and_unicode() -> None:
    assert JSON.parse('{"maximum": 1.0}').canonical_string == '{"maximum":1.0}'
    assert JSON.parse('{"maximum": 1}').canonical_string == '{"maximum":1}'
    assert JSON.parse('{"title": "caf\\u00e9"}').canonical_string == '{"title":"café"}'


def test_key_order_changes_canonical_string_but_not_normalized_form() -> None:
    one = JSON.parse('{"type":"object","properties":{"a":{"type":"string","maxLength":2}}}')
    two = JSON.parse('{"properties":{"a":{"maxLength":2,"type":"string"}},"type":"object"}')
    assert one.canonical_string != two.canonical_string
    assert one.normalized().canonical_string == two.normalized().canonical_string
    assert one.normalized().canonical_string == (
        '{"properties":{"a":{"maxLength":2,"type":"string"}},"type":"object"}'
    )
    assert one.normalized().fingerprint == two.normalized().fingerprint


def test_normalize_keeps_array_order_and_sorts_references() -> None:
    b = ResolvedReference("b.json", "b", 1, '{"type":"string"}')
    a = ResolvedReference("a.json", "a", 1, '{"type":"number"}')
    parsed = JSON.parse('{"anyOf":[{"$ref":"b.json"},{"$ref":"a.json"}]}', [b, a, b])
    normal = parsed.normalized()
    assert normal.canonical_string == '{"anyOf":[{"$ref":"b.json"},{"$ref":"a.json"}]}'
    assert normal.references == (a, b)


def test_fingerprint_depends_on_references() -> None:
    text = '{"$ref":"other.json"}'
    v1 = ResolvedReference("other.json", "other", 1, '{"type":"string"}')
    v2 = ResolvedReference("other.json", "other", 2, '{"type":"string"}')
    assert JSON.parse(text, [v1]).fingerprint != JSON.parse(text, [v2]).fingerprint


def test_parse_is_cached_by_text_and_references() -> None:
    text = '{"type":"string","title":"cached"}'
    assert JSON.parse(text) is JSON.parse(text)
    ref = ResolvedReference("x.json", "x", 1, "{}")
    assert JSON.parse(text, [ref]) is not JSON.parse(text)


def test_reference_by_name_and_fragment() -> None:
    ref = ResolvedReference(
        "defs.json", "defs", 1, '{"definitions":{"Email":{"type":"string","format":"email"}}}'
    )
    parsed = JSON.parse('{"properties":{"to":{"$ref":"defs.json#/definitions/Email"}}}', [ref])
    parsed.validate({"to": "a@example.com"})
    with pytest.raises(JsonPayloadInvalid) as caught:
        parsed.validate({"to": "not-an-email"})
    assert caught.value.path == "#/to"


def test_reference_resolved_against_root_id() -> None:
    ref = ResolvedReference("customer.json", "customer", 1, '{"type":"object","required":["id"]}')
    parsed = JSON.parse(
        '{"$id":"https://example.com/schemas/order.json","properties":{"c":{"$ref":"customer.json"}}}',
        [ref],
    )
    parsed.validate({"c": {"id": 1}})
    assert not parsed.is_valid({"c": {}})


def test_reference_with_its_own_references() -> None:
    base = ResolvedReference("base.json", "base", 1, '{"type":"integer","minimum":0}')
    mid = ResolvedReference(
        "mid.json", "mid", 1, '{"type":"object","properties":{"n":{"$ref":"base.json"}}}'
    )
    parsed = JSON.parse('{"$ref":"mid.json"}', [base, mid])
    assert parsed.is_valid({"n": 3})
    assert not parsed.is_valid({"n": -1})


def test_validate_reports_path_and_reason() -> None:
    parsed = JSON.parse(
        '{"type":"object","properties":{"items":{"type":"array","items":{"type":"integer"}}},'
        '"required":["items"],"additionalProperties":false}'
    )
    parsed.validate({"items": [1, 2]})
    with pytest.raises(JsonPayloadInvalid) as caught:
        parsed.validate({"items": [1, "two"]})
    assert caught.value.path == "#/items/1"
    assert "'two' is not of type 'integer'" in str(caught.value)
    assert not parsed.is_valid({})
    assert not parsed.is_valid({"items": [], "extra": 1})


def test_validator_follows_declared_dialect() -> None:
    tuple_2020 = JSON.parse(
        '{"$schema":"https://json-schema.org/draft/2020-12/schema","prefixItems":[{"type":"string"}],'
        '"items":false}'
    )
    assert tuple_2020.is_valid(["a"])
    assert not tuple_2020.is_valid(["a", "b"])


def test_boolean_schemas() -> None:
    assert JSON.parse("true").is_valid({"anything": [1]})
    assert not JSON.parse("false").is_valid(None)


def test_deeply_nested_schema_is_a_clear_error_not_a_crash() -> None:
    text = '{"type":"string"}'
    for _ in range(400):
        text = '{"type":"object","properties":{"a":' + text + "}}"
    with pytest.raises(InvalidSchema, match="nested too deeply"):
        JSON.parse(text)
    with pytest.raises(InvalidSchema, match="not valid JSON"):
        JSON.parse("[" * 100_000)


def test_deeply_nested_payload_is_a_clear_error() -> None:
    parsed = JSON.parse(
        '{"$ref":"#/definitions/n","definitions":{"n":{"type":"array","items":{"$ref":"#/definitions/n"}}}}'
    )
    payload: list = []
    for _ in range(2000):
        payload = [payload]
    with pytest.raises(JsonPayloadInvalid):
        parsed.validate(payload)
