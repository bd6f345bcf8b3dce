"""The native Avro encoder against the Python one: same bytes for every value it writes, and
every value it declines is decided by Python (bytes, or ValidationError) — never a crash."""

from __future__ import annotations

import datetime
import decimal
import itertools
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charter.sdk import avro_program
from charter.sdk.avro_encoder import Mismatch
from charter.sdk.codecs import AvroCodec
from charter.sdk.errors import ValidationError

pytest.importorskip("charter.sdk._avro_encode", reason="native extension not built")

PLAIN = (type(None), bool, int, float, str, bytes, bytearray, list, tuple, dict)
REFUSED = (Mismatch, OverflowError, UnicodeEncodeError, RecursionError)


class IntSub(int):
    pass


class StrSub(str):
    pass


class DictSub(dict):
    pass


class FloatSub(float):
    pass


HOSTILE = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([2**31, -(2**31) - 1, 2**63, -(2**63) - 1, 10**400, 2**64]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([1e300, -1e300, 3.5e38, float("nan"), float("inf")]),
    st.booleans(),
    st.none(),
    st.text(max_size=5),
    st.sampled_from(["\udc80", "a\ud800b", "EUR", "é"]),
    st.binary(max_size=6),
    st.builds(bytearray, st.binary(max_size=4)),
    st.builds(IntSub, st.integers(-5, 5)),
    st.builds(StrSub, st.sampled_from(["EUR", "x"])),
    st.builds(FloatSub, st.floats(-2, 2)),
    st.builds(DictSub),
    st.just({1: 2}),
    st.just({"\udc80": 1}),
    st.lists(st.integers(-3, 3), max_size=3),
    st.tuples(st.integers(-3, 3)),
    st.just(datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC)),
    st.just(datetime.date(2024, 5, 1)),
    st.just(decimal.Decimal("12.34")),
    st.just(uuid.UUID(int=7)),
    st.just(object()),
)

LOGICAL = {
    "timestamp": {"type": "long", "logicalType": "timestamp-millis"},
    "date": {"type": "int", "logicalType": "date"},
    "uuid": {"type": "string", "logicalType": "uuid"},
    "decimal": {"type": "bytes", "logicalType": "decimal", "precision": 6, "scale": 2},
    "unknown": {"type": "long", "logicalType": "no-such-type"},
}
# union branches: at most one of each slot (Avro forbids two of one type in a union)
SLOTS = {
    "integer": ["int", "long", "timestamp", "date"],
    "real": ["float", "double"],
    "text": ["string", "uuid"],
    "binary": ["bytes", "decimal"],
    "null": ["null"],
    "boolean": ["boolean"],
    "record": ["record"],
    "enum": ["enum"],
    "fixed": ["fixed"],
    "array": ["array"],
    "map": ["map"],
}
SCALARS = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]


@st.composite
def schemas(draw: Any) -> dict[str, Any]:
    """A random record schema (named types, unions, logical types, defaults, recursion)."""
    names = itertools.count()

    def make(kind: str, depth: int) -> Any:
        if kind in SCALARS:
            return kind
        if kind in LOGICAL:
            return dict(LOGICAL[kind])
        if kind == "enum":
            return {"type": "enum", "name": f"E{next(names)}", "symbols": ["EUR", "USD", "GBP"]}
        if kind == "fixed":
            return {"type": "fixed", "name": f"F{next(names)}", "size": draw(st.integers(0, 3))}
        if kind == "array":
            return {"type": "array", "items": any_type(depth + 1)}
        if kind == "map":
            return {"type": "map", "values": any_type(depth + 1)}
        if kind == "union":
            slots = draw(st.lists(st.sampled_from(sorted(SLOTS)), min_size=1, max_size=4))
            picked = [draw(st.sampled_from(SLOTS[slot])) for slot in dict.fromkeys(slots)]
            return [make(branch, depth + 1) for branch in picked]
        return record(depth + 1)

    def any_type(depth: int) -> Any:
        kinds = SCALARS + list(LOGICAL) + ["enum", "fixed"]
        if depth < 3:
            kinds += ["array", "map", "union", "record", "union"]
        return make(draw(st.sampled_from(kinds)), depth)

    def record(depth: int) -> dict[str, Any]:
        name = f"R{next(names)}"
        fields = []
        for number in range(draw(st.integers(0 if depth else 1, 4))):
            field: dict[str, Any] = {"name": f"f{number}", "type": any_type(depth)}
            default = draw(st.sampled_from(["none", "none", "null-union", "value"]))
            if default == "null-union" and not isinstance(field["type"], list):
                field = {"name": field["name"], "type": ["null", field["type"]], "default": None}
            elif default == "value" and field["type"] in ("int", "long", "string", "boolean"):
                field["default"] = {"int": 3, "long": -9, "string": "d", "boolean": True}[
                    field["type"]
                ]
            fields.append(field)
        if draw(st.booleans()):  # a recursive field: a linked list of this record
            fields.append({"name": "next", "type": ["null", name], "default": None})
        return {"type": "record", "name": name, "fields": fields}

    return record(0)


