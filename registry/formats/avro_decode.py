"""Avro binary decoders generated once per schema: check every byte, build only what is read.

fastavro's ``schemaless_reader`` walks the schema dicts for every datum and
builds every value. The produce gate needs the whole payload checked but, for
its data-contract rules, usually only two or three top-level fields.
``compile_decoder(schema, named, keep)`` writes Python source specialised to
the schema (one function per shared or recursive record, fields inlined,
one-byte varints and enum indexes looked up in tables) and ``exec``s it once;
the decoder answers the record as fastavro gives it, or only the top-level
fields named in ``keep``, while every other field is still read and checked.

What it accepts is what fastavro accepts and the Avro specification allows
(checked by property tests against both): truncated data, bad UTF-8, an enum
or union index out of range, and trailing bytes are refused, as fastavro
refuses them; where fastavro reads on past the specification it is refused
too: a varint longer than 10 bytes, an ``int`` outside 32 bits, a boolean
byte other than 0 or 1, a negative enum or union index (fastavro wraps it
around like a Python list index). Arrays of items that take no bytes
(``null``, an empty record) may hold ``ZERO_WIDTH_ITEMS`` items per payload:
fastavro allocates whatever count a six-byte payload claims.

The decoder raises whatever went wrong (``IndexError`` at the end of the
data, ``UnicodeDecodeError``, ``Invalid``); the caller turns that into a
message (``registry.formats.avro_payload``).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Callable, Collection, Mapping
from typing import Any

from fastavro.read import LOGICAL_READERS

from registry.formats.codegen import SourceWriter

__all__ = ["ZERO_WIDTH_ITEMS", "Invalid", "compile_decoder", "zero_width"]

ZERO_WIDTH_ITEMS = 65_536
"""Most items of zero-width types (``null``, empty records) one payload's arrays may hold."""

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1
_MASK64 = 2**64 - 1
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


class Invalid(ValueError):
    """The payload breaks the Avro encoding (the explainer says where)."""


def _read_long(data: bytes, pos: int) -> tuple[int, int]:
    """A zig-zag varint of at most 10 bytes starting at ``pos``, wrapped to 64 bits."""
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            result &= _MASK64
            return (result >> 1) ^ -(result & 1), pos
        shift += 7
        if shift > 63:
            raise Invalid("a varint longer than 10 bytes")


def _read_int(data: bytes, pos: int) -> tuple[int, int]:
    value, pos = _read_long(data, pos)
    if not _INT_MIN <= value <= _INT_MAX:
        raise Invalid(f"int {value} is out of the 32-bit range")
    return value, pos


def _read_length(data: bytes, pos: int) -> tuple[int, int]:
    value, pos = _read_long(data, pos)
    if value < 0:
        raise Invalid(f"negative length {value}")
    return value, pos


def _skip_long(data: bytes, pos: int) -> int:
    end = pos + 10
    while data[pos] > 0x7F:
        pos += 1
        if pos >= end:
            raise Invalid("a varint longer than 10 bytes")
    return pos + 1


def _fail(message: str) -> Any:
    raise Invalid(message)


_ZIGZAG = tuple((byte >> 1) ^ -(byte & 1) for byte in range(128))
_BOOLEANS = (False, True)
_budget = threading.local()


def _take_zero_width(count: int) -> None:
    """Count ``count`` zero-width items against the payload's allowance."""
    left = _budget.left - count
    if left < 0:
        raise Invalid(f"more than {ZERO_WIDTH_ITEMS} zero-width array items")
    _budget.left = left


def _reset_budget() -> None:
    _budget.left = ZERO_WIDTH_ITEMS


def zero_width(schema: Any, named: Mapping[str, Any], seen: frozenset[str] = frozenset()) -> bool:
    """Whether values of ``schema`` (fastavro's parsed form) take no bytes at all."""
    if isinstance(schema, str):
        if schema == "null":
            return True
        if schema in _PRIMITIVES or schema in seen or schema not in named:
            return False
        return zero_width(named[schema], named, seen | {schema})
    if isinstance(schema, list):
        return False
    kind = schema["type"]
    if kind in ("record", "error"):
        inner = seen | {schema.get("name", "")}
        return all(zero_width(field["type"], named, inner) for field in schema["fields"])
    if kind == "fixed":
        return schema["size"] == 0
    if kind in ("enum", "array", "map"):
        return False
    return zero_width(kind, named, seen)


