"""Payload validators of parsed schemas: Avro binary (fastavro) and JSON text (jsonschema)."""

from __future__ import annotations

import io
import json
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.formats import get_format
from registry.formats.base import PayloadInvalid

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "status", "type": {"type": "enum", "name": "Status", "symbols": ["NEW", "PAID"]}},
        {
            "name": "items",
            "type": {
                "type": "array",
                "items": {
                    "type": "record",
                    "name": "Item",
                    "fields": [
                        {"name": "sku", "type": "string"},
                        {"name": "price", "type": "double"},
                    ],
                },
            },
        },
        {"name": "tags", "type": {"type": "map", "values": "int"}},
    ],
}
ORDER_VALUE = {
    "id": 7,
    "note": None,
    "status": "PAID",
    "items": [{"sku": "a", "price": 1.5}, {"sku": "b", "price": 2.0}],
    "tags": {"x": 1},
}


def avro_schema(schema: Any):  # noqa: ANN201
    return get_format("AVRO").parse(json.dumps(schema))


def avro_bytes(schema: Any, value: Any) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema, named_schemas={}), value)
    return out.getvalue()


def test_avro_valid_payload_decodes() -> None:
    validator = avro_schema(ORDER).payload_validator
    assert validator(avro_bytes(ORDER, ORDER_VALUE)) == ORDER_VALUE


def test_avro_validator_is_compiled_once_per_schema() -> None:
    parsed = avro_schema(ORDER)
    assert parsed.payload_validator is parsed.payload_validator
    assert avro_schema(ORDER).payload_validator is parsed.payload_validator  # parse is cached


@pytest.mark.parametrize(
    ("mutate", "path", "words"),
    [
        (lambda data: data[:-4], "#/tags", "truncated"),
        (lambda data: data + b"\x00", "#", "1 bytes after the end"),
        (lambda data: data[:1] + b"\x04" + data[2:], "#/note", "union branch 2"),
        (lambda data: data[:2] + b"\x08" + data[3:], "#/status", "enum index 4"),
        (lambda data: b"", "#/id", "truncated"),
    ],
)
def test_avro_errors_name_the_field(mutate: Any, path: str, words: str) -> None:
    validator = avro_schema(ORDER).payload_validator
    with pytest.raises(PayloadInvalid) as raised:
        validator(mutate(avro_bytes(ORDER, ORDER_VALUE)))
    assert raised.value.path == path
    assert words in raised.value.message
    assert raised.value.message.startswith(path)


def test_avro_error_inside_an_array_item() -> None:
    data = avro_bytes(ORDER, ORDER_VALUE)
    cut = data.index(b"\x02b") + 2  # the second item's sku, then its price is cut short
    with pytest.raises(PayloadInvalid) as raised:
        avro_schema(ORDER).payload_validator(data[: cut + 3])
    assert raised.value.path == "#/items/1/price"


def test_avro_invalid_utf8_string() -> None:
    schema = {"type": "record", "name": "R", "fields": [{"name": "s", "type": "string"}]}
    with pytest.raises(PayloadInvalid) as raised:
        avro_schema(schema).payload_validator(b"\x04\xff\xfe")
    assert raised.value.path == "#/s"
    assert "UTF-8" in raised.value.message


# --------------------------------------------------------------------------- hypothesis

_PRIMITIVE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32, allow_nan=False),
    "double": st.floats(allow_nan=False),
    "bytes": st.binary(max_size=20),
    "string": st.text(max_size=20),
}
_names = iter(range(10**9))


@st.composite
def typed(draw: st.DrawFn, depth: int = 2) -> tuple[Any, st.SearchStrategy[Any]]:
    """(schema, strategy of its values); unions are ["null", T], as most real schemas use."""
    kinds = [*_PRIMITIVE_VALUES, "enum", "fixed"]
    if depth > 0:
        kinds += ["record", "array", "map", "optional"]
    kind = draw(st.sampled_from(kinds))
    if kind in _PRIMITIVE_VALUES:
        return kind, _PRIMITIVE_VALUES[kind]
    if kind == "enum":
        symbols = draw(st.lists(st.sampled_from("ABCDE"), min_size=1, unique=True))
        return {"type": "enum", "name": f"E{next(_names)}", "symbols": symbols}, st.sampled_from(
            symbols
        )
    if kind == "fixed":
        size = draw(st.integers(0, 8))
        schema = {"type": "fixed", "name": f"F{next(_names)}", "size": size}
        return schema, st.binary(min_size=size, max_size=size)
    if kind == "optional":
        inner, values = draw(typed(depth - 1).filter(lambda typed: not isinstance(typed[0], list)))
        return ["null", inner], st.one_of(st.none(), values)
    if kind == "array":
        inner, values = draw(typed(depth - 1))
        return {"type": "array", "items": inner}, st.lists(values, max_size=4)
    if kind == "map":
        inner, values = draw(typed(depth - 1))
        return {"type": "map", "values": inner}, st.dictionaries(
            st.text(max_size=5), values, max_size=3
        )
    return draw(records(depth - 1))


