"""JSON Schema validation errors name the field, as Avro errors do: a missing required property
is reported at its own path (``#/address/zip``), not at the object that lacks it."""

from __future__ import annotations

import json

import pytest

from charter.sdk.codecs import JsonCodec
from charter.sdk.errors import ValidationError

ORDER = {
    "type": "object",
    "properties": {
        "address": {
            "type": "object",
            "properties": {"street": {"type": "string"}, "zip": {"type": "string"}},
            "required": ["street", "zip"],
        },
        "items": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "a/b": {"type": "string"}},
                "required": ["name"],
            },
        },
    },
    "required": ["address"],
}
ADDRESS = {"street": "Main St", "zip": "12345"}


def codec(schema: dict) -> JsonCodec:
    return JsonCodec(1, json.dumps(schema))


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ({}, "#/address"),
        ({"address": {"street": "Main St"}}, "#/address/zip"),
        ({"address": ADDRESS, "items": [{"name": "a"}, {}]}, "#/items/1/name"),
        ({"address": {"street": "Main St", "zip": 5}}, "#/address/zip"),
    ],
)
def test_the_error_names_the_missing_or_wrong_field(value: dict, path: str) -> None:
    with pytest.raises(ValidationError) as raised:
        codec(ORDER).encode(value)
    assert raised.value.path == path
    assert str(raised.value).startswith(f"{path}: ")


def test_a_property_name_with_a_slash_is_escaped_in_the_pointer() -> None:
    schema = {"type": "object", "required": ["a/b"]}
    with pytest.raises(ValidationError) as raised:
        codec(schema).encode({})
    assert raised.value.path == "#/a~1b"


@pytest.mark.parametrize(
    "schema",
    [
        {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "dependentRequired": {"card": ["billing"]},
        },
        {"type": "object", "dependencies": {"card": ["billing"]}},  # draft-07
    ],
)
def test_dependent_required_names_the_missing_dependency(schema: dict) -> None:
    with pytest.raises(ValidationError) as raised:
        codec(schema).encode({"card": "4111"})
    assert raised.value.path == "#/billing"
    assert "dependency of 'card'" in str(raised.value)
    assert codec(schema).encode({"card": "4111", "billing": "x"})


def test_the_second_missing_property_is_named_when_the_first_is_present() -> None:
    with pytest.raises(ValidationError) as raised:
        codec(ORDER).encode({"address": {"zip": "1"}})
    assert raised.value.path == "#/address/street"