def values_for(schema: Any, named: dict[str, Any], depth: int = 0) -> st.SearchStrategy[Any]:
    """Mostly values that fit ``schema``, sometimes hostile ones, at any position."""
    if isinstance(schema, str) and schema in named:
        schema = named[schema]
    fitting = _fitting(schema, named, depth)
    if depth == 0:
        return fitting
    return st.integers(0, 19).flatmap(lambda dice: HOSTILE if dice == 0 else fitting)


def _fitting(schema: Any, named: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if isinstance(schema, list):
        return st.one_of([values_for(branch, named, depth + 1) for branch in schema])
    kind = schema if isinstance(schema, str) else schema["type"]
    logical = schema.get("logicalType") if isinstance(schema, dict) else None
    if logical == "timestamp-millis":
        moment = datetime.datetime(2024, 1, 2, 3, 4, 5, 6000, tzinfo=datetime.UTC)
        return st.one_of(st.integers(-(2**63), 2**63 - 1), st.just(moment))
    if logical == "date":
        return st.one_of(st.integers(-(2**31), 2**31 - 1), st.dates())
    if logical == "uuid":
        return st.one_of(st.uuids().map(str), st.uuids())
    if logical == "decimal":
        return st.one_of(
            st.binary(max_size=3), st.decimals(places=2, max_value=9999, min_value=-9999)
        )
    simple = {
        "null": st.none(),
        "boolean": st.booleans(),
        "int": st.integers(-(2**31), 2**31 - 1),
        "long": st.integers(-(2**63), 2**63 - 1),
        "float": st.one_of(st.floats(width=32), st.integers(-(2**24), 2**24)),
        "double": st.one_of(st.floats(), st.integers(-(2**53), 2**53)),
        "bytes": st.one_of(st.binary(max_size=8), st.builds(bytearray, st.binary(max_size=4))),
        "string": st.text(max_size=8),
    }
    if kind in simple:
        return simple[kind]
    if kind == "fixed":
        return st.binary(min_size=schema["size"], max_size=schema["size"])
    if kind == "enum":
        return st.sampled_from(schema["symbols"])
    if kind == "array":
        items = values_for(schema["items"], named, depth + 1)
        return st.one_of(st.lists(items, max_size=3), st.lists(items, max_size=2).map(tuple))
    if kind == "map":
        return st.dictionaries(
            st.text(max_size=3), values_for(schema["values"], named, depth + 1), max_size=3
        )
    if depth > 4:  # a recursive record: stop the chain
        return st.just({})
    fields = {
        field["name"]: values_for(field["type"], named, depth + 1) for field in schema["fields"]
    }
    optional = {field["name"] for field in schema["fields"] if "default" in field}

    @st.composite
    def record(draw: Any) -> dict[str, Any]:
        value = {
            name: draw(strategy)
            for name, strategy in fields.items()
            if name not in optional or draw(st.booleans())
        }
        if draw(st.integers(0, 19)) == 0:
            value["unknown"] = 1
        return value

    return record()


def _plain(value: Any, depth: int = 0) -> bool:
    if type(value) not in PLAIN or depth > 50:
        return False
    if type(value) in (list, tuple):
        return all(_plain(item, depth + 1) for item in value)
    if type(value) is dict:
        return all(_plain(k, depth + 1) and _plain(v, depth + 1) for k, v in value.items())
    return True


def python_bytes(codec: AvroCodec, value: Any) -> bytes | None:
    try:
        return codec._encode(value)
    except REFUSED:
        return None


def check(codec: AvroCodec, value: Any) -> None:
    native = codec._native(value)
    python = python_bytes(codec, value)
    if native is not None:
        assert native == python, "the native encoder wrote what Python would not"
    elif python is not None and _plain(value):
        pytest.fail("the native encoder declined a plain value the Python encoder writes")
    if python is None:
        with pytest.raises(ValidationError):
            codec.encode(value)
    else:
        assert codec.encode(value) == python


@st.composite
def schema_and_value(draw: Any) -> tuple[AvroCodec, Any]:
    schema = draw(schemas())
    codec = AvroCodec(42, schema)
    return codec, draw(values_for(schema, codec._named))


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(schema_and_value())
def test_native_matches_python(case: tuple[AvroCodec, Any]) -> None:
    codec, value = case
    check(codec, value)


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(schemas(), HOSTILE)
def test_hostile_top_level_values(schema: dict[str, Any], value: Any) -> None:
    check(AvroCodec(1, schema), value)


NODE = {
    "type": "record",
    "name": "Node",
    "fields": [
        {"name": "value", "type": "int"},
        {"name": "next", "type": ["null", "Node"], "default": None},
    ],
}


def test_deep_and_cyclic_values_are_refused_or_written_never_crash() -> None:
    codec = AvroCodec(1, NODE)
    chain: dict[str, Any] = {"value": 0}
    for number in range(1, 3000):
        chain = {"value": number, "next": chain}
    try:
        framed = codec.encode(chain)
    except ValidationError as error:
        assert "deeply" in error.message
    else:
        assert framed == python_bytes(codec, chain)
    cyclic: dict[str, Any] = {"value": 1}
    cyclic["next"] = cyclic
    with pytest.raises(ValidationError):
        codec.encode(cyclic)
    shallow = {"value": 1, "next": {"value": 2, "next": None}}
    assert codec._native(shallow) == python_bytes(codec, shallow) is not None


def test_declined_values_fall_back_to_python() -> None:
    codec = AvroCodec(5, {"type": "record", "name": "T", "fields": [LOGICAL_FIELD]})
    moment = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)
    assert codec._native({"at": moment}) is None
    assert codec.encode({"at": moment}) == codec.encode({"at": 1_704_067_200_000})