class _Generator(SourceWriter):
    """Writes the source of one schema's decoder."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        super().__init__(
            {
                "_Invalid": Invalid,
                "_rl": _read_long,
                "_ri": _read_int,
                "_rn": _read_length,
                "_sl": _skip_long,
                "_Z": _ZIGZAG,
                "_B": _BOOLEANS,
                "_fail": _fail,
                "_zw": _take_zero_width,
                "_reset": _reset_budget,
                "_uf": struct.Struct("<f").unpack_from,
                "_ud": struct.Struct("<d").unpack_from,
            }
        )
        self.record_functions: dict[tuple[str, bool], str] = {}
        self.references: dict[str, int] = {}
        self.inlining: set[str] = set()
        self.has_zero_width = False

    def count_references(self, schema: Any, seen: set[str]) -> None:
        """How often each named record is used (a record used once is inlined)."""
        if isinstance(schema, str):
            if schema in self.named:
                self.references[schema] = self.references.get(schema, 0) + 1
                if schema not in seen:
                    seen.add(schema)
                    self.count_references(self.named[schema], seen)
            return
        if isinstance(schema, list):
            for branch in schema:
                self.count_references(branch, seen)
            return
        kind = schema["type"]
        if kind in ("record", "error"):
            name = schema["name"]
            self.references[name] = self.references.get(name, 0) + 1
            if name in seen:
                return
            seen.add(name)
            for field in schema["fields"]:
                self.count_references(field["type"], seen)
        elif kind == "array":
            self.count_references(schema["items"], seen)
        elif kind == "map":
            self.count_references(schema["values"], seen)
        elif not isinstance(kind, str) or kind not in _PRIMITIVES | {"enum", "fixed"}:
            self.count_references(kind, seen)

    # -- statements: read one value at ``p`` into ``v`` (build) or past it (skip) -------------

    def emit(self, schema: Any, v: str | None, pad: str) -> list[str]:
        if isinstance(schema, str):
            if schema in _PRIMITIVES:
                return getattr(self, f"emit_{schema}")(v, pad)
            return self.emit(self.named[schema], v, pad)
        if isinstance(schema, list):
            return self.emit_union(schema, v, pad)
        kind = schema["type"]
        if isinstance(kind, str) and kind not in _PRIMITIVES and kind in self.named:
            return self.emit(self.named[kind], v, pad)  # {"type": "<a named type>"}
        logical = schema.get("logicalType")
        reader = LOGICAL_READERS.get(f"{kind}-{logical}") if logical else None
        if reader is not None:
            return self.emit_logical(schema, reader, v, pad)
        return self.emit_kind(schema, kind, v, pad)

    def emit_kind(self, schema: dict[str, Any], kind: Any, v: str | None, pad: str) -> list[str]:
        if kind in _PRIMITIVES:
            return getattr(self, f"emit_{kind}")(v, pad)
        if kind in ("record", "error"):
            return self.emit_record(schema, v, pad)
        if kind == "enum":
            return self.emit_enum(schema, v, pad)
        if kind == "fixed":
            return self.emit_fixed(schema, v, pad)
        if kind == "array":
            return self.emit_array(schema, v, pad)
        if kind == "map":
            return self.emit_map(schema, v, pad)
        return self.emit(kind, v, pad)

    def emit_logical(
        self, schema: dict[str, Any], reader: Any, v: str | None, pad: str
    ) -> list[str]:
        # Always converted, even when skipped: fastavro refuses what its reader refuses.
        raw = self.fresh("r")
        lines = self.emit_kind(schema, schema["type"], raw, pad)
        convert = self.constant("_lr", reader)
        spec = self.constant("_ls", schema)
        target = v or self.fresh("x")
        return [*lines, f"{pad}{target} = {convert}({raw}, {spec}, None)"]

    def emit_null(self, v: str | None, pad: str) -> list[str]:
        return [f"{pad}{v} = None"] if v else []

    def emit_boolean(self, v: str | None, pad: str) -> list[str]:
        return [f"{pad}{v + ' = ' if v else ''}_B[d[p]]", f"{pad}p += 1"]

    def emit_long(self, v: str | None, pad: str, slow: str = "_rl") -> list[str]:
        if v is None and slow == "_rl":
            return [
                f"{pad}if d[p] < 128:",
                f"{pad}    p += 1",
                f"{pad}elif d[p + 1] < 128:",
                f"{pad}    p += 2",
                f"{pad}else:",
                f"{pad}    p = _sl(d, p)",
            ]
        target = v or "_"
        # One- and two-byte varints inline (two bytes hold 14 bits: always an int).
        return [
            f"{pad}b = d[p]",
            f"{pad}if b < 128:",
            f"{pad}    {target} = _Z[b]" if v else f"{pad}    pass",
            f"{pad}    p += 1",
            f"{pad}elif d[p + 1] < 128:",
            f"{pad}    b = (b & 127) | (d[p + 1] << 7)",
            f"{pad}    {target} = (b >> 1) ^ -(b & 1)" if v else f"{pad}    pass",
            f"{pad}    p += 2",
            f"{pad}else:",
            f"{pad}    {target}, p = {slow}(d, p)",
        ]

    def emit_int(self, v: str | None, pad: str) -> list[str]:
        return self.emit_long(v, pad, slow="_ri")

    def emit_float(self, v: str | None, pad: str) -> list[str]:
        read = [f"{pad}{v} = _uf(d, p)[0]"] if v else []
        return [*read, f"{pad}p += 4"]

    def emit_double(self, v: str | None, pad: str) -> list[str]:
        read = [f"{pad}{v} = _ud(d, p)[0]"] if v else []
        return [*read, f"{pad}p += 8"]

    def _blob(self, v: str | None, pad: str, text: bool) -> list[str]:
        decode = ".decode()" if text else ""
        q = self.fresh("q")
        if v is None and not text:
            return [
                f"{pad}b = d[p]",
                f"{pad}if b < 128 and not b & 1:",
                f"{pad}    p += 1 + (b >> 1)",
                f"{pad}else:",
                f"{pad}    {q}, p = _rn(d, p)",
                f"{pad}    p += {q}",
            ]
        target = f"{v} = " if v else ""
        return [
            f"{pad}b = d[p]",
            f"{pad}if b < 128 and not b & 1:",
            f"{pad}    {q} = p + 1 + (b >> 1)",
            f"{pad}    {target}d[p + 1:{q}]{decode}",
            f"{pad}else:",
            f"{pad}    {q}, p = _rn(d, p)",
            f"{pad}    {target}d[p:p + {q}]{decode}",
            f"{pad}    {q} += p",
            f"{pad}p = {q}",
        ]

    def emit_bytes(self, v: str | None, pad: str) -> list[str]:
        return self._blob(v, pad, text=False)

    def emit_string(self, v: str | None, pad: str) -> list[str]:
        return self._blob(v, pad, text=True)

    def emit_fixed(self, schema: dict[str, Any], v: str | None, pad: str) -> list[str]:
        size = int(schema["size"])
        read = [f"{pad}{v} = d[p:p + {size}]"] if v else []
        return [*read, f"{pad}p += {size}"]

    def _index(self, i: str, pad: str) -> list[str]:
        return [
            f"{pad}b = d[p]",
            f"{pad}if b < 128:",
            f"{pad}    {i} = _Z[b]",
            f"{pad}    p += 1",
            f"{pad}else:",
            f"{pad}    {i}, p = _rl(d, p)",
        ]

    def emit_enum(self, schema: dict[str, Any], v: str | None, pad: str) -> list[str]:
        symbols = tuple(schema["symbols"])
        i = self.fresh("i")
        lines = [
            *self._index(i, pad),
            f"{pad}if not 0 <= {i} < {len(symbols)}:",
            f"{pad}    _fail('enum index out of range')",
        ]
        if v:
            lines.append(f"{pad}{v} = {self.constant('_e', symbols)}[{i}]")
        return lines

    def emit_union(self, branches: list[Any], v: str | None, pad: str) -> list[str]:
        i = self.fresh("i")
        lines = self._index(i, pad)
        for number, branch in enumerate(branches):
            body = self.emit(branch, v, pad + "    ") or [f"{pad}    pass"]
            lines += [f"{pad}{'if' if number == 0 else 'elif'} {i} == {number}:", *body]
        lines += [f"{pad}else:", f"{pad}    _fail('union branch out of range')"]
        return lines

    def _blocks(self, item_width_zero: bool, pad: str, body: list[str], c: str) -> list[str]:
        """The block loop of an array or map; ``body`` reads one item (indented for the loop)."""
        if item_width_zero:
            self.has_zero_width = True
            bound = f"{pad}    _zw({c})"
        else:
            bound = f"{pad}    if {c} > n - p:\n{pad}        _fail('more items than bytes')"
        return [
            *self._index(c, pad),
            f"{pad}while {c}:",
            f"{pad}    if {c} < 0:",
            f"{pad}        {c} = -{c}",
            f"{pad}        p = _sl(d, p)",
            bound,
            f"{pad}    for _ in range({c}):",
            *body,
            *[f"    {line}" for line in self._index(c, pad)],
        ]

    def emit_array(self, schema: dict[str, Any], v: str | None, pad: str) -> list[str]:
        items = schema["items"]
        c = self.fresh("c")
        inner = pad + "        "
        if v:
            w = self.fresh("w")
            body = [*self.emit(items, w, inner), f"{inner}{v}.append({w})"]
            start = [f"{pad}{v} = []"]
        else:
            body = self.emit(items, None, inner) or [f"{inner}pass"]
            start = []
        return [*start, *self._blocks(zero_width(items, self.named), pad, body, c)]

    def emit_map(self, schema: dict[str, Any], v: str | None, pad: str) -> list[str]:
        c = self.fresh("c")
        inner = pad + "        "
        if v:
            k, w = self.fresh("k"), self.fresh("w")
            body = [
                *self.emit_string(k, inner),
                *self.emit(schema["values"], w, inner),
                f"{inner}{v}[{k}] = {w}",
            ]
            start = [f"{pad}{v} = {{}}"]
        else:
            body = [*self.emit_string(None, inner), *self.emit(schema["values"], None, inner)]
            start = []
        return [*start, *self._blocks(False, pad, body, c)]

    def emit_record(self, schema: dict[str, Any], v: str | None, pad: str) -> list[str]:
        name = schema["name"]
        if self.references.get(name, 0) <= 1 and name not in self.inlining:
            self.inlining.add(name)
            try:
                return self.record_body(schema, v, pad, None)
            finally:
                self.inlining.discard(name)
        function = self.record_function(schema, v is not None)
        if v:
            return [f"{pad}{v}, p = {function}(d, p)"]
        return [f"{pad}p = {function}(d, p)"]

    def record_body(
        self, schema: dict[str, Any], v: str | None, pad: str, keep: Collection[str] | None
    ) -> list[str]:
        lines: list[str] = []
        built: list[tuple[str, str]] = []
        for field in schema["fields"]:
            field_name = field["name"]
            wanted = v is not None and (keep is None or field_name in keep)
            target = self.fresh("f") if wanted else None
            lines += self.emit(field["type"], target, pad)
            if target:
                built.append((field_name, target))
        if v:
            items = ", ".join(f"{name!r}: {target}" for name, target in built)
            lines.append(f"{pad}{v} = {{{items}}}")
        return lines

    def record_function(self, schema: dict[str, Any], build: bool) -> str:
        key = (schema["name"], build)
        function = self.record_functions.get(key)
        if function is not None:
            return function
        function = self.record_functions[key] = self.fresh("_rec" if build else "_skip")
        body = self.record_body(schema, "v" if build else None, "    ", None)
        ending = "    return v, p" if build else "    return p"
        self.functions.append(
            "\n".join([f"def {function}(d, p):", "    n = len(d)", *body, ending])
        )
        return function


def compile_decoder(
    schema: Any, named: Mapping[str, Any], keep: Collection[str] | None = None
) -> Callable[[bytes], Any]:
    """A decoder of ``schema`` (fastavro's parsed form, with its ``named`` types).

    It answers the decoded value as fastavro's ``schemaless_reader`` does; for a
    record schema and ``keep`` given, a dict of only those top-level fields
    (the others are checked, not built). It raises on anything invalid.
    """
    generator = _Generator(named)
    generator.count_references(schema, set())
    root = schema
    while isinstance(root, str) and root in named:
        root = named[root]
    if isinstance(root, dict) and root.get("type") in ("record", "error"):
        generator.inlining.add(root["name"])
        body = generator.record_body(root, "v", "    ", keep)
    else:
        body = generator.emit(schema, "v", "    ")
    prologue = ["def decode(d):", "    if type(d) is not bytes:", "        d = bytes(d)"]
    if generator.has_zero_width:
        prologue.append("    _reset()")
    source = "\n".join(
        [
            *generator.functions,
            *prologue,
            "    n = len(d)",
            "    p = 0",
            *body,
            "    if p != n:",
            "        _fail('bytes after the end of the record')",
            "    return v",
        ]
    )
    decode: Callable[[bytes], Any] = generator.define(source, "decode", "<avro decoder>")
    return decode
