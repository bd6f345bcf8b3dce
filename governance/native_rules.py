"""The native gate's rule programs: CEL conditions as postfix instructions over record fields.

``RuleCompiler`` parses the subset the C walk evaluates — comparisons of a
top-level scalar field (or an optional one: a union of null and one scalar),
or the ``size()`` of a string or bytes field, with a literal (``message.price > 0.0``, ``size(message.name) > 0``), ``&&``,
``||``, ``!``, parentheses, ``true``/``false`` and a boolean field alone —
with ``governance.cel_fast``'s three-valued answers: where the fast function
would ask the runtime, the program answers "not sure" and the record is not
vouched for. Anything else raises ``Unmodelled``. Instruction numbers are
gate_native.c's enum.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Callable, Mapping
from typing import Any

from governance.cel_fast import tokens
from governance.native_avro import Unmodelled, scalar_kind

__all__ = ["PlanState", "RuleCompiler"]

(R_CONST, R_CMP_I, R_CMP_ID, R_CMP_D, R_CMP_B, R_CMP_S, R_ENUM, R_FIELD_B,
 R_NOT, R_AND, R_OR, R_SIZE) = range(12)  # fmt: skip
_OPS = {"==": 0, "!=": 1, "<": 2, "<=": 3, ">": 4, ">=": 5}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_PYTHON_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_V_FALSE, _V_TRUE = 0, 1  # and 2: not sure (the C walk's V_MISS)
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT = 2**53
_MAX_SLOTS = 64


class PlanState:
    """The root record's fields the rules read (one slot each) and the plan's strings."""

    def __init__(self, root: Mapping[str, Any] | None, named: Mapping[str, Any]) -> None:
        self.fields = {} if root is None else {f["name"]: f["type"] for f in root["fields"]}
        self.named = named
        self.slots: dict[str, int] = {}
        self.kinds: dict[str, Any] = {}
        self.strings: list[bytes] = []

    def field_kind(self, name: str, *, sized: bool = False) -> Any:
        """The field's scalar kind; ``bytes`` only where only its ``size()`` is read."""
        if name not in self.fields:
            raise Unmodelled(f"no field {name}")
        kind = self.kinds.get(name)
        if kind is None:
            kind = self.kinds[name] = scalar_kind(self.fields[name], self.named)
        if kind is None or kind == "null" or (kind == "bytes" and not sized):
            raise Unmodelled(f"field {name} is not a comparable scalar")
        return kind

    def slot(self, name: str) -> int:
        self.field_kind(name, sized=True)
        if name not in self.slots:
            if len(self.slots) >= _MAX_SLOTS:
                raise Unmodelled("too many fields")
            self.slots[name] = len(self.slots)
        return self.slots[name]

    def string(self, value: bytes) -> int:
        self.strings.append(value)
        return len(self.strings) - 1


