"""Plans for the native gate: a schema's Avro checks and its rules' conditions as int64 programs.

``build_plan(schema, named, rules)`` compiles what the Python fast path runs
for one schema id (``registry.formats.avro_decode``'s generated decoder and
``governance.cel_fast``'s rule functions) into the two programs the C walk
(``governance/native/gate_native.c``) runs: it answers None when some part is
outside what the programs model, and the schema then keeps the Python path.

The Avro program mirrors the decoder's dispatch on fastavro's parsed schema
node by node; a logical type is its base type plus, where fastavro's reader
can refuse a value (dates and times out of range, a decimal's size), a range
the reader is known to accept (probed here with the reader itself), and no
vouching at all for the rest (``uuid``). The rule programs cover comparisons
of a top-level scalar field with a literal (``message.price > 0.0``), ``&&``,
``||``, ``!``, parentheses, ``true``/``false`` and a boolean field alone,
with ``cel_fast``'s three-valued answers: where the fast function would ask
the runtime, the program answers "not sure" and the record is not vouched for.
"""

from __future__ import annotations

import array
import datetime
import operator
import struct
from collections.abc import Callable, Mapping
from typing import Any

from fastavro.read import LOGICAL_READERS

from governance.cel_fast import _tokens, _Unsupported
from governance.rules import RuleSet
from registry.formats.avro_decode import zero_width

__all__ = ["ID_ONLY", "PlanSource", "build_plan"]

# Node kinds and instructions: the numbers of gate_native.c's enums.
(N_NULL, N_BOOLEAN, N_INT, N_LONG, N_FLOAT, N_DOUBLE, N_BYTES, N_STRING, N_FIXED, N_ENUM,
 N_UNION, N_RECORD, N_ARRAY, N_MAP, N_INT_RANGE, N_LONG_RANGE, N_BYTES_MAX, N_NEVER,
 N_REST) = range(19)  # fmt: skip
(R_CONST, R_CMP_I, R_CMP_ID, R_CMP_D, R_CMP_B, R_CMP_S, R_ENUM, R_FIELD_B,
 R_NOT, R_AND, R_OR) = range(11)  # fmt: skip
_OPS = {"==": 0, "!=": 1, "<": 2, "<=": 3, ">": 4, ">=": 5}
_FLIPPED = {"==": "==", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
_PYTHON_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, "<": operator.lt,
    "<=": operator.le, ">": operator.gt, ">=": operator.ge,
}  # fmt: skip
_V_FALSE, _V_TRUE, _V_MISS = 0, 1, 2
_PRIMITIVE_NODES = {
    "null": N_NULL, "boolean": N_BOOLEAN, "int": N_INT, "long": N_LONG,
    "float": N_FLOAT, "double": N_DOUBLE, "bytes": N_BYTES, "string": N_STRING,
}  # fmt: skip
_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT = 2**53
_MAX_SLOTS = 64
_DECIMAL_BYTES = 64  # decimals up to this size are vouched for (probed below)

PlanSource = tuple[bytes, bytes, tuple[bytes, ...]]
"""What ``_gate_native.Plan`` is built from: the Avro program, the rule programs, strings."""


ID_ONLY: PlanSource = (array.array("q", [2, 0, N_REST]).tobytes(), b"", ())
"""The plan of validation ``id``: framing and subject only, the payload not read."""


class _Unmodelled(Exception):
    """The schema or a rule uses something the native programs do not model."""


# -- logical types: the values fastavro's readers surely convert --------------------------------


def _days(moment: datetime.date) -> int:
    return (moment - datetime.date(1970, 1, 1)).days


