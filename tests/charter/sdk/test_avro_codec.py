"""The generated Avro encoder: byte-identical to fastavro for valid values, field paths for the rest."""

from __future__ import annotations

import datetime
import io
import uuid

import fastavro
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from charter.sdk.codecs import AvroCodec, unframe
from charter.sdk.errors import ValidationError

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "shop",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "quantity", "type": "int"},
        {
            "name": "currency",
            "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD"]},
        },
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "created", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [
                    {"name": "street", "type": "string"},
                    {"name": "zip", "type": "string"},
                ],
            },
        },
        {"name": "score", "type": "float"},
        {"name": "attributes", "type": {"type": "map", "values": "long"}, "default": {}},
        {"name": "digest", "type": {"type": "fixed", "name": "Digest", "size": 4}},
        {"name": "blob", "type": "bytes"},
        {
            "name": "ref",
            "type": ["null", {"type": "string", "logicalType": "uuid"}],
            "default": None,
        },
    ],
}

GOOD = {
    "id": 7,
    "customer": "alice",
    "amount": 12.5,
    "quantity": 3,
    "currency": "EUR",
    "paid": True,
    "note": None,
    "created": 1_700_000_000_000,
    "tags": ["a", "b"],
    "address": {"street": "Main", "zip": "1000"},
    "score": 1.5,
    "attributes": {"x": 1},
    "digest": b"abcd",
    "blob": b"\x00\x01",
    "ref": None,
}


def fastavro_bytes(schema, value) -> bytes:
    out = io.BytesIO()
    fastavro.schemaless_writer(out, fastavro.parse_schema(schema), value)
    return out.getvalue()


def test_frame_and_bytes_match_fastavro():
    framed = AvroCodec(42, ORDER).encode(GOOD)
    schema_id, payload = unframe(framed)
    assert schema_id == 42
    assert framed[:5] == b"\x00\x00\x00\x00\x2a"
    assert payload == fastavro_bytes(ORDER, GOOD)


def test_decode_round_trip():
    codec = AvroCodec(1, ORDER)
    decoded = codec.decode(unframe(codec.encode(GOOD))[1])
    assert decoded["address"] == GOOD["address"]
    assert decoded["created"] == datetime.datetime(2023, 11, 14, 22, 13, 20, tzinfo=datetime.UTC)


def test_logical_values_are_converted():
    codec = AvroCodec(1, ORDER)
    moment = datetime.datetime(2024, 1, 2, 3, 4, 5, tzinfo=datetime.UTC)
    ref = uuid.UUID("12345678-1234-5678-1234-567812345678")
    value = {**GOOD, "created": moment, "ref": ref}
    assert unframe(codec.encode(value))[1] == fastavro_bytes(ORDER, value)


@pytest.mark.parametrize(
    ("change", "path", "fragment"),
    [
        ({"id": "7"}, "#/id", "expected long, got str '7'"),
        ({"quantity": 2**40}, "#/quantity", "out of the range of an Avro int"),
        ({"quantity": 1.5}, "#/quantity", "expected int"),
        ({"paid": 1}, "#/paid", "expected boolean"),
        ({"currency": "GBP"}, "#/currency", "not one of the symbols EUR, USD"),
        ({"note": 3}, "#/note", "expected one of [null, string]"),
        ({"tags": ["a", 2]}, "#/tags/1", "expected string, got int 2"),
        ({"address": {"street": "Main", "zip": 1000}}, "#/address/zip", "expected string"),
        ({"address": {"street": "Main"}}, "#/address/zip", "missing required field"),
        ({"attributes": {"x": "1"}}, "#/attributes/x", "expected long"),
        ({"digest": b"abc"}, "#/digest", "expected 4 bytes, got 3"),
        ({"blob": "text"}, "#/blob", "expected bytes"),
        ({"extra": 1}, "#/extra", "not a field of the schema"),
    ],
)
def test_mismatch_names_the_field(change, path, fragment):
    with pytest.raises(ValidationError) as raised:
        AvroCodec(1, ORDER).encode({**GOOD, **change})
    assert raised.value.path == path
    assert fragment in str(raised.value)
    assert isinstance(raised.value, ValueError)


def test_missing_field_without_default():
    value = {key: item for key, item in GOOD.items() if key != "customer"}
    with pytest.raises(ValidationError, match="#/customer: missing required field"):
        AvroCodec(1, ORDER).encode(value)


def test_field_with_default_may_be_left_out():
    value = {key: item for key, item in GOOD.items() if key not in ("note", "attributes")}
    assert unframe(AvroCodec(1, ORDER).encode(value))[1] == fastavro_bytes(ORDER, value)


def test_an_unknown_field_in_place_of_a_left_out_default_is_refused():
    value = {key: item for key, item in GOOD.items() if key != "note"} | {"notes": "typo"}
    with pytest.raises(ValidationError) as error:
        AvroCodec(1, ORDER).encode(value)
    assert error.value.path == "#/notes"


RECURSIVE = {
    "type": "record",
    "name": "Node",
    "fields": [
        {"name": "label", "type": "string"},
        {"name": "next", "type": ["null", "Node"], "default": None},
    ],
}


def test_recursive_record():
    value = {"label": "a", "next": {"label": "b", "next": {"label": "c", "next": None}}}
    assert unframe(AvroCodec(1, RECURSIVE).encode(value))[1] == fastavro_bytes(RECURSIVE, value)
    with pytest.raises(ValidationError) as raised:
        AvroCodec(1, RECURSIVE).encode({"label": "a", "next": {"label": 2}})
    assert raised.value.path == "#/next/label"


def test_union_of_records_picks_the_matching_branch():
    schema = {
        "type": "record",
        "name": "Envelope",
        "fields": [
            {
                "name": "body",
                "type": [
                    {"type": "record", "name": "A", "fields": [{"name": "a", "type": "int"}]},
                    {"type": "record", "name": "B", "fields": [{"name": "b", "type": "string"}]},
                ],
            }
        ],
    }
    value = {"body": {"b": "x"}}
    assert unframe(AvroCodec(1, schema).encode(value))[1] == fastavro_bytes(schema, value)


def test_primitive_top_level_schema():
    assert unframe(AvroCodec(1, "string").encode("hi"))[1] == b"\x04hi"
    with pytest.raises(ValidationError, match="#: expected string"):
        AvroCodec(1, "string").encode(5)


records = st.fixed_dictionaries(
    {
        "id": st.integers(-(2**63), 2**63 - 1),
        "customer": st.text(),
        "amount": st.floats(allow_nan=False),
        "quantity": st.integers(-(2**31), 2**31 - 1),
        "currency": st.sampled_from(["EUR", "USD"]),
        "paid": st.booleans(),
        "note": st.none() | st.text(),
        "created": st.integers(0, 2**42),
        "tags": st.lists(st.text(), max_size=70),
        "address": st.fixed_dictionaries({"street": st.text(), "zip": st.text(max_size=2000)}),
        "score": st.floats(width=32, allow_nan=False),
        "attributes": st.dictionaries(st.text(), st.integers(-(2**63), 2**63 - 1)),
        "digest": st.binary(min_size=4, max_size=4),
        "blob": st.binary(max_size=1500),
        "ref": st.none(),
    }
)


@settings(max_examples=150, deadline=None)
@given(records)
def test_same_bytes_as_fastavro(value):
    codec = AvroCodec(3, ORDER)
    payload = unframe(codec.encode(value))[1]
    assert payload == fastavro_bytes(ORDER, value)
    decoded = codec.decode(payload)
    assert decoded["tags"] == value["tags"] and decoded["blob"] == value["blob"]