class RuleCompiler:
    """Parses one CEL expression of the modelled subset into postfix instructions."""

    def __init__(self, plan: PlanState, source: str) -> None:
        self.plan = plan
        self.tokens = tokens(source)
        self.position = 0
        self.out: list[int] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def at(self, text: str) -> bool:
        return self.peek() == ("op", text)

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise Unmodelled("end of expression")
        self.position += 1
        return token

    def compile(self) -> list[int]:
        self.boolean(self.logical_or())
        if self.peek() is not None:
            raise Unmodelled("trailing tokens")
        return self.out

    # An operand is ("code",) once its instructions are out, or a pending ("field", name)
    # or ("literal", value), written out only when it is known how it is used.
    def boolean(self, operand: tuple[Any, ...]) -> None:
        if operand[0] == "code":
            return
        if operand[0] == "literal" and type(operand[1]) is bool:
            self.out += [R_CONST, _V_TRUE if operand[1] else _V_FALSE]
            return
        if operand[0] == "field" and self.plan.field_kind(operand[1]) == "boolean":
            self.out += [R_FIELD_B, self.plan.slot(operand[1])]
            return
        raise Unmodelled("not a boolean")

    def logical_or(self) -> tuple[Any, ...]:
        left = self.logical_and()
        while self.at("||"):
            self.take()
            self.boolean(left)
            self.boolean(self.logical_and())
            self.out.append(R_OR)
            left = ("code",)
        return left

    def logical_and(self) -> tuple[Any, ...]:
        left = self.relation()
        while self.at("&&"):
            self.take()
            self.boolean(left)
            self.boolean(self.relation())
            self.out.append(R_AND)
            left = ("code",)
        return left

    def relation(self) -> tuple[Any, ...]:
        left = self.unary()
        token = self.peek()
        if token is None or token[0] != "op" or token[1] not in _OPS:
            if token == ("name", "in"):
                raise Unmodelled("in")
            return left
        self.take()
        right = self.unary()
        operator_text = token[1]
        if left[0] == "literal" and right[0] in ("field", "size"):
            left, right, operator_text = right, left, _FLIPPED[operator_text]
        if left[0] == "size" and right[0] == "literal" and type(right[1]) is int:
            self.out += [R_SIZE, self.plan.slot(left[1]), _OPS[operator_text], right[1]]
        elif left[0] != "field" or right[0] != "literal":
            raise Unmodelled("a comparison other than field (or its size) with literal")
        else:
            self.comparison(left[1], operator_text, right[1])
        following = self.peek()
        if following is not None and following[0] == "op" and following[1] in _OPS:
            raise Unmodelled("chained comparison")
        return ("code",)

    def comparison(self, field: str, operator_text: str, literal: Any) -> None:
        kind = self.plan.field_kind(field)
        if isinstance(kind, tuple) and kind[0] == "nullable":
            kind = kind[1]  # the C walk answers a null's comparisons (== false, != true)
        slot = self.plan.slot(field)
        op = _OPS[operator_text]
        literal_type = type(literal)
        if kind in ("int", "long") and literal_type is int:
            self.out += [R_CMP_I, slot, op, literal]
        elif kind in ("int", "long") and literal_type is float:
            self.out += [R_CMP_ID, slot, op, _double_bits(literal)]
        elif kind in ("float", "double") and literal_type is float:
            self.out += [R_CMP_D, slot, op, _double_bits(literal)]
        elif kind in ("float", "double") and literal_type is int and abs(literal) <= _EXACT:
            self.out += [R_CMP_D, slot, op, _double_bits(float(literal))]
        elif kind == "boolean" and literal_type is bool:
            self.out += [R_CMP_B, slot, op, int(literal)]
        elif kind == "string" and literal_type is str:
            self.out += [R_CMP_S, slot, op, self.plan.string(_utf8(literal))]
        elif isinstance(kind, tuple) and literal_type is str:  # an enum: its symbols' answers
            compare = _PYTHON_OPS[operator_text]
            table = bytes(_V_TRUE if compare(symbol, literal) else _V_FALSE for symbol in kind[1])
            self.out += [R_ENUM, slot, self.plan.string(table)]
        else:
            raise Unmodelled(f"{kind} {operator_text} {literal_type.__name__}")

    def unary(self) -> tuple[Any, ...]:
        if self.at("!"):
            self.take()
            self.boolean(self.unary())
            self.out.append(R_NOT)
            return ("code",)
        if self.at("-"):
            self.take()
            kind, text = self.take()
            if kind not in ("int", "hex", "double"):
                raise Unmodelled("negation of a non-literal")
            return ("literal", -_number(kind, text))
        return self.primary()

    def primary(self) -> tuple[Any, ...]:
        kind, text = self.take()
        if kind in ("int", "hex", "double"):
            return ("literal", _number(kind, text))
        if kind == "string":
            return ("literal", text[1:-1])
        if kind == "op" and text == "(":
            inner = self.logical_or()
            if self.take() != ("op", ")"):
                raise Unmodelled("unbalanced parentheses")
            return inner
        if kind == "name" and text in ("true", "false"):
            return ("literal", text == "true")
        if kind == "name" and text == "message" and self.at("."):
            self.take()
            field_kind, field = self.take()
            if field_kind != "name" or self.at("(") or self.at("["):
                raise Unmodelled("not a top-level field selection")
            if self.at("."):  # message.f.size()
                self.take()
                if self.take() != ("name", "size") or not self.empty_call():
                    raise Unmodelled("a method other than size()")
                return self.sized(field)
            return ("field", field)
        if kind == "name" and text == "size" and self.at("("):  # size(message.f)
            self.take()
            inner = self.logical_or()
            if self.take() != ("op", ")") or inner[0] != "field":
                raise Unmodelled("size() of something other than a field")
            return self.sized(inner[1])
        raise Unmodelled(text)

    def empty_call(self) -> bool:
        return self.take() == ("op", "(") and self.take() == ("op", ")")

    def sized(self, field: str) -> tuple[Any, ...]:
        if self.plan.field_kind(field, sized=True) not in ("string", "bytes"):
            raise Unmodelled("size() of a field that is not a string or bytes")
        return ("size", field)


def _number(kind: str, text: str) -> int | float:
    if kind == "double":
        return float(text)
    if text[-1] in "uU":
        raise Unmodelled("uint")
    number = int(text, 16) if kind == "hex" else int(text)
    if not _INT64_MIN <= number <= _INT64_MAX:  # -2**63 itself is refused too: simpler
        raise Unmodelled("int range")
    return number


def _double_bits(value: float) -> int:
    (bits,) = struct.unpack("<q", struct.pack("<d", value))
    return int(bits)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise Unmodelled("a string literal that is not UTF-8") from None
