"""Write parsed Avro schemas back out: Confluent's canonical string, normal form, Parsing Canonical Form.

- ``canonical_json``: what Avro Java's ``Schema.toString()`` prints (and hence
  what Confluent Schema Registry stores): compact, attributes kept in Java's
  order, names written relative to the enclosing namespace, named types from
  references written by name.
- ``normalized_json``: one string for all equivalent spellings of a schema
  (``?normalize=true``): full names, fixed attribute order, sorted properties,
  defaulted attributes dropped.
- ``parsing_canonical_form`` and ``rabin_fingerprint``: the Avro
  specification's "Parsing Canonical Form" and its CRC-64-AVRO fingerprint.
- ``standalone_json``: a self-contained JSON value (references inlined) that
  fastavro can parse.
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from registry.formats.avro_model import (
    PRIMITIVE_KINDS,
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Node,
    Record,
    Union,
)

__all__ = [
    "canonical_json",
    "dumps",
    "normalized_json",
    "parsing_canonical_form",
    "rabin_fingerprint",
    "standalone_json",
]

# Avro Java writes a full name when the simple name would read as one of its type names.
_JAVA_TYPE_NAMES = PRIMITIVE_KINDS | {"record", "enum", "array", "map", "union", "fixed"}
_ODD_CONTROL = re.compile(r"[\x00-\x07\x0b\x0e-\x1f]")
_encode_string = json.encoder.encode_basestring  # type: ignore[attr-defined]


# -- JSON text as Jackson writes it ---------------------------------------------------


def _java_double(value: float) -> str:
    """Java's ``Double.toString`` (shortest digits), which Jackson uses for floating-point numbers."""
    if math.isnan(value):
        return '"NaN"'
    if math.isinf(value):
        return '"Infinity"' if value > 0 else '"-Infinity"'
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    magnitude = abs(value)
    if 1e-3 <= magnitude < 1e7:
        text = repr(value)
        return text if "." in text else text + ".0"
    sign, digits, exponent = Decimal(repr(magnitude)).normalize().as_tuple()
    mantissa = "".join(map(str, digits))
    power = len(mantissa) - 1 + int(exponent)
    head, tail = mantissa[0], mantissa[1:].rstrip("0") or "0"
    return f"{'-' if value < 0 else ''}{head}.{tail}E{power}"


def _string(text: str) -> str:
    encoded = _encode_string(text)
    if _ODD_CONTROL.search(text):
        # Jackson writes \u00XX escapes with upper-case hex digits; the encoder uses lower case.
        encoded = "".join(
            f"\\u{ord(ch):04X}" if _ODD_CONTROL.match(ch) else _encode_string(ch)[1:-1]
            for ch in text
        )
        encoded = f'"{encoded}"'
    return encoded