LOGICAL_FIELD = {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}}


def test_errors_name_the_field_for_values_only_python_could_judge() -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [{"name": "ratio", "type": "float"}, {"name": "label", "type": "string"}],
    }
    codec = AvroCodec(5, schema)
    with pytest.raises(ValidationError) as error:
        codec.encode({"ratio": 1e300, "label": "x"})
    assert error.value.path == "#/ratio"
    with pytest.raises(ValidationError) as error:
        codec.encode({"ratio": 1.0, "label": "\udc80"})
    assert error.value.path == "#/label"


def test_without_the_extension_the_python_encoder_alone_gives_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from tests.charter.sdk.test_avro_codec import GOOD, ORDER

    native_codec = AvroCodec(9, ORDER)
    monkeypatch.setattr(avro_program, "_native", None)
    python_codec = AvroCodec(9, ORDER)
    assert python_codec._native is None
    assert python_codec.try_encode(GOOD) == native_codec.try_encode(GOOD) is not None
    assert python_codec.try_encode({**GOOD, "id": "x"}) is None
    with pytest.raises(ValidationError) as error:
        python_codec.encode({**GOOD, "id": "x"})
    assert error.value.path == "#/id"


def test_dicts_with_deleted_and_reordered_keys() -> None:
    schema = {
        "type": "record",
        "name": "T",
        "fields": [
            {"name": "a", "type": "long"},
            {"name": "b", "type": "string"},
            {"name": "c", "type": ["null", "long"], "default": None},
        ],
    }
    codec = AvroCodec(3, schema)
    deleted: dict[str, Any] = {"a": 1, "gone": 0, "b": "x", "c": 3}
    del deleted["gone"]
    moved: dict[str, Any] = {"a": 1, "b": "x", "c": 3}
    del moved["a"]
    moved["a"] = 1
    emptied: dict[str, Any] = {"a": 1, "b": "x", "c": 3}
    del emptied["c"]
    for value in (deleted, moved, emptied):
        assert codec._native(value) == python_bytes(codec, value) is not None
    many = {f"k{number}": number for number in range(50)}
    map_codec = AvroCodec(4, {"type": "map", "values": "long"})
    for number in range(0, 50, 3):
        del many[f"k{number}"]
    assert map_codec._native(many) == python_bytes(map_codec, many) is not None


def test_the_opcodes_agree_with_the_extension() -> None:
    import importlib

    native = importlib.import_module("charter.sdk._avro_encode")
    for name, code in avro_program.OP.items():
        assert getattr(native, name.upper()) == code


class ResizingKey(str):
    """A key whose comparison (run by a union's record test) grows or shrinks another dict."""

    target: dict[str, Any]
    grow: bool

    def __eq__(self, other: object) -> bool:
        if self.grow:
            self.target.update({f"extra{number}": number for number in range(100)})
        else:
            self.target.clear()
        return str.__eq__(self, other)

    __hash__ = str.__hash__


def test_a_record_resized_by_python_code_while_encoded_is_refused_never_read_freed() -> None:
    schema = {
        "type": "record",
        "name": "Outer",
        "fields": [
            {"name": "first", "type": "long"},
            {
                "name": "inner",
                "type": [
                    "null",
                    {"type": "record", "name": "Inner", "fields": [{"name": "x", "type": "int"}]},
                ],
            },
            {"name": "last", "type": "string"},
            *({"name": f"after{number}", "type": "long"} for number in range(6)),
        ],
    }
    codec = AvroCodec(6, schema)
    for grow in (True, False):
        key = ResizingKey("x")
        # more than 5 keys: the dict's old table is freed on resize, not kept on a free list
        outer: dict[str, Any] = {"first": 1, "inner": {key: 2}, "last": "z"}
        outer.update({f"after{number}": number for number in range(6)})
        key.target, key.grow = outer, grow
        assert codec._native(outer) is None  # read again after the resize: extra or missing keys
        assert len(outer) == (109 if grow else 0)  # the comparison did run