_DATE_RANGE = (_days(datetime.date.min), _days(datetime.date.max))
_SAFE_DAYS = (_days(datetime.date(2, 1, 1)), _days(datetime.date(9998, 12, 31)))  # a day's margin
_DAY_MS = 86_400_000
_LOGICAL_RANGES: dict[str, tuple[int, int]] = {
    "int-date": _DATE_RANGE,
    "int-time-millis": (0, _DAY_MS - 1),
    "long-time-micros": (0, _DAY_MS * 1000 - 1),
    "long-timestamp-millis": (_SAFE_DAYS[0] * _DAY_MS, _SAFE_DAYS[1] * _DAY_MS),
    "long-local-timestamp-millis": (_SAFE_DAYS[0] * _DAY_MS, _SAFE_DAYS[1] * _DAY_MS),
    "long-timestamp-micros": (_SAFE_DAYS[0] * _DAY_MS * 1000, _SAFE_DAYS[1] * _DAY_MS * 1000),
    "long-local-timestamp-micros": (
        _SAFE_DAYS[0] * _DAY_MS * 1000,
        _SAFE_DAYS[1] * _DAY_MS * 1000,
    ),
}


def _reader_accepts(reader: Any, schema: Mapping[str, Any], values: list[Any]) -> bool:
    try:
        for value in values:
            reader(value, schema, None)
    except Exception:
        return False
    return True


# -- the Avro program ---------------------------------------------------------------------------


