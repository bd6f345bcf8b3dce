"""The native gate's Avro program: a schema as int64 nodes the C walk validates a payload with.

``AvroCompiler`` mirrors the dispatch of the generated Python decoder
(``registry.formats.avro_decode``) on fastavro's parsed schema node by node,
so the C walk (``governance/native/gate_native.c``) accepts what the decoder
accepts. A logical type is its base type plus, where fastavro's reader can
refuse a value (dates and times out of range, a decimal's size), a range the
reader is known to accept (probed here with the reader itself), and no
vouching at all for the rest (``uuid``). Node kinds are gate_native.c's enum.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from fastavro.read import LOGICAL_READERS

from registry.formats.avro_decode import zero_width

__all__ = ["N_REST", "AvroCompiler", "Unmodelled", "root_record", "scalar_kind"]

(N_NULL, N_BOOLEAN, N_INT, N_LONG, N_FLOAT, N_DOUBLE, N_BYTES, N_STRING, N_FIXED, N_ENUM,
 N_UNION, N_RECORD, N_ARRAY, N_MAP, N_INT_RANGE, N_LONG_RANGE, N_BYTES_MAX, N_NEVER,
 N_REST) = range(19)  # fmt: skip

_PRIMITIVE_NODES = {
    "null": N_NULL, "boolean": N_BOOLEAN, "int": N_INT, "long": N_LONG,
    "float": N_FLOAT, "double": N_DOUBLE, "bytes": N_BYTES, "string": N_STRING,
}  # fmt: skip
_NULLABLE = frozenset({"boolean", "int", "long", "float", "double", "string"})
_DECIMAL_BYTES = 64  # decimals up to this size are vouched for (probed below)


class Unmodelled(Exception):
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


class AvroCompiler:
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


def scalar_kind(schema: Any, named: Mapping[str, Any]) -> Any:
    """What a top-level field binds to in CEL when natively comparable: a primitive's name,
    ``("enum", symbols)``, ``("nullable", primitive)`` (a union of null and one scalar), or
    None (another union, a logical value, a structure...)."""
    if isinstance(schema, str):
        if schema in _PRIMITIVE_NODES:
            return schema
        return scalar_kind(named[schema], named) if schema in named else None
    if isinstance(schema, list):  # an optional scalar: null and one numeric, bool or string
        kinds = [scalar_kind(branch, named) for branch in schema]
        others = [kind for kind in kinds if kind != "null"]
        if len(others) != 1 or len(kinds) != 2 or others[0] not in _NULLABLE:
            return None
        return ("nullable", others[0])
    kind = schema["type"]
    if isinstance(kind, str) and kind not in _PRIMITIVE_NODES and kind in named:
        return scalar_kind(named[kind], named)
    logical = schema.get("logicalType")
    if logical and f"{kind}-{logical}" in LOGICAL_READERS:
        return None
    if isinstance(kind, str) and kind in _PRIMITIVE_NODES:
        return kind
    if kind == "enum":
        return ("enum", tuple(schema["symbols"]))
    if isinstance(kind, (dict, list)):
        return scalar_kind(kind, named)
    return None


def root_record(schema: Any, named: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The record a schema is (through named references), if it is one."""
    root = schema
    while isinstance(root, str) and root in named:
        root = named[root]
    if isinstance(root, dict) and root.get("type") in ("record", "error"):
        return root
    return None
