"""The CEL fast path against the runtime: where it answers, it answers what the runtime does."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.cel import CelError, compile_program
from governance.cel_fast import MISS, compile_fast

_VARIABLES = frozenset({"message", "value", "name", "fullName", "typeName", "tags"})
_FIELDS = ("a", "b", "c", "d")

_LITERALS = st.sampled_from(
    [
        "0", "1", "-1", "7", "-7", "2", "3", "9223372036854775807", "-9223372036854775808",
        "9007199254740993", "0x10", "1u", "0u", "18446744073709551615u",
        "0.0", "-0.0", "1.5", "-2.5", "1e3", ".5", "9007199254740992.0", "1e308",
        "'x'", "''", "'héllo'", '"a"', "true", "false", "null",
    ]
)  # fmt: skip
_ATOMS = st.one_of(_LITERALS, st.sampled_from([f"message.{f}" for f in _FIELDS]))


def _expressions() -> st.SearchStrategy[str]:
    def extend(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        binary = st.sampled_from(
            ["==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "%", "&&", "||", "in"]
        )
        return st.one_of(
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, binary, inner),
            st.builds(lambda a: f"!{a}", inner),
            st.builds(lambda a: f"-{a}", inner),
            st.builds(lambda c, a, b: f"({c} ? {a} : {b})", inner, inner, inner),
            st.builds(lambda a: f"size({a})", inner),
            st.builds(lambda a: f"{a}.size()", inner),
            st.builds(lambda a: f"int({a})", inner),
            st.builds(lambda a: f"double({a})", inner),
            st.builds(lambda a, b: f"[{a}, {b}]", inner, inner),
            st.builds(
                lambda a, m, b: f"{a}.{m}({b})",
                inner,
                st.sampled_from(["contains", "startsWith", "endsWith"]),
                inner,
            ),
            st.sampled_from([f"has(message.{f})" for f in (*_FIELDS, "zz")]),
            st.sampled_from([f"message.{f}.a" for f in _FIELDS]),
        )

    return st.recursive(_ATOMS, extend, max_leaves=6)


def _boolean_expressions() -> st.SearchStrategy[str]:
    """Mostly well-typed conditions over numbers and strings, as rules are written."""
    fields = st.sampled_from([f"message.{f}" for f in _FIELDS])
    numbers = st.recursive(
        st.one_of(
            fields,
            st.sampled_from(
                ["0", "1", "-3", "7", "2", "1u", "0.0", "1.5", "-2.5", "9007199254740993"]
            ),
        ),
        lambda inner: st.one_of(
            st.builds(lambda a, op, b: f"({a} {op} {b})", inner, st.sampled_from("+-*/%"), inner),
            st.builds(lambda a: f"-{a}", inner),
            st.builds(lambda f, a: f"{f}({a})", st.sampled_from(["int", "double", "size"]), inner),
        ),
        max_leaves=3,
    )
    texts = st.one_of(fields, st.sampled_from(["'x'", "'héllo'", "''", "'h'"]))
    relations = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
    atoms = st.one_of(
        st.builds(lambda a, op, b: f"{a} {op} {b}", numbers, relations, numbers),
        st.builds(lambda a, op, b: f"{a} {op} {b}", texts, relations, texts),
        st.builds(
            lambda a, m, b: f"{a}.{m}({b})",
            texts,
            st.sampled_from(["contains", "startsWith", "endsWith"]),
            texts,
        ),
        st.builds(lambda a, b, c: f"{a} in [{b}, {c}]", numbers, numbers, texts),
        st.sampled_from([f"has(message.{f})" for f in (*_FIELDS, "zz")]),
        fields,
        st.sampled_from(["true", "false"]),
    )
    return st.recursive(
        atoms,
        lambda inner: st.one_of(
            st.builds(
                lambda a, op, b: f"({a}) {op} ({b})", inner, st.sampled_from(["&&", "||"]), inner
            ),
            st.builds(lambda a: f"!({a})", inner),
            st.builds(lambda c, a, b: f"({c}) ? ({a}) : ({b})", inner, inner, inner),
        ),
        max_leaves=4,
    )


_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**63), 2**63 - 1),
    st.sampled_from([0, 1, -1, 2**53, 2**53 + 1, -(2**63), 2**63 - 1, 2**63, 2**64]),
    st.floats(),
    st.sampled_from([0.0, -0.0, 1.5, float("nan"), float("inf"), 2.0**53]),
    st.text(max_size=4),
    st.sampled_from(["x", "héllo", "h", "\ud800"]),
    st.binary(max_size=3),
)
_VALUES = st.recursive(
    _SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "b"]), inner)
    ),
    max_leaves=4,
)
_MESSAGES = st.dictionaries(st.sampled_from(_FIELDS), _VALUES)
_RECORDS = st.fixed_dictionaries(
    {},
    optional={
        field: st.one_of(
            st.integers(-10, 10),
            st.sampled_from([0.0, -0.0, 1.5, -2.5, float("nan"), float("inf"), 2.0**53, 7.0]),
            st.sampled_from(["", "x", "h", "héllo", "hé"]),
            st.booleans(),
            st.none(),
            st.sampled_from([2**53 + 1, 2**63 - 1, -(2**63), 2**63]),
        )
        for field in _FIELDS
    },
)


def _runtime(expression: str, bindings: dict[str, Any]) -> Any:
    try:
        return compile_program(expression).evaluate_runtime(bindings)
    except CelError:
        return "error"


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    expression=st.one_of(_expressions(), _boolean_expressions(), _boolean_expressions()),
    message=st.one_of(_MESSAGES, _RECORDS, _RECORDS),
)
def test_the_fast_path_answers_what_the_runtime_answers(expression: str, message: dict) -> None:
    try:
        compile_program(expression)
    except CelError:
        return  # the runtime refuses it at compile time: the rule never runs
    fast = compile_fast(expression, _VARIABLES)
    if fast is None:
        return
    answer = fast({"message": message})
    if answer is MISS:
        return
    expected = _runtime(expression, {"message": message})
    assert type(answer) is bool
    assert answer is expected, (expression, message, answer, expected)


@pytest.mark.parametrize(
    ("expression", "message", "expected"),
    [
        ("message.price > 0.0 && message.quantity > 0", {"price": 1.5, "quantity": 2}, True),
        ("message.price > 0.0 && message.quantity > 0", {"price": -1.5, "quantity": 2}, False),
        ("message.price > 0", {"price": 1.5}, True),  # double against int: by value
        ("message.side in ['BUY', 'SELL']", {"side": "SELL"}, True),
        ("has(message.email) && message.email.contains('@')", {"email": "a@b"}, True),
        ("size(message.name) > 0 || message.vip", {"name": "", "vip": False}, False),
        ("message.n / 2 == -3 && message.n % 2 == -1", {"n": -7}, True),  # truncating
        ("message.q == 1u", {"q": 1}, True),
        ("message.flag == 1", {"flag": True}, False),  # no bool/int equality
        ("false && message.missing", {}, False),
    ],
)
def test_common_rules_are_answered_by_the_fast_path(expression, message, expected) -> None:
    fast = compile_fast(expression, _VARIABLES)
    assert fast is not None
    assert fast({"message": message}) is expected
    assert _runtime(expression, {"message": message}) is expected


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("message.a + 1 > 0", {"a": 2**63 - 1}),  # overflow: an error
        ("message.a / 0 == 1", {"a": 1}),  # division by zero: an error
        ("message.a > 0", {"a": "x"}),  # no ordering across kinds
        ("message.a > 0", {"a": 1, "b": ("tuple",)}),  # the runtime cannot convert message
        ("message.a > 9007199254740992.0", {"a": 9007199254740993}),  # int as double: lossy
        ("message.nope > 1 && false", {}),  # the runtime absorbs the error
        ("message.a", {"a": 1}),  # not a boolean result
    ],
)
def test_the_runtime_decides_what_the_fast_path_does_not_model(expression, message) -> None:
    fast = compile_fast(expression, _VARIABLES)
    assert fast is not None
    assert fast({"message": message}) is MISS
    program = compile_program(expression)
    assert repr(_runtime(expression, {"message": message})) == repr(
        _evaluate_or_error(program, {"message": message})
    )


def _evaluate_or_error(program: Any, bindings: dict[str, Any]) -> Any:
    try:
        return program.evaluate(bindings)
    except CelError:
        return "error"


@pytest.mark.parametrize(
    "expression",
    ["message.a.matches('x')", "message['a'] == 1", "b'x' == message.a", "'a\\'b' == message.a"],
)
def test_expressions_outside_the_subset_have_no_fast_path(expression: str) -> None:
    assert compile_fast(expression, _VARIABLES) is None
    compile_program(expression)  # the runtime still runs them


def test_a_deeply_nested_expression_never_breaks_compiling() -> None:
    expression = "(" * 400 + "message.a > 0" + ")" * 400  # the runtime refuses past 32
    fast = compile_fast(expression, _VARIABLES)  # no fast path, or a right one
    assert fast is None or fast({"message": {"a": 1}}) is True
