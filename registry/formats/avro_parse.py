"""Parse Avro schema JSON into ``avro_model`` nodes, validating it as Avro Java's parser does.

Rules follow the Avro specification and, where the specification leaves room,
Avro Java (what Confluent Schema Registry runs): names may use Unicode letters,
unknown attributes are kept as properties, a union default must match the
first branch. Anything invalid raises ``registry.errors.InvalidSchema`` with a
message naming the offending part.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

from registry.errors import InvalidSchema
from registry.formats.avro_model import (
    NO_DEFAULT,
    PRIMITIVE_KINDS,
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Node,
    Primitive,
    Record,
    Union,
)
from registry.formats.base import MAX_SCHEMA_NESTING, ResolvedReference
from registry.json_text import nested_deeper_than

__all__ = ["ParseResult", "load_json", "parse_schema"]

# Attributes Avro interprets; anything else on a schema object is kept as a property.
_SCHEMA_RESERVED = frozenset(
    ("doc", "fields", "items", "name", "namespace", "size", "symbols", "values", "type", "aliases")
)
_ENUM_RESERVED = _SCHEMA_RESERVED | {"default"}
_FIELD_RESERVED = frozenset(("default", "doc", "name", "order", "type", "aliases"))
_ORDERS = frozenset(("ascending", "descending", "ignore"))
_NAME_RE = re.compile(r"[^\W\d]\w*")
_INT_RANGE = (-(2**31), 2**31 - 1)
_LONG_RANGE = (-(2**63), 2**63 - 1)
_FLOAT_WORDS = frozenset(("NaN", "Infinity", "-Infinity"))
# Deeper schemas are rejected so that writing and checking them stays far from Python's
# recursion limit, whatever the caller's stack depth.
MAX_NESTING = 100


class ParseResult:
    """The root node, the named types known from references, and every named type by full name."""

    __slots__ = ("names", "reference_names", "root")

    def __init__(self, root: Node, reference_names: frozenset[str], names: dict[str, Named]):
        self.root = root
        self.reference_names = reference_names
        self.names = names


def _reject_constant(text: str) -> Any:
    raise InvalidSchema(f"Invalid schema: {text} is not valid JSON")


def load_json(schema_str: str) -> Any:
    """``json.loads`` that rejects ``NaN``/``Infinity`` literals, as Jackson does."""
    try:
        document = json.loads(schema_str, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidSchema(f"Invalid schema: not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidSchema("Invalid schema: JSON nested too deeply") from None
    if nested_deeper_than(document, MAX_SCHEMA_NESTING):
        raise InvalidSchema(
            f"Invalid schema: nested too deeply (more than {MAX_SCHEMA_NESTING} levels)"
        )
    return document


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return text if len(text) <= 200 else text[:197] + "..."


def _check_name(name: Any, what: str) -> str:
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise InvalidSchema(
            f"Invalid {what} {_short(name)}: a name must start with a letter or '_' "
            f"and contain only letters, digits and '_'"
        )
    return name


def _check_space(space: str) -> None:
    for part in space.split("."):
        if not _NAME_RE.fullmatch(part):
            raise InvalidSchema(
                f"Invalid namespace {space!r}: each dot-separated part must be a valid name"
            )


class _Parser:
    def __init__(self) -> None:
        self.depth = 0
        self.names: dict[str, Named] = {}
        self.defaults_to_check: list[tuple[Record, Field]] = []

    # -- names -------------------------------------------------------------------

    def _split_name(self, obj: dict[str, Any], space: str | None) -> tuple[str, str | None]:
        if "name" not in obj:
            raise InvalidSchema(f"No name in schema: {_short(obj)}")
        name = obj["name"]
        if not isinstance(name, str):
            raise InvalidSchema(f"Invalid name {_short(name)}: a name must be a string")
        if "." in name:
            own_space, _, simple = name.rpartition(".")
        else:
            simple = name
            namespace = obj.get("namespace")
            if namespace is None:
                own_space = space or ""
            elif isinstance(namespace, str):
                own_space = namespace
            else:
                raise InvalidSchema(f"Invalid namespace {_short(namespace)} of {name!r}")
        _check_name(simple, "name")
        if simple in PRIMITIVE_KINDS:
            raise InvalidSchema(f"Invalid name {name!r}: primitive type names cannot be redefined")
        if own_space:
            _check_space(own_space)
        return simple, own_space or None

    def _aliases(self, obj: dict[str, Any], space: str | None, owner: str) -> tuple[str, ...]:
        raw = obj.get("aliases")
        if raw is None:
            return ()
        if not isinstance(raw, list) or not all(isinstance(a, str) for a in raw):
            raise InvalidSchema(f"Invalid aliases of {owner}: expected an array of names")
        full = []
        for alias in raw:
            if "." in alias:
                alias_space, _, simple = alias.rpartition(".")
                _check_space(alias_space)
            else:
                simple = alias
                alias = f"{space}.{alias}" if space else alias
            _check_name(simple, f"alias of {owner}")
            full.append(alias)
        return tuple(dict.fromkeys(full))

    def _register(self, node: Named) -> None:
        if node.fullname in self.names:
            raise InvalidSchema(f"Can't redefine: {node.fullname}")
        self.names[node.fullname] = node

    def lookup(self, name: str, space: str | None) -> Named | None:
        if "." not in name and space:
            found = self.names.get(f"{space}.{name}")
            if found is not None:
                return found
        return self.names.get(name)

    # -- schemas -----------------------------------------------------------------

    def parse(self, value: Any, space: str | None, context: str) -> Node:
        if isinstance(value, str):
            return self._parse_name(value, space, context)
        self.depth += 1
        try:
            if self.depth > MAX_NESTING:
                raise InvalidSchema(
                    f"Invalid schema: types nested more than {MAX_NESTING} levels deep"
                )
            if isinstance(value, dict):
                return self._parse_object(value, space, context)
            if isinstance(value, list):
                return self._parse_union(value, space, context)
        finally:
            self.depth -= 1
        raise InvalidSchema(
            f"Invalid schema {_short(value)} for {context}: expected a type name, "
            f'an object with a "type", or an array (union)'
        )

    def _parse_name(self, name: str, space: str | None, context: str) -> Node:
        if name in PRIMITIVE_KINDS:
            return Primitive(name, {})
        found = self.lookup(name, space)
        if found is None:
            raise InvalidSchema(
                f'"{name}" is not a defined name. The type of {context} must be a defined '
                f'name or a {{"type": ...}} expression.'
            )
        return found

    @staticmethod
    def _props(obj: dict[str, Any], reserved: frozenset[str]) -> dict[str, Any]:
        if obj.keys() <= reserved:
            return {}
        return {key: value for key, value in obj.items() if key not in reserved}

    def _parse_object(self, obj: dict[str, Any], space: str | None, context: str) -> Node:
        kind = obj.get("type")
        if not isinstance(kind, str):
            raise InvalidSchema(
                f'No type: {_short(obj)} ({context}): "type" must be a string naming a type'
            )
        if kind in PRIMITIVE_KINDS:
            return Primitive(kind, self._props(obj, _SCHEMA_RESERVED))
        if kind in ("record", "error"):
            return self._parse_record(obj, space, kind == "error")
        if kind == "enum":
            return self._parse_enum(obj, space)
        if kind == "fixed":
            return self._parse_fixed(obj, space)
        if kind == "array":
            if "items" not in obj:
                raise InvalidSchema(f"Array has no items type: {_short(obj)}")
            items = self.parse(obj["items"], space, "array items")
            return Array(items, self._props(obj, _SCHEMA_RESERVED))
        if kind == "map":
            if "values" not in obj:
                raise InvalidSchema(f"Map has no values type: {_short(obj)}")
            values = self.parse(obj["values"], space, "map values")
            return Map(values, self._props(obj, _SCHEMA_RESERVED))
        found = self.lookup(kind, space)
        if found is None:
            raise InvalidSchema(f"Type not supported: {kind!r} ({context})")
        return found

    def _parse_union(self, branches: list[Any], space: str | None, context: str) -> Union:
        nodes: list[Node] = []
        seen: set[str] = set()
        for index, branch in enumerate(branches):
            node = self.parse(branch, space, f"branch {index} of the union in {context}")
            if node.kind == "union":
                raise InvalidSchema(f"Nested union in {context}: {_short(branches)}")
            key = node.fullname if isinstance(node, Named) else node.kind
            if key in seen:
                raise InvalidSchema(f"Duplicate in union: {key} ({context})")
            seen.add(key)
            nodes.append(node)
        return Union(nodes)

    @staticmethod
    def _doc(obj: dict[str, Any]) -> str | None:
        doc = obj.get("doc")
        return doc if isinstance(doc, str) else None

    def _parse_record(self, obj: dict[str, Any], space: str | None, is_error: bool) -> Record:
        name, own_space = self._split_name(obj, space)
        fields_json = obj.get("fields")
        if not isinstance(fields_json, list):
            raise InvalidSchema(f"Record has no fields (an array is required): {_short(obj)}")
        record = Record(
            name,
            own_space,
            self._doc(obj),
            (),
            self._props(obj, _SCHEMA_RESERVED),
            is_error,
        )
        record.aliases = self._aliases(obj, own_space, f"record {record.fullname}")
        self._register(record)
        for pos, field_json in enumerate(fields_json):
            field = self._parse_field(field_json, pos, record, own_space)
            if field.name in record.fields_by_name:
                raise InvalidSchema(f"Duplicate field {field.name} in record {record.fullname}")
            record.fields.append(field)
            record.fields_by_name[field.name] = field
        return record

    def _parse_field(self, obj: Any, pos: int, record: Record, space: str | None) -> Field:
        where = f"record {record.fullname}"
        if not isinstance(obj, dict):
            raise InvalidSchema(f"Invalid field {_short(obj)} in {where}: expected an object")
        if "name" not in obj:
            raise InvalidSchema(f"No field name: {_short(obj)} in {where}")
        name = _check_name(obj["name"], f"field name in {where}")
        if "type" not in obj:
            raise InvalidSchema(f"No field type: field {name!r} in {where}")
        type_ = self.parse(obj["type"], space, f'the "{name}" field')
        order = obj.get("order", "ascending")
        if isinstance(order, str):
            order = order.lower()  # Avro Java accepts any case and writes lower case
        if order not in _ORDERS:
            raise InvalidSchema(
                f"Invalid order {_short(order)} of field {name!r} in {where}: "
                f"expected ascending, descending or ignore"
            )
        raw_aliases = obj.get("aliases")
        aliases: tuple[str, ...] = ()
        if raw_aliases is not None:
            if not isinstance(raw_aliases, list) or not all(
                isinstance(a, str) for a in raw_aliases
            ):
                raise InvalidSchema(f"Invalid aliases of field {name!r} in {where}")
            aliases = tuple(dict.fromkeys(raw_aliases))
        field = Field(
            name,
            type_,
            pos,
            self._doc(obj),
            obj.get("default", NO_DEFAULT),
            order,
            aliases,
            self._props(obj, _FIELD_RESERVED),
        )
        if field.has_default:
            self.defaults_to_check.append((record, field))
        return field

    def _parse_enum(self, obj: dict[str, Any], space: str | None) -> Enum:
        name, own_space = self._split_name(obj, space)
        full = f"{own_space}.{name}" if own_space else name
        symbols = obj.get("symbols")
        if not isinstance(symbols, list):
            raise InvalidSchema(f"Enum {full} has no symbols (an array is required)")
        for symbol in symbols:
            _check_name(symbol, f"symbol of enum {full}")
        if len(set(symbols)) != len(symbols):
            duplicate = next(s for s in symbols if symbols.count(s) > 1)
            raise InvalidSchema(f"Duplicate enum symbol: {duplicate} in enum {full}")
        default = obj.get("default")
        if default is not None and default not in symbols:
            raise InvalidSchema(
                f"The Enum Default: {_short(default)} is not in the enum symbol set: "
                f"[{', '.join(symbols)}] (enum {full})"
            )
        node = Enum(
            name,
            own_space,
            self._doc(obj),
            self._aliases(obj, own_space, f"enum {full}"),
            self._props(obj, _ENUM_RESERVED),
            tuple(symbols),
            default,
        )
        self._register(node)
        return node

    def _parse_fixed(self, obj: dict[str, Any], space: str | None) -> Fixed:
        name, own_space = self._split_name(obj, space)
        full = f"{own_space}.{name}" if own_space else name
        size = obj.get("size")
        if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < 2**31:
            raise InvalidSchema(f"Invalid or no size of fixed {full}: {_short(size)}")
        node = Fixed(
            name,
            own_space,
            self._doc(obj),
            self._aliases(obj, own_space, f"fixed {full}"),
            self._props(obj, _SCHEMA_RESERVED),
            size,
        )
        self._register(node)
        return node

    # -- defaults ----------------------------------------------------------------

    def check_defaults(self) -> None:
        from registry.formats.avro_write import canonical_json

        for record, field in self.defaults_to_check:
            if not _valid_default(field.type, field.default, top_level=True):
                raise InvalidSchema(
                    f"Invalid default for field {field.name} in record {record.fullname}: "
                    f"{_short(field.default)} not a {canonical_json(field.type, frozenset())}"
                )


def _valid_default(node: Node, value: Any, top_level: bool = False) -> bool:
    """Whether ``value`` is a valid JSON default for ``node`` (union: its first branch)."""
    kind = node.kind
    if kind == "null":
        return value is None
    if kind == "boolean":
        return isinstance(value, bool)
    if kind in ("int", "long"):
        low, high = _INT_RANGE if kind == "int" else _LONG_RANGE
        return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    if kind in ("float", "double"):
        if isinstance(value, str):
            return value in _FLOAT_WORDS
        return isinstance(value, int | float) and not isinstance(value, bool)
    if kind in ("string", "bytes"):
        return isinstance(value, str)
    if kind == "fixed":
        return isinstance(value, str) and len(value) == node.size  # type: ignore[attr-defined]
    if kind == "enum":
        return isinstance(value, str) and value in node.symbol_set  # type: ignore[attr-defined]
    if kind == "array":
        return isinstance(value, list) and all(
            _valid_default(node.items, item)
            for item in value  # type: ignore[attr-defined]
        )
    if kind == "map":
        return isinstance(value, dict) and all(
            _valid_default(node.values, item)
            for item in value.values()  # type: ignore[attr-defined]
        )
    if kind == "union":
        branches = node.branches  # type: ignore[attr-defined]
        return bool(branches) and _valid_default(branches[0], value)
    if kind == "record":
        if not isinstance(value, dict):
            return False
        for field in node.fields:  # type: ignore[attr-defined]
            if field.name in value:
                if not _valid_default(field.type, value[field.name]):
                    return False
            elif not field.has_default:
                return False
        return True
    return False


def parse_schema(schema_str: str, references: Sequence[ResolvedReference] = ()) -> ParseResult:
    """Parse ``schema_str`` with the named types of ``references`` (in dependency order) in scope."""
    if not isinstance(schema_str, str):
        raise InvalidSchema(
            f"Invalid schema: expected a JSON string, got {type(schema_str).__name__}"
        )
    parser = _Parser()
    reference_names: set[str] = set()
    try:
        for reference in references:
            try:
                ref_root = parser.parse(load_json(reference.schema_str), None, "the schema")
                parser.check_defaults()
            except InvalidSchema as exc:
                raise InvalidSchema(
                    f"Invalid reference {reference.name!r} (subject {reference.subject!r} "
                    f"version {reference.version}): {exc.message}"
                ) from None
            parser.defaults_to_check.clear()
            if isinstance(ref_root, Named):
                reference_names.add(ref_root.fullname)
        root = parser.parse(load_json(schema_str), None, "the schema")
        parser.check_defaults()
    except RecursionError:
        raise InvalidSchema("Invalid schema: nested too deeply") from None
    return ParseResult(root, frozenset(reference_names), parser.names)
