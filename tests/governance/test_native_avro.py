"""The native gate's payload and rule checks against the Python fast path they stand for.

``governance._gate_native.payload_passes(plan, payload)`` must never say yes where
the Python path (the generated decoder plus the rules' fast functions,
``RuleCheckedValidator.passes``) says no, and must say yes for valid records
whose rules hold. Edge cases of every Avro type, then properties over random
records, byte mutations and rule expressions.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
import struct
from typing import Any

import fastavro
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from governance.avro_fastpath import RuleCheckedValidator, gate_validator
from governance.native_plan import build_plan
from governance.rules import EMPTY, compile_rule_set
from registry.formats import get_format
from registry.formats.avro_decode import compile_decoder
from tests.registry.formats.test_avro_decode import _MUTATIONS, _mutate, encoded

_EXAMPLES = int(os.environ.get("CHARTER_NATIVE_EXAMPLES", "300"))  # more: a longer hunt
native = pytest.importorskip("governance._gate_native")
from governance import native_gate  # noqa: E402

_SETTINGS = settings(
    max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

RICH: dict[str, Any] = {
    "type": "record",
    "name": "Rich",
    "namespace": "t",
    "fields": [
        {"name": "n", "type": "null"},
        {"name": "flag", "type": "boolean"},
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "b", "type": "bytes"},
        {"name": "s", "type": "string"},
        {"name": "fx", "type": {"type": "fixed", "name": "F4", "size": 4}},
        {
            "name": "e",
            "type": {"type": "enum", "name": "Color", "symbols": ["RED", "GREEN", "BLUE"]},
        },
        {"name": "u", "type": ["null", "string", "long"]},
        {"name": "arr", "type": {"type": "array", "items": "long"}},
        {"name": "nulls", "type": {"type": "array", "items": "null"}},
        {"name": "m", "type": {"type": "map", "values": "Color"}},
        {"name": "day", "type": {"type": "int", "logicalType": "date"}},
        {"name": "ts", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tm", "type": {"type": "int", "logicalType": "time-millis"}},
        {
            "name": "dec",
            "type": {"type": "bytes", "logicalType": "decimal", "precision": 10, "scale": 2},
        },
        {
            "name": "tree",
            "type": [
                "null",
                {
                    "type": "record",
                    "name": "Node",
                    "fields": [
                        {"name": "v", "type": "int"},
                        {"name": "kids", "type": {"type": "array", "items": "Node"}},
                    ],
                },
            ],
        },
        {"name": "uid", "type": ["null", {"type": "string", "logicalType": "uuid"}]},
    ],
}
RULE = (
    "message.i > 0 && message.e != 'BLUE' || !message.flag && message.d >= -1.5 "
    "&& message.s < 'm' && message.l != 7"
)


def _without_logical(schema: Any) -> Any:
    """The same binary encoding, written from plain values."""
    plain = copy.deepcopy(schema)

    def strip(node: Any) -> None:
        if isinstance(node, dict):
            node.pop("logicalType", None)
            for value in node.values():
                strip(value)
        elif isinstance(node, list):
            for value in node:
                strip(value)

    strip(plain)
    return plain


def _encode(schema: Any, value: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(_without_logical(schema)), value)
    return buffer.getvalue()


def _checks(
    schema: Any, expression: str | None = None, guard: str | None = None
) -> tuple[Any, Any]:
    """(Python verdict function, native plan) for ``schema`` with one CEL rule."""
    parsed = get_format("AVRO").parse(json.dumps(schema))
    rule_set = None
    if expression is not None:
        expr = f"{guard} ; {expression}" if guard else expression
        rule_set = {"domainRules": [{"name": "r", "kind": "CONDITION", "mode": "WRITE",
                                     "type": "CEL", "expr": expr}]}  # fmt: skip
    rules = compile_rule_set("AVRO", schema, rule_set, None)
    validator = gate_validator(parsed, rules, parsed.payload_validator)
    assert isinstance(validator, RuleCheckedValidator)
    return validator.passes, native_gate.plan_for(parsed, rules, validator)


def _agree(python: Any, plan: Any, payload: bytes, *, exact: bool = False) -> bool:
    native_says = native.payload_passes(plan, payload)
    python_says = python(payload)
    assert not native_says or python_says, f"native vouched for what Python refuses: {payload!r}"
    if exact:
        assert native_says == python_says, payload
    return bool(native_says)


# -- UTF-8 -------------------------------------------------------------------------------------


def _python_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@pytest.mark.parametrize(
    "data",
    [b"", b"plain ascii text!", "é€😀".encode(), b"\xc0\x80", b"\xc1\xbf", b"\xe0\x80\x80",
     b"\xed\xa0\x80", b"\xed\x9f\xbf", b"\xf0\x8f\xbf\xbf", b"\xf4\x90\x80\x80", b"\xf4\x8f\xbf\xbf",
     b"\xf5\x80\x80\x80", b"\xff", b"\x80", b"\xe2\x82", b"abcdefgh\xe2\x82\xac", b"abcdefghi\x80"],
)  # fmt: skip
def test_utf8_is_what_python_decodes(data: bytes) -> None:
    assert native.utf8_valid(data) == _python_utf8(data)


@_SETTINGS
@given(
    st.binary(max_size=40) | st.text(max_size=20).map(lambda t: t.encode("utf-8", "surrogatepass"))
)
def test_utf8_on_random_bytes(data: bytes) -> None:
    assert native.utf8_valid(data) == _python_utf8(data)


# -- Avro edges --------------------------------------------------------------------------------


def _single(kind: Any) -> tuple[Any, Any]:
    return _checks({"type": "record", "name": "R", "fields": [{"name": "x", "type": kind}]})


@pytest.mark.parametrize(
    ("kind", "payload"),
    [
        ("long", b"\x02"),
        ("long", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),  # 10 bytes: the largest
        ("long", b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01"),  # 11 bytes: overlong
        ("long", b"\x80"),  # truncated
        ("long", b"\x02\x00"),  # trailing byte
        ("int", b"\xfe\xff\xff\xff\x0f"),  # 2**31 - 1
        ("int", b"\x80\x80\x80\x80\x10"),  # 2**31: out of range
        ("int", b"\xff\xff\xff\xff\x0f"),  # -2**31
        ("int", b"\x81\x80\x80\x80\x10"),  # -2**31 - 1
        ("boolean", b"\x01"),
        ("boolean", b"\x02"),
        ("boolean", b""),
        ("float", b"\x00\x00\x80\x3f"),
        ("float", b"\x00\x00\x80"),
        ("double", b"\x00" * 8),
        ("double", b"\x00" * 7),
        ("string", b"\x04ab"),
        ("string", b"\x04\xc3\x28"),  # bad UTF-8
        ("string", b"\x04\xed\xa0"),
        ("string", b"\x06a"),  # truncated
        ("string", b"\x01"),  # negative length
        ("bytes", b"\x04\xff\xfe"),
        ("bytes", b"\x03"),
        ({"type": "fixed", "name": "F", "size": 3}, b"abc"),
        ({"type": "fixed", "name": "F", "size": 3}, b"ab"),
        ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, b"\x02"),
        ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, b"\x04"),  # index 2
        ({"type": "enum", "name": "E", "symbols": ["A", "B"]}, b"\x01"),  # index -1
        (["null", "long"], b"\x02\x06"),
        (["null", "long"], b"\x00"),
        (["null", "long"], b"\x04\x06"),  # branch 2
        (["null", "long"], b"\x01"),  # branch -1
        ({"type": "array", "items": "long"}, b"\x04\x02\x04\x00"),
        ({"type": "array", "items": "long"}, b"\x03\x04\x02\x04\x00"),  # -2 items, 2 bytes
        ({"type": "array", "items": "long"}, b"\x03\x04\x02\x04"),  # no end block
        ({"type": "array", "items": "long"}, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01\x00"),
        ({"type": "array", "items": "long"}, b"\xc8\x01\x00"),  # 100 items, no bytes
        ({"type": "array", "items": "null"}, b"\xc8\x01\x00"),  # 100 zero-width items
        ({"type": "array", "items": "null"}, b"\x80\x80\x10\x00"),  # 131072: over the allowance
        ({"type": "map", "values": "int"}, b"\x02\x02k\x02\x00"),
        ({"type": "map", "values": "int"}, b"\x02\x02\xff\x02\x00"),  # key not UTF-8
        ({"type": "map", "values": "int"}, b"\x01\x08\x02k\x02\x00"),  # -1 entries, 4 bytes
        ({"type": "int", "logicalType": "date"}, b"\x00"),
        ({"type": "int", "logicalType": "date"}, b"\xfe\xff\xff\xff\x0f"),  # past year 9999
        ({"type": "int", "logicalType": "time-millis"}, b"\x01"),  # -1 ms
        ({"type": "long", "logicalType": "timestamp-millis"}, b"\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01"),
        ({"type": "string", "logicalType": "uuid"}, b"\x02a"),
        ({"type": "string", "logicalType": "uuid"},
         b"\x48" + b"12345678-1234-5678-1234-567812345678"),
        ({"type": "bytes", "logicalType": "decimal", "precision": 4, "scale": 2}, b"\x04\x01\x02"),
    ],
)  # fmt: skip
def test_every_avro_type_edge_agrees(kind: Any, payload: bytes) -> None:
    python, plan = _single(kind)
    assert plan is not None
    # Logical values are vouched for within ranges their readers surely accept: only one way.
    _agree(python, plan, payload, exact=not (isinstance(kind, dict) and "logicalType" in kind))


def test_a_uuid_is_never_vouched_for() -> None:
    python, plan = _single({"type": "string", "logicalType": "uuid"})
    payload = b"\x48" + b"12345678-1234-5678-1234-567812345678"
    assert python(payload) and not native.payload_passes(plan, payload)


def test_recursion_deeper_than_the_walk_goes_is_not_vouched_for() -> None:
    schema = {"type": "record", "name": "L", "fields": [{"name": "next", "type": ["null", "L"]}]}
    python, plan = _checks(schema)
    assert _agree(python, plan, b"\x02" * 50 + b"\x00")
    deep = b"\x02" * 400 + b"\x00"
    assert not native.payload_passes(plan, deep)


def test_schemas_and_rules_outside_the_model_get_no_plan() -> None:
    order = {"type": "record", "name": "O", "fields": [{"name": "a", "type": "double"},
             {"name": "tags", "type": {"type": "array", "items": "string"}},
             {"name": "u", "type": ["null", "long"]}]}  # fmt: skip
    assert _checks(order, "message.a > 0.0")[1] is not None
    assert _checks(order, "size(message.s) > 0")[1] is None  # no field s
    assert _checks(order, "message.u > 3")[1] is not None  # an optional long
    for expression in ("size(message.tags) > 0", "message.a.size() > 1", "size(message.u) > 1", "message.a + 1.0 > 0.0",
                       "message.a > 1u", "has(message.a)", "message.a in [1.0]",
                       "message.a > 0.0 ? true : false", "message.zz > 1"):  # fmt: skip
        assert _checks(order, expression)[1] is None, expression


# -- properties ---------------------------------------------------------------------------------

_long = st.integers(-(2**63), 2**63 - 1)
_int = st.integers(-(2**31), 2**31 - 1)
_node = st.deferred(lambda: st.fixed_dictionaries({"v": _int, "kids": st.lists(_node, max_size=2)}))
_rich = st.fixed_dictionaries(
    {
        "n": st.none(),
        "flag": st.booleans(),
        "i": _int,
        "l": _long,
        "f": st.floats(width=32),
        "d": st.floats(),
        "b": st.binary(max_size=8),
        "s": st.text(max_size=8),
        "fx": st.binary(min_size=4, max_size=4),
        "e": st.sampled_from(["RED", "GREEN", "BLUE"]),
        "u": st.none() | st.text(max_size=4) | _long,
        "arr": st.lists(_long, max_size=4),
        "nulls": st.lists(st.none(), max_size=4),
        "m": st.dictionaries(st.text(max_size=3), st.sampled_from(["RED", "BLUE"]), max_size=3),
        "day": st.integers(-800_000, 3_000_000),
        "ts": st.integers(-(2**62), 2**62) | st.integers(0, 2**42),
        "tm": st.integers(-10, 86_400_010),
        "dec": st.binary(max_size=70),
        "tree": st.none() | _node,
        "uid": st.none() | st.just("12345678-1234-5678-1234-567812345678"),
    }
)
_PYTHON, _PLAN = _checks(RICH, RULE)


def test_the_rich_schema_has_a_plan() -> None:
    assert _PLAN is not None


@_SETTINGS
@given(_rich)
def test_a_valid_record_is_vouched_for_exactly_when_python_passes_it(
    record: dict[str, Any],
) -> None:
    payload = _encode(RICH, record)
    _agree(_PYTHON, _PLAN, payload)
    in_ranges = (
        -719_162 <= record["day"] <= 2_932_896
        and 0 <= record["tm"] < 86_400_000
        and abs(record["ts"]) < 2**42
        and len(record["dec"]) <= 64
        and record["uid"] is None
    )
    if in_ranges:
        assert native.payload_passes(_PLAN, payload) == _PYTHON(payload)


@_SETTINGS
@given(_rich, st.data())
def test_a_mutated_record_is_never_vouched_for_wrongly(record: dict[str, Any], data: Any) -> None:
    payload = bytearray(_encode(RICH, record))
    for _ in range(data.draw(st.integers(1, 3))):
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(payload) - 1, 0)))
        if action == "flip" and payload:
            payload[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del payload[at:]
        elif action == "insert":
            payload[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        elif payload:
            del payload[at]
    _agree(_PYTHON, _PLAN, bytes(payload))


# -- rules ---------------------------------------------------------------------------------------

SCALARS: dict[str, Any] = {
    "type": "record",
    "name": "S",
    "fields": [
        {"name": "i", "type": "int"},
        {"name": "l", "type": "long"},
        {"name": "f", "type": "float"},
        {"name": "d", "type": "double"},
        {"name": "flag", "type": "boolean"},
        {"name": "s", "type": "string"},
        {"name": "e", "type": {"type": "enum", "name": "E", "symbols": ["A", "B", "C"]}},
        {"name": "b", "type": "bytes"},
        {"name": "on", "type": ["null", "long"]},
        {"name": "os", "type": ["string", "null"]},
        {"name": "od", "type": ["null", "double"]},
    ],
}
_literals = {
    "i": st.integers(-5, 5).map(str) | st.sampled_from(["2.5", "-0.0", "1e3", "0x10"]),
    "l": st.integers(-(2**63) + 1, 2**63 - 1).map(str) | st.sampled_from(["3", "-3", "9007199254740993.0"]),
    "f": st.sampled_from(["0.0", "1.5", "-2", "3", "9007199254740992"]),
    "d": st.sampled_from(["0.0", "1.5", "-2", "3", "1e308", ".5"]),
    "flag": st.sampled_from(["true", "false"]),
    "s": st.sampled_from(["''", "'a'", "'m'", "\"é\"", "'zz'"]),
    "e": st.sampled_from(["'A'", "'B'", "'Z'"]),
    "on": st.sampled_from(["0", "-3", "2.5"]),
    "os": st.sampled_from(["''", "'m'"]),
    "od": st.sampled_from(["0.0", "3"]),
}  # fmt: skip


@st.composite
def _comparison(draw: Any) -> str:
    operator = draw(st.sampled_from(["==", "!=", "<", "<=", ">", ">="]))
    if draw(st.integers(0, 4)) == 0:  # a size
        field = draw(st.sampled_from(["s", "b"]))
        size = draw(st.sampled_from([f"size(message.{field})", f"message.{field}.size()"]))
        return f"{size} {operator} {draw(st.sampled_from(['0', '1', '2', '3', '1.5']))}"
    field = draw(st.sampled_from(sorted(_literals)))
    literal = draw(_literals[field])
    if field == "flag" and draw(st.booleans()):
        return "message.flag"
    if draw(st.booleans()):
        return f"{literal} {operator} message.{field}"
    return f"message.{field} {operator} {literal}"


_expressions = st.recursive(
    _comparison() | st.sampled_from(["true", "false"]),
    lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["&&", "||"]), inner).map(" ".join),
        inner.map(lambda e: f"!({e})"),
        inner.map(lambda e: f"({e})"),
    ),
    max_leaves=5,
)
_scalar_records = st.fixed_dictionaries(
    {
        "i": st.integers(-6, 6) | _int,
        "l": st.integers(-4, 4) | _long | st.sampled_from([2**53, 2**53 + 1, -(2**53) - 1]),
        "f": st.floats(width=32) | st.sampled_from([1.5, -2.0, 3.0]),
        "d": st.floats() | st.sampled_from([0.0, -0.0, 1.5, 3.0]),
        "flag": st.booleans(),
        "s": st.sampled_from(["", "a", "m", "é", "zz", "😀"]) | st.text(max_size=3),
        "e": st.sampled_from(["A", "B", "C"]),
        "b": st.binary(max_size=4),
        "on": st.none() | st.integers(-4, 4),
        "os": st.none() | st.sampled_from(["", "a", "z"]),
        "od": st.none() | st.sampled_from([0.0, 3.0, -1.5]),
    }
)


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_expressions, st.none() | _expressions, st.lists(_scalar_records, min_size=1, max_size=6))
def test_rule_programs_answer_as_the_fast_functions(
    expression: str, guard: str | None, records: list[dict[str, Any]]
) -> None:
    try:
        python, plan = _checks(SCALARS, expression, guard)
    except Exception:  # an expression the runtime does not compile (a type error)
        assume(False)
        return
    if plan is None:
        return
    for record in records:
        payload = _encode(SCALARS, record)
        vouched = _agree(python, plan, payload)
        ints_exact = abs(record["l"]) <= 2**53 and not any(
            isinstance(value, float) and math.isnan(value) for value in record.values()
        )
        if ints_exact and python(payload):
            assert vouched, (expression, guard, record)


def test_the_bench_rule_is_native() -> None:
    schema = {"type": "record", "name": "T", "fields": [{"name": "price", "type": "double"},
              {"name": "quantity", "type": "int"}]}  # fmt: skip
    python, plan = _checks(schema, "message.price > 0.0 && message.quantity > 0")
    good = _encode(schema, {"price": 2.5, "quantity": 3})
    bad = _encode(schema, {"price": 2.5, "quantity": 0})
    nan = _encode(schema, {"price": float("nan"), "quantity": 3})
    assert native.payload_passes(plan, good) and python(good)
    assert not native.payload_passes(plan, bad) and not python(bad)
    assert not native.payload_passes(plan, nan) and not python(nan)
    assert struct.unpack("<d", nan[:8])[0] != struct.unpack("<d", nan[:8])[0]


# -- random schemas (the decoder's own property tests' strategies) ------------------------------


def _random_schema_plan(parsed: Any, named: dict[str, Any]) -> Any:
    source = build_plan(parsed, named, EMPTY)
    assert source is not None
    return native.Plan(*source)


def _accepts(decode: Any, payload: bytes) -> bool:
    try:
        decode(payload)
    except Exception:
        return False
    return True


@settings(
    max_examples=max(_EXAMPLES // 3, 1),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(
    case=encoded(),
    mutations=st.lists(_MUTATIONS, min_size=1, max_size=3),
    garbage=st.binary(max_size=40),
)
def test_random_schemas_vouch_exactly_for_what_the_decoder_accepts(
    case: Any, mutations: list[tuple[str, int, int]], garbage: bytes
) -> None:
    """A valid payload, the same mutated, and random bytes, against the generated decoder."""
    parsed, named, payload = case
    plan = _random_schema_plan(parsed, named)
    decode = compile_decoder(parsed, named)
    assert native.payload_passes(plan, payload) and _accepts(decode, payload)
    for mutation in mutations:
        payload = _mutate(payload, mutation)
    assert native.payload_passes(plan, payload) == _accepts(decode, payload)
    assert native.payload_passes(plan, garbage) == _accepts(decode, garbage)
