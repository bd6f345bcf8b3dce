"""The node program of the native Avro encoder, compiled once per schema, and the encoder itself.

``charter.sdk._avro_encode`` (C, optional) writes plain Python values — dict,
list, tuple, str, int, float, bool, None, bytes, bytearray — as Avro binary
from a flat list of nodes (one per schema position, children by index, so a
recursive record is a cycle). This module walks fastavro's parsed schema the
way ``avro_encoder`` generates its Python encoder and emits those nodes, so
both make the same decisions: the native encoder either returns the exact
bytes the Python encoder would, or ``None`` and leaves the value (a refusal,
or a datetime, Decimal, subclass, ...) to the Python encoder.

``native_encoder(...)`` returns ``None`` when the extension is not built; the
SDK then runs the Python encoder alone (same answers, slower) and says so once.
The extension also holds ``Producer.produce``'s common case
(``produce_dispatcher``): a dict for a topic whose schema is cached, encoded
and handed to librdkafka without running Python code per record.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable, Mapping
from typing import Any

from fastavro.write import LOGICAL_WRITERS

from charter.sdk.avro_encoder import NamedSchemas

__all__ = ["NATIVE_ERROR", "compile_program", "native_encoder", "produce_dispatcher"]

_log = logging.getLogger(__name__)

try:
    _native: Any = importlib.import_module("charter.sdk._avro_encode")
    NATIVE_ERROR: str | None = None
except ImportError as error:  # not built (no compiler at install time): pure Python
    _native = None
    NATIVE_ERROR = str(error)

# Opcodes: the order of the enum in charter/sdk/native/avro_encode.c.
_PRIMITIVES = ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
OP = {name: code for code, name in enumerate(_PRIMITIVES)}
OP.update(fixed=8, enum=9, array=10, map=11, record=12, union=13, logical=14, fallback=15)

Node = tuple[Any, ...]


class _Compiler(NamedSchemas):
    """Emits the nodes of one schema (mirrors ``avro_encoder._Generator``)."""

    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named
        self.nodes: list[Node] = []
        self.records: dict[str, int] = {}

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1

    def node(self, schema: Any, in_union: bool = False) -> int:
        schema = self.resolve(schema)
        if isinstance(schema, dict) and "logicalType" in schema:
            return self.logical(schema, in_union)
        kind = self.kind(schema)
        if kind in _PRIMITIVES:
            return self.add((OP[kind],))
        if kind == "fixed":
            return self.add((OP["fixed"], int(schema["size"])))
        if kind == "enum":
            return self.add((OP["enum"], {s: i for i, s in enumerate(schema["symbols"])}))
        if kind in ("array", "map"):
            index = self.add(())
            child = self.node(schema["items" if kind == "array" else "values"])
            self.nodes[index] = (OP[kind], child)
            return index
        if kind == "record":
            return self.record(schema)
        if kind == "union":
            branches = tuple(self.node(branch, in_union=True) for branch in schema)
            return self.add((OP["union"], branches))
        raise ValueError(f"no native encoding for {kind!r}")

    def logical(self, schema: dict[str, Any], in_union: bool) -> int:
        base = {key: value for key, value in schema.items() if key != "logicalType"}
        base_schema = base if len(base) > 1 or base["type"] not in OP else base["type"]
        base_kind = self.kind(base_schema)
        type_name = schema["type"]
        branch_op = OP[type_name] if type_name in _PRIMITIVES else -1  # avro_encoder.branch_test
        if base_kind not in _PRIMITIVES:
            # fixed (decimal) is always converted by the Python encoder; other kinds carry no
            # known writer, but their union tests are left to Python too
            writer = LOGICAL_WRITERS.get(f"{type_name}-{schema['logicalType']}")
            if writer is not None or in_union:
                return self.add((OP["fallback"],))
            return self.node(base_schema)
        child = self.node(base_schema)
        return self.add((OP["logical"], child, OP[base_kind], branch_op))

    def record(self, schema: dict[str, Any]) -> int:
        name = schema["name"]
        if name in self.records:
            return self.records[name]
        index = self.add(())
        self.records[name] = index  # before the fields: recursive records
        fields = tuple(
            (
                str(field["name"]),
                self.node(field["type"]),
                "default" in field,
                field.get("default"),
            )
            for field in schema["fields"]
        )
        self.nodes[index] = (OP["record"], fields)
        return index


def compile_program(parsed_schema: Any, named: Mapping[str, Any]) -> tuple[list[Node], int]:
    """``(nodes, root)`` of a schema in fastavro's parsed form."""
    compiler = _Compiler(named)
    root = compiler.node(parsed_schema)
    return compiler.nodes, root


_announced = False


def _announce(path: str) -> None:
    global _announced
    if not _announced:
        _announced = True
        _log.info("charter SDK: Avro values are encoded by %s", path)


def native_encoder(
    parsed_schema: Any, named: Mapping[str, Any], header: bytes
) -> Callable[[Any], bytes | None] | None:
    """``encode(value) -> header + Avro binary`` or ``None`` (the Python encoder decides);
    ``None`` instead of an encoder when the extension is not built."""
    if _native is None:
        _announce(f"the pure-Python encoder (native extension not built: {NATIVE_ERROR})")
        return None
    _announce("the native encoder (charter.sdk._avro_encode)")
    nodes, root = compile_program(parsed_schema, named)
    encode: Callable[[Any], bytes | None] = _native.Encoder(nodes, root, header).encode
    return encode


def produce_dispatcher(
    fast: dict[str, Any],
    send: Callable[..., Any],
    owner: object,
    general: Callable[..., Any],
    wait: Callable[..., Any],
) -> Callable[..., None] | None:
    """A callable standing for ``owner.produce``: when ``fast[topic]`` is ``(schema, encode)``
    for the call's schema and value is a dict with no per-record options, ``send(topic,
    encode(value)[, key])`` (``wait(owner, topic, framed, key)`` on BufferError); any other
    call is ``general(owner, ...)``. None when the extension is not built."""
    if _native is None:
        return None
    dispatcher: Callable[..., None] = _native.Dispatcher(fast, send, owner, general, wait)
    return dispatcher