@st.composite
def records(draw: st.DrawFn, depth: int = 2) -> tuple[Any, st.SearchStrategy[Any]]:
    names = draw(st.lists(st.sampled_from("abcdef"), min_size=1, max_size=4, unique=True))
    fields = [(name, draw(typed(depth))) for name in names]
    schema = {
        "type": "record",
        "name": f"R{next(_names)}",
        "fields": [{"name": name, "type": field_schema} for name, (field_schema, _) in fields],
    }
    return schema, st.fixed_dictionaries({name: values for name, (_, values) in fields})


@st.composite
def schema_and_value(draw: st.DrawFn) -> tuple[Any, Any]:
    schema, values = draw(records())
    return schema, draw(values)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_and_value())
def test_avro_round_trip(case: tuple[Any, Any]) -> None:
    schema, value = case
    data = avro_bytes(schema, value)
    assert avro_schema(schema).payload_validator(data) == value


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema_and_value(), st.data())
def test_avro_mutations_raise_payload_invalid_or_decode(case: tuple[Any, Any], data: Any) -> None:
    """Cut or flipped bytes either still decode or raise PayloadInvalid, never anything else."""
    schema, value = case
    payload = bytearray(avro_bytes(schema, value))
    if payload and data.draw(st.booleans()):
        index = data.draw(st.integers(0, len(payload) - 1))
        payload[index] ^= data.draw(st.integers(1, 255))
    else:
        payload = payload[: data.draw(st.integers(0, max(len(payload) - 1, 0)))]
    try:
        avro_schema(schema).payload_validator(bytes(payload))
    except PayloadInvalid as error:
        assert error.message.startswith(error.path)


# --------------------------------------------------------------------------- JSON

PERSON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "emails": {"type": "array", "items": {"type": "string", "format": "email"}},
        "age": {"type": "integer", "minimum": 0},
    },
    "required": ["name"],
    "$defs": {"unused": {"prefixItems": [{"type": "string"}]}},
}


def json_schema(schema: Any):  # noqa: ANN201
    return get_format("JSON").parse(json.dumps(schema))


def test_json_valid_payload_decodes() -> None:
    parsed = json_schema(PERSON)
    value = {"name": "Ada", "emails": ["a@example.com"], "age": 36}
    assert parsed.payload_validator(json.dumps(value).encode()) == value
    assert parsed.payload_validator is parsed.payload_validator


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        (b'{"name": "Ada", "age": -1}', "#/age", "minimum"),
        (b'{"name": 3}', "#/name", "not of type 'string'"),
        (b'{"age": 3}', "#/name", "'name' is a required property"),
        (b"\xff\xfe", "#", "not UTF-8"),
        (b'{"name": ', "#", "not JSON"),
        (b"NaN", "#", "not JSON"),
    ],
)
def test_json_errors_name_the_field(payload: bytes, path: str, words: str) -> None:
    with pytest.raises(PayloadInvalid) as raised:
        json_schema(PERSON).payload_validator(payload)
    assert raised.value.path == path
    assert words in raised.value.message


def test_json_uses_the_declared_draft() -> None:
    draft4 = {
        "$schema": "http://json-schema.org/draft-04/schema#",
        "maximum": 5,
        "exclusiveMaximum": True,
    }
    validator = json_schema(draft4).payload_validator
    assert validator(b"4") == 4
    with pytest.raises(PayloadInvalid):
        validator(b"5")  # draft-04's boolean exclusiveMaximum: 5 itself is out


@settings(max_examples=100, deadline=None)
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner) | st.dictionaries(st.text(), inner),
        max_leaves=10,
    )
)
def test_json_round_trip_any_value(value: Any) -> None:
    assert json_schema({}).payload_validator(json.dumps(value).encode()) == value