def dumps(value: Any) -> str:
    """Compact JSON text, formatted as Jackson formats it (numbers, escapes, no spaces)."""
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{" + ",".join(f"{_string(k)}:{dumps(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(dumps(item) for item in value) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if value is None:
        return "null"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _java_double(value)
    raise TypeError(f"not a JSON value: {value!r}")


def _sorted_json(value: Any) -> Any:
    """``value`` with object keys sorted at every level (normal form of defaults and properties)."""
    if isinstance(value, dict):
        return {key: _sorted_json(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sorted_json(item) for item in value]
    return value


# -- Avro Java's Schema.toString ----------------------------------------------------


def _java_qualified(full: str, space: str | None, simple: str, current: str | None) -> str:
    if space is not None and space == current and simple not in _JAVA_TYPE_NAMES:
        return simple
    return full


class _JavaWriter:
    def __init__(self, known: frozenset[str]) -> None:
        self.known = set(known)
        self.floats = False  # whether a default or property holds a float (Java formats those)

    def _extra(self, out: dict[str, Any], props: dict[str, Any]) -> None:
        if props:
            self.floats = self.floats or _has_float(props)
            out.update(props)

    def write(self, node: Node, current: str | None) -> Any:
        kind = node.kind
        if kind in PRIMITIVE_KINDS:
            if not node.props:
                return kind
            out: dict[str, Any] = {"type": kind}
        elif isinstance(node, Named):
            return self._named(node, current)
        elif isinstance(node, Array):
            out = {"type": "array", "items": self.write(node.items, current)}
        elif isinstance(node, Map):
            out = {"type": "map", "values": self.write(node.values, current)}
        else:
            assert isinstance(node, Union)
            return [self.write(branch, current) for branch in node.branches]
        self._extra(out, node.props)
        return out

    def _named(self, node: Named, current: str | None) -> Any:
        if node.fullname in self.known:
            return _java_qualified(node.fullname, node.space, node.name, current)
        self.known.add(node.fullname)
        out: dict[str, Any] = {}
        if isinstance(node, Record):
            out["type"] = "error" if node.is_error else "record"
        else:
            out["type"] = node.kind
        out["name"] = node.name
        if node.space is not None:
            if node.space != current:
                out["namespace"] = node.space
        elif current is not None:
            out["namespace"] = ""
        if node.doc is not None:
            out["doc"] = node.doc
        if isinstance(node, Record):
            out["fields"] = [self._field(field, node.space) for field in node.fields]
        elif isinstance(node, Enum):
            out["symbols"] = list(node.symbols)
            if node.default is not None:
                out["default"] = node.default
        elif isinstance(node, Fixed):
            out["size"] = node.size
        self._extra(out, node.props)
        if node.aliases:
            out["aliases"] = [
                _java_qualified(alias, *_split(alias), node.space) for alias in node.aliases
            ]
        return out

    def _field(self, field: Field, current: str | None) -> dict[str, Any]:
        out: dict[str, Any] = {"name": field.name, "type": self.write(field.type, current)}
        if field.doc is not None:
            out["doc"] = field.doc
        if field.has_default:
            out["default"] = field.default
            self.floats = self.floats or _has_float(field.default)
        if field.order != "ascending":
            out["order"] = field.order
        if field.aliases:
            out["aliases"] = list(field.aliases)
        self._extra(out, field.props)
        return out


def _split(full: str) -> tuple[str | None, str]:
    space, _, simple = full.rpartition(".")
    return (space or None), simple


def _has_float(value: Any) -> bool:
    if isinstance(value, float):
        return True
    if isinstance(value, dict):
        return any(_has_float(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_float(item) for item in value)
    return False


def _fast_dumps(value: Any, may_have_floats: bool) -> str:
    """``dumps`` through the C encoder when its output is the same (no floats, no odd escapes)."""
    if not may_have_floats:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        if "\\u00" not in text:
            return text
    return dumps(value)


def canonical_json(node: Node, reference_names: frozenset[str]) -> str:
    """Avro Java's ``Schema.toString(referencedSchemas, false)``: Confluent's stored schema text."""
    writer = _JavaWriter(reference_names)
    return _fast_dumps(writer.write(node, None), writer.floats)


# -- normal form ----------------------------------------------------------------------


class _NormalWriter:
    """Full names everywhere, fixed attribute order, sorted properties, no defaulted attributes."""

    def __init__(self, known: frozenset[str]) -> None:
        self.known = set(known)

    @staticmethod
    def _props(props: dict[str, Any]) -> dict[str, Any]:
        return _sorted_json(props)

    def write(self, node: Node) -> Any:
        kind = node.kind
        if kind in PRIMITIVE_KINDS:
            return {"type": kind, **self._props(node.props)} if node.props else kind
        if isinstance(node, Named):
            if node.fullname in self.known:
                return node.fullname
            self.known.add(node.fullname)
            out: dict[str, Any] = {"type": node.kind, "name": node.fullname}
            if isinstance(node, Record) and node.is_error:
                out["type"] = "error"
            if node.doc is not None:
                out["doc"] = node.doc
            if isinstance(node, Record):
                out["fields"] = [self._field(field) for field in node.fields]
            elif isinstance(node, Enum):
                out["symbols"] = list(node.symbols)
                if node.default is not None:
                    out["default"] = node.default
            elif isinstance(node, Fixed):
                out["size"] = node.size
            if node.aliases:
                out["aliases"] = sorted(node.aliases)
            out.update(self._props(node.props))
            return out
        if isinstance(node, Array):
            return {"type": "array", "items": self.write(node.items), **self._props(node.props)}
        if isinstance(node, Map):
            return {"type": "map", "values": self.write(node.values), **self._props(node.props)}
        assert isinstance(node, Union)
        return [self.write(branch) for branch in node.branches]

    def _field(self, field: Field) -> dict[str, Any]:
        out: dict[str, Any] = {"name": field.name, "type": self.write(field.type)}
        if field.doc is not None:
            out["doc"] = field.doc
        if field.has_default:
            out["default"] = _sorted_json(field.default)
        if field.order != "ascending":
            out["order"] = field.order
        if field.aliases:
            out["aliases"] = sorted(field.aliases)
        out.update(self._props(field.props))
        return out


def normalized_json(node: Node, reference_names: frozenset[str]) -> str:
    """The normal form used for ``?normalize=true``; named types from references stay references."""
    return dumps(_NormalWriter(reference_names).write(node))


def standalone_json(node: Node) -> Any:
    """A self-contained JSON value of the schema (references inlined), e.g. for fastavro."""
    return _NormalWriter(frozenset()).write(node)


# -- Parsing Canonical Form and its fingerprint ---------------------------------------------


def _pcf(node: Node, seen: set[str]) -> Any:
    kind = node.kind
    if kind in PRIMITIVE_KINDS:
        return kind
    if isinstance(node, Named):
        if node.fullname in seen:
            return node.fullname
        seen.add(node.fullname)
        if isinstance(node, Record):
            fields = [{"name": f.name, "type": _pcf(f.type, seen)} for f in node.fields]
            return {"name": node.fullname, "type": "record", "fields": fields}
        if isinstance(node, Enum):
            return {"name": node.fullname, "type": "enum", "symbols": list(node.symbols)}
        assert isinstance(node, Fixed)
        return {"name": node.fullname, "type": "fixed", "size": node.size}
    if isinstance(node, Array):
        return {"type": "array", "items": _pcf(node.items, seen)}
    if isinstance(node, Map):
        return {"type": "map", "values": _pcf(node.values, seen)}
    assert isinstance(node, Union)
    return [_pcf(branch, seen) for branch in node.branches]


def parsing_canonical_form(node: Node) -> str:
    """The Avro specification's Parsing Canonical Form (references inlined at first use)."""
    return json.dumps(_pcf(node, set()), ensure_ascii=False, separators=(",", ":"))


_EMPTY64 = 0xC15D213AA4D7A795  # CRC-64-AVRO seed, from the Avro specification


def _make_table() -> list[int]:
    table = []
    for index in range(256):
        fp = index
        for _ in range(8):
            fp = (fp >> 1) ^ (_EMPTY64 & -(fp & 1))
        table.append(fp)
    return table


_TABLE = _make_table()


def rabin_fingerprint(data: bytes) -> int:
    """The 64-bit Rabin fingerprint (CRC-64-AVRO) of ``data``, as an unsigned integer."""
    fp = _EMPTY64
    table = _TABLE
    for byte in data:
        fp = (fp >> 8) ^ table[(fp ^ byte) & 0xFF]
    return fp
