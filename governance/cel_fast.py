"""A Python fast path for the CEL that data-contract rules mostly use, exact or silent.

One call into the C++ runtime costs about 2 µs before any work (converting
the bindings, building the activation), more than most rules take to
evaluate. ``compile_fast(expression)`` parses a common subset — variables,
field selection, ``has``, literals (int, uint, double, simple strings, bool,
null, lists), ``== != < <= > >= in``, ``&& || !``, ``? :``, ``+ - * / %``,
unary minus, ``size``, ``int``/``double`` of numbers and the string methods
``contains``/``startsWith``/``endsWith`` — into the source of one Python
function, ``exec``'d once. Anything else gets no fast path (None).

The fast function answers a value only when it is sure the runtime would
answer the same, and only ``true`` or ``false``; everywhere else (an error, a
type it does not model, a non-boolean result) it answers ``MISS`` and the
caller runs the runtime, which has the last word on errors and their
messages. What it models, as cel-cpp does at run time with dynamic values:
the runtime converts a referenced variable whole (an int beyond 64 bits, a
string with a lone surrogate, a tuple or a date anywhere in it is an error);
no implicit conversions in arithmetic; int overflow, division and modulo by
zero are errors; int division and modulo truncate toward zero; equality
across kinds is ``false`` but across numbers compares values; ordering across
int and double compares the int as a double (so the fast path takes it only
for ints within 2^53, where that is exact). ``false && x`` is false and
``true || x`` true whatever ``x`` is; the other absorbing cases go to the
runtime. This module parses and generates; the semantics are the helpers of
``governance.cel_fast_ops``. Property tests check it against the runtime
(tests/governance/test_cel_fast.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from governance.cel_fast_ops import HELPERS, MISS, UInt

__all__ = ["MISS", "compile_fast", "tokens"]

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class _Unsupported(Exception):
    """The expression uses something the fast path does not model."""


# -- parsing ---------------------------------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<double>(?:\d+\.\d+(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+|\.\d+(?:[eE][+-]?\d+)?))
    | (?P<hex>0[xX][0-9a-fA-F]+[uU]?)
    | (?P<int>\d+[uU]?)
    | (?P<string>"[^"\\\n\r]*"|'[^'\\\n\r]*')
    | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
    | (?P<op>&&|\|\||==|!=|<=|>=|[<>!+\-*/%?:.()\[\],])
    )""",
    re.VERBOSE,
)
_RESERVED = frozenset(
    {"as", "break", "const", "continue", "else", "for", "function", "if", "import", "let",
     "loop", "package", "namespace", "return", "var", "void", "while"}
)  # fmt: skip
_RELATIONS = {"==": "_eq", "!=": "_ne", "<": "_lt", "<=": "_le", ">": "_gt", ">=": "_ge"}
_ARITHMETIC = {"+": "_add", "-": "_sub", "*": "_mul", "/": "_div", "%": "_mod"}
_METHODS = {"contains": "_contains", "startsWith": "_starts", "endsWith": "_ends"}


def tokens(expression: str) -> list[tuple[str, str]]:
    """``expression`` as (kind, text) tokens; shared with ``governance.native_rules``."""
    found = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise _Unsupported(f"at {position}")
        kind = match.lastgroup
        assert kind is not None
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


