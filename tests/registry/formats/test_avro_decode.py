"""The generated Avro decoder against fastavro: same values, same acceptance (within the spec).

The decoder must answer exactly fastavro's ``schemaless_reader`` value for
every payload it accepts, accept every valid encoding, and refuse exactly
what fastavro refuses plus what the Avro specification forbids and fastavro
lets through (``registry.formats.avro_decode``): the reference for the latter
is the strict walker that explains refusals.
"""

from __future__ import annotations

import io
import math
import struct
import uuid
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.formats.avro_decode import ZERO_WIDTH_ITEMS, compile_decoder
from registry.formats.avro_payload import AvroPayloadValidator, _Walker
from registry.formats.base import PayloadInvalid
from tests.registry.formats.avro_strategies import schemas

_SETTINGS = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
_PRIMITIVE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "null": st.none(),
    "boolean": st.booleans(),
    "int": st.integers(-(2**31), 2**31 - 1),
    "long": st.integers(-(2**63), 2**63 - 1),
    "float": st.floats(width=32),
    "double": st.floats(),
    "bytes": st.binary(max_size=12),
    "string": st.text(max_size=12),
}


def _named(schema: Any, found: dict[str, Any]) -> dict[str, Any]:
    """Every named type defined in ``schema``, by name."""
    if isinstance(schema, list):
        for branch in schema:
            _named(branch, found)
    elif isinstance(schema, dict):
        if schema.get("type") in ("record", "enum", "fixed"):
            found[schema["name"]] = schema
        for field in schema.get("fields", ()):
            _named(field["type"], found)
        for key in ("items", "values"):
            if key in schema:
                _named(schema[key], found)
    return found


def values_of(schema: Any, named: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Python values fastavro writes with ``schema``."""
    if isinstance(schema, str):
        if schema in named:
            return st.deferred(lambda: values_of(named[schema], named))
        return _PRIMITIVE_VALUES[schema]
    if isinstance(schema, list):
        return st.one_of([values_of(branch, named) for branch in schema])
    kind = schema["type"]
    if kind in _PRIMITIVE_VALUES:
        return _PRIMITIVE_VALUES[kind]
    if kind == "record":
        return st.fixed_dictionaries(
            {field["name"]: values_of(field["type"], named) for field in schema["fields"]}
        )
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    if kind == "array":
        return st.lists(values_of(schema["items"], named), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=4), values_of(schema["values"], named), max_size=3)
    return values_of(kind, named)


@st.composite
def encoded(draw: st.DrawFn) -> tuple[Any, dict[str, Any], bytes]:
    """A schema (fastavro's parsed form), its named types and a valid encoding."""
    raw = draw(schemas())
    named: dict[str, Any] = {}
    parsed = fastavro.parse_schema(raw, named_schemas=named)
    value = draw(values_of(raw, _named(raw, {})))
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, value)
    return parsed, named, buffer.getvalue()


def _normal(value: Any) -> Any:
    """``value`` with floats compared by their bits (NaN equals NaN)."""
    if isinstance(value, float):
        return ("nan",) if math.isnan(value) else ("float", struct.pack("<d", value))
    if isinstance(value, dict):
        return {key: _normal(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_normal(item) for item in value]
    return value


def _fastavro(parsed: Any, payload: bytes) -> tuple[bool, Any]:
    stream = io.BytesIO(payload)
    try:
        value = fastavro.schemaless_reader(stream, parsed, None)
    except Exception:
        return False, None
    return stream.tell() == len(payload), value


def _spec_allows(parsed: Any, named: dict[str, Any], payload: bytes) -> bool:
    walker = _Walker(payload, named)
    try:
        walker.read(parsed, "#")
    except PayloadInvalid:
        return False
    return walker.pos == len(payload)


def _decoded(decoder: Any, payload: bytes) -> tuple[bool, Any]:
    try:
        return True, decoder(payload)
    except Exception:
        return False, None


@_SETTINGS
@given(case=encoded(), data=st.data())
def test_valid_payloads_decode_as_fastavro_decodes_them(case: Any, data: st.DataObject) -> None:
    parsed, named, payload = case
    accepted, expected = _fastavro(parsed, payload)
    assert accepted
    assert _normal(compile_decoder(parsed, named)(payload)) == _normal(expected)
    if isinstance(expected, dict):
        keep = data.draw(st.sets(st.sampled_from(sorted(expected) or ["none"])))
        partial = compile_decoder(parsed, named, keep)(payload)
        assert _normal(partial) == _normal({k: v for k, v in expected.items() if k in keep})


_MUTATIONS = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 1_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 1_000), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 1_000), st.integers(0, 255)),
)


def _mutate(data: bytes, mutation: tuple[str, int, int]) -> bytes:
    kind, where, byte = mutation
    if not data:
        return bytes([byte]) if kind == "insert" else data
    at = where % len(data)
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ byte]) + data[at + 1 :]
    if kind == "cut":
        return data[:at]
    return data[:at] + bytes([byte]) + data[at:]


@_SETTINGS
@given(case=encoded(), mutations=st.lists(_MUTATIONS, min_size=1, max_size=3), data=st.data())
def test_mutated_payloads_are_accepted_exactly_when_fastavro_and_the_spec_accept_them(
    case: Any, mutations: list[tuple[str, int, int]], data: st.DataObject
) -> None:
    parsed, named, payload = case
    for mutation in mutations:
        payload = _mutate(payload, mutation)
    fast_ok, fast_value = _decoded(compile_decoder(parsed, named), payload)
    if not _spec_allows(parsed, named, payload):
        assert not fast_ok
        return
    # The walker bounds array counts, so fastavro cannot be sent allocating here.
    reference_ok, reference_value = _fastavro(parsed, payload)
    assert fast_ok == reference_ok
    if fast_ok:
        assert _normal(fast_value) == _normal(reference_value)