class _AvroCompiler:
    """Writes one schema's Avro program: nodes of int64 words, children by offset."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.code: list[int] = [0, 0]  # root offset, slot count
        self.records: dict[str, int] = {}

    def reserve(self, words: int) -> int:
        at = len(self.code)
        self.code.extend([0] * words)
        return at

    def leaf(self, *words: int) -> int:
        at = len(self.code)
        self.code.extend(words)
        return at

    def node(self, schema: Any) -> int:
        """Mirrors ``avro_decode._Generator.emit``'s dispatch."""
        if isinstance(schema, str):
            if schema in _PRIMITIVE_NODES:
                return self.leaf(_PRIMITIVE_NODES[schema])
            return self.node(self.named[schema])
        if isinstance(schema, list):
            return self.union(schema)
        kind = schema["type"]
        if isinstance(kind, str) and kind not in _PRIMITIVE_NODES and kind in self.named:
            return self.node(self.named[kind])
        logical = schema.get("logicalType")
        if logical and f"{kind}-{logical}" in LOGICAL_READERS:
            return self.logical(schema, kind, f"{kind}-{logical}")
        return self.kind(schema, kind)

    def kind(self, schema: Mapping[str, Any], kind: Any) -> int:
        if isinstance(kind, str) and kind in _PRIMITIVE_NODES:
            return self.leaf(_PRIMITIVE_NODES[kind])
        if kind in ("record", "error"):
            return self.record(schema, None)
        if kind == "enum":
            return self.leaf(N_ENUM, len(schema["symbols"]))
        if kind == "fixed":
            return self.leaf(N_FIXED, int(schema["size"]))
        if kind == "array":
            at = self.reserve(3)
            item = self.node(schema["items"])
            self.code[at : at + 3] = [N_ARRAY, item, int(zero_width(schema["items"], self.named))]
            return at
        if kind == "map":
            at = self.reserve(2)
            value = self.node(schema["values"])
            self.code[at : at + 2] = [N_MAP, value]
            return at
        return self.node(kind)

    def logical(self, schema: Mapping[str, Any], kind: str, name: str) -> int:
        reader = LOGICAL_READERS[name]
        bounds = _LOGICAL_RANGES.get(name)
        if bounds is not None:
            low, high = bounds
            if _reader_accepts(reader, schema, [low, high, 0, (low + high) // 2]):
                return self.leaf(N_INT_RANGE if kind == "int" else N_LONG_RANGE, low, high)
        elif name == "bytes-decimal" and _decimal_ok(reader, schema, _DECIMAL_BYTES):
            return self.leaf(N_BYTES_MAX, _DECIMAL_BYTES)
        elif name == "fixed-decimal":
            size = int(schema["size"])
            if size <= _DECIMAL_BYTES and _decimal_ok(reader, schema, size):
                return self.leaf(N_FIXED, size)
        return self.leaf(N_NEVER)

    def union(self, branches: list[Any]) -> int:
        at = self.reserve(2 + len(branches))
        offsets = [self.node(branch) for branch in branches]
        self.code[at : at + 2 + len(branches)] = [N_UNION, len(branches), *offsets]
        return at

    def record(self, schema: Mapping[str, Any], slots: Mapping[str, int] | None) -> int:
        """A record node; the root's (``slots`` given) keeps its fields' values for the rules."""
        name = schema["name"]
        if slots is None and name in self.records:
            return self.records[name]
        fields = schema["fields"]
        at = self.reserve(2 + 2 * len(fields))
        if slots is None:
            self.records[name] = at
        words = [N_RECORD, len(fields)]
        for field in fields:
            words += [self.node(field["type"]), (slots or {}).get(field["name"], -1)]
        self.code[at : at + len(words)] = words
        return at


def _decimal_ok(reader: Any, schema: Mapping[str, Any], size: int) -> bool:
    scale, precision = schema.get("scale", 0), schema.get("precision")
    if not isinstance(scale, int) or not isinstance(precision, int):
        return False
    if not (0 <= scale <= 1000 and 1 <= precision <= 1000):
        return False
    samples = [b"", b"\x00" * size, b"\xff" * size, b"\x7f" + b"\xff" * (size - 1)]
    return _reader_accepts(reader, schema, [sample for sample in samples if len(sample) <= size])


def _scalar(schema: Any, named: Mapping[str, Any]) -> Any:
    """What a top-level field binds to in CEL when natively comparable: a primitive's name,
    ``("enum", symbols)``, or None (a union, a logical value, a structure...)."""
    if isinstance(schema, str):
        if schema in _PRIMITIVE_NODES:
            return schema
        return _scalar(named[schema], named) if schema in named else None
    if isinstance(schema, list):
        return None
    kind = schema["type"]
    if isinstance(kind, str) and kind not in _PRIMITIVE_NODES and kind in named:
        return _scalar(named[kind], named)
    logical = schema.get("logicalType")
    if logical and f"{kind}-{logical}" in LOGICAL_READERS:
        return None
    if isinstance(kind, str) and kind in _PRIMITIVE_NODES:
        return kind
    if kind == "enum":
        return ("enum", tuple(schema["symbols"]))
    if isinstance(kind, (dict, list)):
        return _scalar(kind, named)
    return None


# -- the rule programs ---------------------------------------------------------------------------


class _RuleCompiler:
    """Parses one CEL expression of the modelled subset into postfix instructions."""

    def __init__(self, plan: _PlanState, source: str) -> None:
        self.plan = plan
        self.tokens = _tokens(source)
        self.position = 0
        self.out: list[int] = []

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def at(self, text: str) -> bool:
        return self.peek() == ("op", text)

    def take(self) -> tuple[str, str]:
        token = self.peek()
        if token is None:
            raise _Unmodelled("end of expression")
        self.position += 1
        return token

    def compile(self) -> list[int]:
        self.boolean(self.logical_or())
        if self.peek() is not None:
            raise _Unmodelled("trailing tokens")
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
        raise _Unmodelled("not a boolean")

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
                raise _Unmodelled("in")
            return left
        self.take()
        right = self.unary()
        operator_text = token[1]
        if left[0] == "literal" and right[0] == "field":
            left, right, operator_text = right, left, _FLIPPED[operator_text]
        if left[0] != "field" or right[0] != "literal":
            raise _Unmodelled("a comparison other than field with literal")
        self.comparison(left[1], operator_text, right[1])
        following = self.peek()
        if following is not None and following[0] == "op" and following[1] in _OPS:
            raise _Unmodelled("chained comparison")
        return ("code",)

    def comparison(self, field: str, operator_text: str, literal: Any) -> None:
        kind = self.plan.field_kind(field)
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
            raise _Unmodelled(f"{kind} {operator_text} {literal_type.__name__}")

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
                raise _Unmodelled("negation of a non-literal")
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
                raise _Unmodelled("unbalanced parentheses")
            return inner
        if kind == "name" and text in ("true", "false"):
            return ("literal", text == "true")
        if kind == "name" and text == "message" and self.at("."):
            self.take()
            field_kind, field = self.take()
            if field_kind != "name" or self.at("(") or self.at(".") or self.at("["):
                raise _Unmodelled("not a top-level field selection")
            return ("field", field)
        raise _Unmodelled(text)


def _number(kind: str, text: str) -> int | float:
    if kind == "double":
        return float(text)
    if text[-1] in "uU":
        raise _Unmodelled("uint")
    number = int(text, 16) if kind == "hex" else int(text)
    if not _INT64_MIN <= number <= _INT64_MAX:  # -2**63 itself is refused too: simpler
        raise _Unmodelled("int range")
    return number


def _double_bits(value: float) -> int:
    (bits,) = struct.unpack("<q", struct.pack("<d", value))
    return int(bits)


def _utf8(text: str) -> bytes:
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Unmodelled("a string literal that is not UTF-8") from None


class _PlanState:
    """The root record's fields the rules read (one slot each) and the plan's strings."""

    def __init__(self, root: Mapping[str, Any] | None, named: Mapping[str, Any]) -> None:
        self.fields = {} if root is None else {f["name"]: f["type"] for f in root["fields"]}
        self.named = named
        self.slots: dict[str, int] = {}
        self.kinds: dict[str, Any] = {}
        self.strings: list[bytes] = []

    def field_kind(self, name: str) -> Any:
        if name not in self.fields:
            raise _Unmodelled(f"no field {name}")
        kind = self.kinds.get(name)
        if kind is None:
            kind = self.kinds[name] = _scalar(self.fields[name], self.named)
        if kind is None or kind in ("null", "bytes"):
            raise _Unmodelled(f"field {name} is not a comparable scalar")
        return kind

    def slot(self, name: str) -> int:
        self.field_kind(name)
        if name not in self.slots:
            if len(self.slots) >= _MAX_SLOTS:
                raise _Unmodelled("too many fields")
            self.slots[name] = len(self.slots)
        return self.slots[name]

    def string(self, value: bytes) -> int:
        self.strings.append(value)
        return len(self.strings) - 1


def _root_record(schema: Any, named: Mapping[str, Any]) -> Mapping[str, Any] | None:
    root = schema
    while isinstance(root, str) and root in named:
        root = named[root]
    if isinstance(root, dict) and root.get("type") in ("record", "error"):
        return root
    return None


def build_plan(schema: Any, named: Mapping[str, Any], rules: RuleSet) -> PlanSource | None:
    """The programs of one schema (fastavro's parsed form and its named types) and its
    compiled ``rules``; None when the native walk cannot stand for the Python fast path."""
    root = _root_record(schema, named)
    state = _PlanState(root, named)
    header: list[int] = []
    body: list[int] = []
    base = 1 + 4 * len(rules.rules)
    try:
        for rule in rules.rules:
            if rule.rule_type != "CEL" or rule.message_fields is None:
                return None
            if rule.condition.fast is None or (rule.guard is not None and rule.guard.fast is None):
                return None
            guard = _RuleCompiler(state, rule.guard.source).compile() if rule.guard else None
            condition = _RuleCompiler(state, rule.condition.source).compile()
            if guard is None:
                header += [-1, 0]
            else:
                header += [base + len(body), len(guard)]
                body += guard
            header += [base + len(body), len(condition)]
            body += condition
        compiler = _AvroCompiler(named)
        if root is not None:
            compiler.code[0] = compiler.record(root, state.slots)
        else:
            compiler.code[0] = compiler.node(schema)
    except (_Unmodelled, _Unsupported, KeyError, TypeError, ValueError, RecursionError):
        return None
    compiler.code[1] = len(state.slots)
    rules_code = [len(rules.rules), *header, *body] if rules.rules else []
    return (
        array.array("q", compiler.code).tobytes(),
        array.array("q", rules_code).tobytes(),
        tuple(state.strings),
    )