class _Parser:
    """Recursive descent over CEL's grammar, emitting Python expression source."""

    def __init__(self, tokens: list[tuple[str, str]], variables: frozenset[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.variables = variables
        self.used: set[str] = set()
        self.counter = 0
        self.constants: dict[str, Any] = {}

    def temp(self) -> str:
        self.counter += 1
        return f"t{self.counter}"

    def constant(self, value: Any) -> str:
        name = f"k{len(self.constants)}"
        self.constants[name] = value
        return name

    def peek(self) -> tuple[str, str] | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token is None or (text is not None and token != ("op", text)):
            raise _Unsupported(f"expected {text}")
        self.position += 1
        return token

    def at(self, text: str) -> bool:
        return self.peek() == ("op", text)

    def parse(self) -> str:
        source = self.conditional()
        if self.peek() is not None:
            raise _Unsupported("trailing tokens")
        return source

    def conditional(self) -> str:
        condition = self.logical_or()
        if not self.at("?"):
            return condition
        self.take("?")
        when_true = self.logical_or()
        self.take(":")
        when_false = self.conditional()
        t = self.temp()
        return f"(({when_true}) if ({t} := {condition}) is True else (({when_false}) if {t} is False else _miss()))"

    def logical_or(self) -> str:
        left = self.logical_and()
        while self.at("||"):
            self.take()
            right = self.logical_and()
            a, b = self.temp(), self.temp()
            left = (
                f"(True if ({a} := {left}) is True else ({b} if {a} is False and "
                f"(({b} := {right}) is True or {b} is False) else _miss()))"
            )
        return left

    def logical_and(self) -> str:
        left = self.relation()
        while self.at("&&"):
            self.take()
            right = self.relation()
            a, b = self.temp(), self.temp()
            left = (
                f"(False if ({a} := {left}) is False else ({b} if {a} is True and "
                f"(({b} := {right}) is True or {b} is False) else _miss()))"
            )
        return left

    def relation(self) -> str:
        left = self.addition()
        while True:
            token = self.peek()
            if token is not None and token[0] == "op" and token[1] in _RELATIONS:
                self.take()
                left = self.compare(token[1], left, self.addition())
            elif token == ("name", "in"):
                self.take()
                left = f"_in({left}, {self.addition()})"
            else:
                return left

    def compare(self, operator: str, left: str, right: str) -> str:
        """A relation; against an int, double or string literal the same-kind case is inlined."""
        literal = self.constants.get(right, MISS)
        kind = type(literal)
        if kind in (int, float) or (kind is str and operator in ("==", "!=")):
            t = self.temp()
            return (
                f"({t} {operator} {right} if type({t} := {left}) is {kind.__name__} "
                f"else {_RELATIONS[operator]}({t}, {right}))"
            )
        return f"{_RELATIONS[operator]}({left}, {right})"

    def addition(self) -> str:
        left = self.multiplication()
        while (token := self.peek()) is not None and token in (("op", "+"), ("op", "-")):
            self.take()
            left = f"{_ARITHMETIC[token[1]]}({left}, {self.multiplication()})"
        return left

    def multiplication(self) -> str:
        left = self.unary()
        while (token := self.peek()) is not None and token[0] == "op" and token[1] in "*/%":
            self.take()
            left = f"{_ARITHMETIC[token[1]]}({left}, {self.unary()})"
        return left

    def unary(self) -> str:
        if self.at("!"):
            self.take()
            operand = self.unary()
            t = self.temp()
            return f"((not {t}) if ({t} := {operand}) is True or {t} is False else _miss())"
        if self.at("-"):
            self.take()
            token = self.peek()
            if token is not None and token[0] in ("int", "hex", "double"):
                return self.literal(negative=True)  # -9223372036854775808 is a literal
            return f"_neg({self.unary()})"
        return self.member()

    def member(self) -> str:
        source = self.primary()
        while self.at("."):
            self.take()
            kind, field = self.take()
            if kind != "name":
                raise _Unsupported("selection")
            if self.at("("):
                arguments = self.arguments()
                if field == "size" and not arguments:
                    source = f"_size({source})"
                elif field in _METHODS and len(arguments) == 1:
                    source = f"{_METHODS[field]}({source}, {arguments[0]})"
                else:
                    raise _Unsupported(f"method {field}")
            else:
                source = f"_sel({source}, {field!r})"
        if self.at("["):
            raise _Unsupported("index")
        return source

    def arguments(self) -> list[str]:
        self.take("(")
        arguments: list[str] = []
        while not self.at(")"):
            arguments.append(self.conditional())
            if not self.at(")"):
                self.take(",")
        self.take(")")
        return arguments

    def primary(self) -> str:
        token = self.peek()
        if token is None:
            raise _Unsupported("end")
        kind, text = token
        if kind in ("int", "hex", "double", "string"):
            return self.literal()
        if kind == "op" and text == "(":
            self.take()
            inner = self.conditional()
            self.take(")")
            return f"({inner})"
        if kind == "op" and text == "[":
            self.take()
            items: list[str] = []
            while not self.at("]"):
                items.append(self.conditional())
                if not self.at("]"):
                    self.take(",")
            self.take("]")
            return f"[{', '.join(items)}]"
        if kind != "name" or text in _RESERVED:
            raise _Unsupported(text)
        self.take()
        if text in ("true", "false", "null"):
            return {"true": "True", "false": "False", "null": "None"}[text]
        if self.at("("):
            return self.call(text)
        if text not in self.variables:
            raise _Unsupported(f"name {text}")
        self.used.add(text)
        return f"v_{text}"

    def call(self, function: str) -> str:
        if function == "has":
            self.take("(")
            source = self.primary()
            fields: list[str] = []
            while self.at("."):
                self.take()
                kind, field = self.take()
                if kind != "name" or self.at("("):
                    raise _Unsupported("has() of a non-selection")
                fields.append(field)
            self.take(")")
            if not fields:
                raise _Unsupported("has() of a non-selection")
            for field in fields[:-1]:
                source = f"_sel({source}, {field!r})"
            return f"_has({source}, {fields[-1]!r})"
        arguments = self.arguments()
        if len(arguments) != 1:
            raise _Unsupported(function)
        helper = {"size": "_size", "int": "_int", "double": "_double"}.get(function)
        if helper is None:
            raise _Unsupported(function)
        return f"{helper}({arguments[0]})"

    def literal(self, *, negative: bool = False) -> str:
        kind, text = self.take()
        value: Any
        if kind == "string":
            if negative:
                raise _Unsupported("-string")
            return self.constant(text[1:-1])
        if kind == "double":
            value = float(text)
            return self.constant(-value if negative else value)
        unsigned = text[-1] in "uU"
        digits = text[:-1] if unsigned else text
        number = int(digits, 16) if kind == "hex" else int(digits)
        if unsigned:
            if negative or number > 2**64 - 1:
                raise _Unsupported("uint")
            return self.constant(UInt(number))
        number = -number if negative else number
        if not _INT64_MIN <= number <= _INT64_MAX:
            raise _Unsupported("int range")
        return self.constant(number)


def compile_fast(
    expression: str, variables: frozenset[str] | set[str]
) -> Callable[[Mapping[str, Any]], Any] | None:
    """The fast function of ``expression`` (bindings in; ``True``/``False`` or ``MISS`` out).

    None when the expression uses anything outside the modelled subset.
    Expressions are assumed to have compiled with the runtime already.
    """
    try:
        parser = _Parser(tokens(expression), frozenset(variables))
        body = parser.parse()
    except (_Unsupported, RecursionError):  # nested deeper than the parser goes: the runtime
        return None
    lines = ["def fast(env):", "    try:"]
    for name in sorted(parser.used):
        # The runtime converts a referenced variable whole: so must it be convertible whole.
        # A record (a dict) of scalars is checked inline, the rest by ``_ok``.
        lines += [
            f"        v_{name} = env[{name!r}]",
            f"        if type(v_{name}) is dict:",
            f"            for key, item in v_{name}.items():",
            "                kind = type(item)",
            "                if type(key) is not str or not key.isascii() or not (",
            "                    kind is float or kind is bool or item is None or kind is bytes",
            "                    or (kind is int and -9223372036854775808 <= item <= 9223372036854775807)",
            "                ) and not _ok(item):",
            "                    return MISS",
            f"        elif not _ok(v_{name}):",
            "            return MISS",
        ]
    lines += [
        f"        result = {body}",
        "    except Exception:",
        "        return MISS",
        "    return result if result is True or result is False else MISS",
    ]
    namespace = {**HELPERS, **parser.constants}
    try:
        exec(compile("\n".join(lines), "<cel fast path>", "exec"), namespace)  # noqa: S102
    except (SyntaxError, RecursionError, MemoryError):  # nested beyond what Python compiles
        return None
    return namespace["fast"]