@_SETTINGS
@given(case=encoded(), garbage=st.binary(max_size=40))
def test_random_bytes_are_accepted_exactly_when_fastavro_and_the_spec_accept_them(
    case: Any, garbage: bytes
) -> None:
    parsed, named, _ = case
    fast_ok, fast_value = _decoded(compile_decoder(parsed, named, ()), garbage)
    if not _spec_allows(parsed, named, garbage):
        assert not fast_ok
        return
    reference_ok, _ = _fastavro(parsed, garbage)
    assert fast_ok == reference_ok


# -- where fastavro reads past the specification ----------------------------------------------


def _decoder(schema: Any, keep: Any = None) -> Any:
    named: dict[str, Any] = {}
    return compile_decoder(fastavro.parse_schema(schema, named_schemas=named), named, keep)


@pytest.mark.parametrize(
    ("schema", "payload"),
    [
        ("long", b"\x80" * 10 + b"\x01"),  # 11-byte varint: fastavro wraps it
        ("int", b"\xfe\xff\xff\xff\x1f"),  # 2^32 - 1 as an int
        ("boolean", b"\x02"),  # fastavro reads any non-zero byte as true
        ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, b"\x01"),  # index -1
        (["null", "string"], b"\x01\x02a"),  # branch -1: fastavro takes the last
        ("string", b"\x03abc"),  # negative length
        ("string", b"\x14abc"),  # truncated
        ("string", b"\x02\xff"),  # not UTF-8
        ("long", b"\x02\x00"),  # a byte after the value
        ({"type": "array", "items": "long"}, b"\x80\x80\x80\x80\x10\x00"),  # 2^32 items, no data
    ],
)
def test_payloads_outside_the_specification_are_refused(schema: Any, payload: bytes) -> None:
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever the decoder raises
        _decoder(schema)(payload)
    with pytest.raises(PayloadInvalid):
        AvroPayloadValidator(schema)(payload)


def test_arrays_of_nothing_are_bounded_where_fastavro_would_allocate_without_limit() -> None:
    schema = {"type": "array", "items": "null"}
    count = ZERO_WIDTH_ITEMS

    def varint(number: int) -> bytes:
        zigzag, out = number << 1, bytearray()
        while zigzag > 0x7F:
            out.append(zigzag & 0x7F | 0x80)
            zigzag >>= 7
        return bytes([*out, zigzag])

    assert _decoder(schema)(varint(count) + b"\x00") == [None] * count
    with pytest.raises(PayloadInvalid, match="items that take no bytes"):
        AvroPayloadValidator(schema)(varint(count) + varint(1) + b"\x00")
    with pytest.raises(PayloadInvalid, match="items that take no bytes"):
        AvroPayloadValidator(schema)(varint(2**40) + b"\x00")  # fastavro: a list of 2^40


_LOGICAL = {
    "type": "record",
    "name": "L",
    "fields": [
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "id", "type": {"type": "string", "logicalType": "uuid"}},
        {
            "name": "amount",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 9, "scale": 2},
        },
        {"name": "other", "type": "long"},
    ],
}


@pytest.mark.parametrize("keep", [None, {"other"}, set()])
def test_logical_types_are_converted_as_fastavro_converts_them_even_when_not_kept(keep) -> None:
    parsed = fastavro.parse_schema(_LOGICAL, named_schemas={})
    buffer = io.BytesIO()
    value = {"day": 19000, "at": 1_700_000_000_000, "id": str(uuid.UUID(int=7))}
    fastavro.schemaless_writer(buffer, parsed, {**value, "amount": b"\x01\x00", "other": 3})
    good = buffer.getvalue()
    expected = fastavro.schemaless_reader(io.BytesIO(good), parsed, None)
    decoded = _decoder(_LOGICAL, keep)(good)
    assert decoded == {k: v for k, v in expected.items() if keep is None or k in keep}
    bad_uuid = good.replace(str(uuid.UUID(int=7)).encode(), b"x" * 36)
    with pytest.raises(ValueError):  # noqa: PT011 - fastavro's uuid reader refuses it too
        fastavro.schemaless_reader(io.BytesIO(bad_uuid), parsed, None)
    with pytest.raises(PayloadInvalid, match="not valid Avro"):
        AvroPayloadValidator(_LOGICAL, keep)(bad_uuid)


def test_recursive_records_decode() -> None:
    schema = {
        "type": "record",
        "name": "Node",
        "fields": [{"name": "value", "type": "long"}, {"name": "next", "type": ["null", "Node"]}],
    }
    parsed = fastavro.parse_schema(schema, named_schemas={})
    node = {"value": 1, "next": {"value": 2, "next": {"value": 3, "next": None}}}
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, parsed, node)
    assert _decoder(schema)(buffer.getvalue()) == node
    assert _decoder(schema, {"value"})(buffer.getvalue()) == {"value": 1}


def test_a_schema_nested_beyond_what_python_compiles_is_decoded_by_fastavro() -> None:
    schema: Any = "long"
    value: Any = 1
    for _ in range(25):  # 25 nested arrays: more nested loops than Python compiles
        schema, value = {"type": "array", "items": schema}, [value]
    validator = AvroPayloadValidator(schema)
    assert validator.decode is None
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), value)
    assert validator(buffer.getvalue()) == value
    with pytest.raises(PayloadInvalid):
        validator(buffer.getvalue() + b"\x00")
