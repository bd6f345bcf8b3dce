"""A typed model of a JSON Schema document, shaped like the one Confluent's checker compares.

Confluent Schema Registry loads a JSON Schema with the everit library before
diffing it, and its compatibility rules are written against everit's schema
classes (``StringSchema``, ``ObjectSchema``, ``CombinedSchema``, ...). To give the
same verdicts we load a schema into the same shapes:

- ``true``/``{}`` become ``TrueSchema``/``EmptySchema``, ``false`` ``FalseSchema``;
- ``"type": "x"`` gives one typed node, ``"type": [...]`` an ``anyOf`` of typed nodes;
- without ``type``, type-specific keywords imply the node (``properties`` → object);
- ``enum``, ``const``, ``not``, ``allOf``/``anyOf``/``oneOf`` and ``if`` each give a
  node, and a schema that yields several nodes becomes a synthetic ``allOf``;
- ``$ref`` becomes a ``ReferenceSchema`` resolved lazily through a ``referencing``
  resolver, so recursive schemas load without looping.

Draft 2019-09/2020-12 spellings map onto the draft-07 shapes (``prefixItems`` is the
tuple, ``items`` next to it the additional items, ``dependentRequired`` and
``dependentSchemas`` the two halves of ``dependencies``), as Confluent does.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from typing import Any

import referencing
import referencing.exceptions
import referencing.jsonschema

__all__ = [
    "ArraySchema",
    "BooleanSchema",
    "CombinedSchema",
    "ConditionalSchema",
    "ConstSchema",
    "EmptySchema",
    "EnumSchema",
    "FalseSchema",
    "ModelBuilder",
    "Node",
    "NotSchema",
    "NullSchema",
    "NumberSchema",
    "ObjectSchema",
    "ReferenceSchema",
    "StringSchema",
    "TrueSchema",
    "UnresolvableReference",
    "json_key",
]

_OBJECT_KEYWORDS = frozenset(
    {
        "properties",
        "patternProperties",
        "additionalProperties",
        "required",
        "minProperties",
        "maxProperties",
        "dependencies",
        "dependentRequired",
        "dependentSchemas",
        "propertyNames",
        "unevaluatedProperties",
    }
)
_ARRAY_KEYWORDS = frozenset(
    {
        "items",
        "prefixItems",
        "additionalItems",
        "minItems",
        "maxItems",
        "uniqueItems",
        "contains",
        "minContains",
        "maxContains",
        "unevaluatedItems",
    }
)
_NUMBER_KEYWORDS = frozenset(
    {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}
)
_STRING_KEYWORDS = frozenset({"minLength", "maxLength", "pattern", "format"})
_MODERN_DRAFTS = frozenset({"draft2019-09", "draft2020-12"})


class UnresolvableReference(Exception):
    """A ``$ref`` points at nothing in the schema or its references."""


def json_key(value: Any) -> str:
    """A string identifying a JSON value (``1`` and ``1.0`` differ, as in Jackson)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclasses.dataclass(eq=False)
class Node:
    """One schema node; identity (not value) equality, so recursion can be tracked by pair."""

    raw: Any
    """The JSON this node was loaded from (the relevant keywords for synthetic members)."""
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)
    """``$id``, ``title``, ``description``, ``default`` when present on the source schema."""

    @property
    def has_default(self) -> bool:
        return "default" in self.meta

    def key(self) -> str:
        """Value identity used to collapse duplicate subschemas of a combined schema."""
        return type(self).__name__ + json_key(self.raw)


@dataclasses.dataclass(eq=False)
class EmptySchema(Node):
    """``{}``: every instance is valid."""


@dataclasses.dataclass(eq=False)
class TrueSchema(EmptySchema):
    """``true``: every instance is valid."""


@dataclasses.dataclass(eq=False)
class FalseSchema(Node):
    """``false``: no instance is valid."""


@dataclasses.dataclass(eq=False)
class BooleanSchema(Node):
    pass


@dataclasses.dataclass(eq=False)
class NullSchema(Node):
    pass


@dataclasses.dataclass(eq=False)
class StringSchema(Node):
    min_length: int | None = None
    max_length: int | None = None
    pattern: str | None = None


@dataclasses.dataclass(eq=False)
class NumberSchema(Node):
    requires_integer: bool = False
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    multiple_of: float | None = None


@dataclasses.dataclass(eq=False)
class EnumSchema(Node):
    values: list[Any] = dataclasses.field(default_factory=list)

    def value_keys(self) -> set[str]:
        return {json_key(value) for value in self.values}


@dataclasses.dataclass(eq=False)
class ConstSchema(Node):
    value: Any = None


@dataclasses.dataclass(eq=False)
class CombinedSchema(Node):
    criterion: str = "allOf"
    """``allOf``, ``anyOf`` or ``oneOf``."""
    subschemas: list[Node] = dataclasses.field(default_factory=list)


@dataclasses.dataclass(eq=False)
class NotSchema(Node):
    must_not_match: Node | None = None


@dataclasses.dataclass(eq=False)
class ConditionalSchema(Node):
    """``if``/``then``/``else``; Confluent compares only its annotations."""


@dataclasses.dataclass(eq=False)
class ObjectSchema(Node):
    properties: dict[str, Node] = dataclasses.field(default_factory=dict)
    required: list[str] = dataclasses.field(default_factory=list)
    permits_additional: bool = True
    additional_schema: Node | None = None
    pattern_properties: dict[str, Node] = dataclasses.field(default_factory=dict)
    property_dependencies: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    schema_dependencies: dict[str, Node] = dataclasses.field(default_factory=dict)
    min_properties: int | None = None
    max_properties: int | None = None
    unevaluated: Node | None = None


@dataclasses.dataclass(eq=False)
class ArraySchema(Node):
    all_items: Node | None = None
    item_schemas: list[Node] | None = None
    permits_additional_items: bool = True
    additional_items_schema: Node | None = None
    min_items: int | None = None
    max_items: int | None = None
    unique_items: bool = False
    min_contains: int | None = None
    max_contains: int | None = None
    unevaluated_items: Node | None = None


@dataclasses.dataclass(eq=False)
class ReferenceSchema(Node):
    ref: str = ""
    resolve: Callable[[], Node] | None = None

    def target(self) -> Node:
        assert self.resolve is not None
        return self.resolve()


_Resolver = Any  # referencing.Resolver (not exported by the package)


class ModelBuilder:
    """Loads JSON Schema documents into ``Node`` trees for one dialect and registry."""

    def __init__(self, dialect: str) -> None:
        self._dialect = dialect
        self._targets: dict[str, Node] = {}
        self._references: list[ReferenceSchema] = []

    @property
    def _modern(self) -> bool:
        return self._dialect in _MODERN_DRAFTS

    def build(self, schema: Any, resolver: _Resolver) -> Node:
        """Load ``schema``; every ``$ref`` in it is resolved (raising ``UnresolvableReference``)."""
        root = self._load(schema, resolver)
        self._targets[str(id(schema))] = root  # "$ref": "#" is the root node itself
        self.resolve_all()
        return root

    def resolve_all(self) -> None:
        """Resolve every reference met so far, and the references inside their targets."""
        index = 0
        while index < len(self._references):
            self._references[index].target()
            index += 1

    # -- loading -----------------------------------------------------------------

    def _load(self, schema: Any, resolver: _Resolver) -> Node:
        if schema is True:
            return TrueSchema(raw=True)
        if schema is False:
            return FalseSchema(raw=False)
        if not isinstance(schema, dict):
            return EmptySchema(raw=schema)
        resolver = self._enter_resource(schema, resolver)
        meta = {
            key: schema[key]
            for key in ("$id", "id", "title", "description", "default")
            if key in schema
        }
        members = self._members(schema, resolver)
        if not members:
            node: Node = EmptySchema(raw=schema)
        elif len(members) == 1:
            node = members[0]
        else:
            node = CombinedSchema(raw=schema, criterion="allOf", subschemas=members)
        node.meta = meta
        return node

    def _enter_resource(self, schema: dict[str, Any], resolver: _Resolver) -> _Resolver:
        id_keyword = "id" if self._dialect == "draft4" else "$id"
        schema_id = schema.get(id_keyword)
        if isinstance(schema_id, str) and not schema_id.startswith("#"):
            resource = referencing.Resource.from_contents(
                schema, default_specification=_specification(self._dialect)
            )
            return resolver.in_subresource(resource)
        return resolver

    def _members(self, schema: dict[str, Any], resolver: _Resolver) -> list[Node]:
        if "$ref" in schema and isinstance(schema["$ref"], str):
            reference = self._reference(schema["$ref"], schema, resolver)
            if not self._modern:
                return [reference]  # draft 4-7: keywords beside $ref are ignored
            rest = {key: value for key, value in schema.items() if key != "$ref"}
            return [reference, *self._members(rest, resolver)]
        members: list[Node] = []
        if "enum" in schema and isinstance(schema["enum"], list):
            members.append(EnumSchema(raw={"enum": schema["enum"]}, values=list(schema["enum"])))
        for criterion in ("allOf", "anyOf", "oneOf"):
            if isinstance(schema.get(criterion), list):
                members.append(
                    CombinedSchema(
                        raw={criterion: schema[criterion]},
                        criterion=criterion,
                        subschemas=[self._load(sub, resolver) for sub in schema[criterion]],
                    )
                )
        if "not" in schema:
            members.append(
                NotSchema(
                    raw={"not": schema["not"]}, must_not_match=self._load(schema["not"], resolver)
                )
            )
        if "const" in schema:
            members.append(ConstSchema(raw={"const": schema["const"]}, value=schema["const"]))
        members.extend(self._typed(schema, resolver))
        if "if" in schema:
            members.append(
                ConditionalSchema(
                    raw={key: schema[key] for key in ("if", "then", "else") if key in schema}
                )
            )
        return members

    def _typed(self, schema: dict[str, Any], resolver: _Resolver) -> list[Node]:
        declared = schema.get("type")
        if isinstance(declared, str):
            return [self._typed_node(declared, schema, resolver, explicit=True)]
        if isinstance(declared, list):
            subschemas = [
                self._typed_node(name, {**schema, "type": name}, resolver, explicit=True)
                for name in declared
                if isinstance(name, str)
            ]
            return [
                CombinedSchema(raw={"type": declared}, criterion="anyOf", subschemas=subschemas)
            ]
        implied: list[Node] = []
        keys = schema.keys()
        for name, keywords in (
            ("object", _OBJECT_KEYWORDS),
            ("array", _ARRAY_KEYWORDS),
            ("number", _NUMBER_KEYWORDS),
            ("string", _STRING_KEYWORDS),
        ):
            if keywords & keys:
                implied.append(self._typed_node(name, schema, resolver, explicit=False))
        return implied

    def _typed_node(
        self, type_name: str, schema: dict[str, Any], resolver: _Resolver, *, explicit: bool
    ) -> Node:
        raw = {key: value for key, value in schema.items() if key in _keywords_for(type_name)}
        if explicit:
            raw["type"] = type_name
        if type_name == "string":
            return StringSchema(
                raw=raw,
                min_length=_int(schema.get("minLength")),
                max_length=_int(schema.get("maxLength")),
                pattern=schema.get("pattern") if isinstance(schema.get("pattern"), str) else None,
            )
        if type_name in ("number", "integer"):
            return self._number(schema, raw, requires_integer=type_name == "integer")
        if type_name == "boolean":
            return BooleanSchema(raw=raw)
        if type_name == "null":
            return NullSchema(raw=raw)
        if type_name == "object":
            return self._object(schema, raw, resolver)
        if type_name == "array":
            return self._array(schema, raw, resolver)
        return EmptySchema(raw=raw)

    def _number(self, schema: dict[str, Any], raw: Any, *, requires_integer: bool) -> NumberSchema:
        exclusive_minimum = schema.get("exclusiveMinimum")
        exclusive_maximum = schema.get("exclusiveMaximum")
        return NumberSchema(
            raw=raw,
            requires_integer=requires_integer,
            minimum=_number(schema.get("minimum")),
            maximum=_number(schema.get("maximum")),
            # draft 4's boolean form only flags minimum/maximum as exclusive
            exclusive_minimum=_number(exclusive_minimum),
            exclusive_maximum=_number(exclusive_maximum),
            multiple_of=_number(schema.get("multipleOf")),
        )

    def _object(self, schema: dict[str, Any], raw: Any, resolver: _Resolver) -> ObjectSchema:
        properties = schema.get("properties")
        pattern_properties = schema.get("patternProperties")
        additional = schema.get("additionalProperties", True)
        node = ObjectSchema(
            raw=raw,
            properties={
                name: self._load(sub, resolver)
                for name, sub in (properties.items() if isinstance(properties, dict) else ())
            },
            required=[name for name in schema.get("required", ()) if isinstance(name, str)]
            if isinstance(schema.get("required"), list)
            else [],
            permits_additional=additional is not False,
            additional_schema=None
            if isinstance(additional, bool)
            else self._load(additional, resolver),
            pattern_properties={
                pattern: self._load(sub, resolver)
                for pattern, sub in (
                    pattern_properties.items() if isinstance(pattern_properties, dict) else ()
                )
            },
            min_properties=_int(schema.get("minProperties")),
            max_properties=_int(schema.get("maxProperties")),
        )
        dependency_sources = [schema.get("dependencies"), schema.get("dependentRequired")]
        for source in dependency_sources:
            for name, value in source.items() if isinstance(source, dict) else ():
                if isinstance(value, list):
                    node.property_dependencies[name] = [v for v in value if isinstance(v, str)]
                else:
                    node.schema_dependencies[name] = self._load(value, resolver)
        dependent_schemas = schema.get("dependentSchemas")
        for name, value in dependent_schemas.items() if isinstance(dependent_schemas, dict) else ():
            node.schema_dependencies[name] = self._load(value, resolver)
        if "unevaluatedProperties" in schema and self._modern:
            node.unevaluated = self._load(schema["unevaluatedProperties"], resolver)
        return node

    def _array(self, schema: dict[str, Any], raw: Any, resolver: _Resolver) -> ArraySchema:
        node = ArraySchema(
            raw=raw,
            min_items=_int(schema.get("minItems")),
            max_items=_int(schema.get("maxItems")),
            unique_items=schema.get("uniqueItems") is True,
            min_contains=_int(schema.get("minContains")),
            max_contains=_int(schema.get("maxContains")),
        )
        items = schema.get("items")
        prefix_items = schema.get("prefixItems")
        if self._dialect == "draft2020-12" and isinstance(prefix_items, list):
            node.item_schemas = [self._load(sub, resolver) for sub in prefix_items]
            self._additional_items(node, items, resolver)
        else:
            if isinstance(items, list):
                node.item_schemas = [self._load(sub, resolver) for sub in items]
            elif items is not None:
                node.all_items = self._load(items, resolver)
            self._additional_items(node, schema.get("additionalItems"), resolver)
        if "unevaluatedItems" in schema and self._modern:
            node.unevaluated_items = self._load(schema["unevaluatedItems"], resolver)
        return node

    def _additional_items(self, node: ArraySchema, value: Any, resolver: _Resolver) -> None:
        if value is None or value is True:
            return
        if value is False:
            node.permits_additional_items = False
        else:
            node.additional_items_schema = self._load(value, resolver)

    def _reference(self, ref: str, schema: dict[str, Any], resolver: _Resolver) -> ReferenceSchema:
        node = ReferenceSchema(raw={"$ref": ref}, ref=ref)
        cache_key: list[str] = []

        def resolve() -> Node:
            if cache_key:
                return self._targets[cache_key[0]]
            try:
                resolved = resolver.lookup(ref)
            except referencing.exceptions.Unresolvable as error:
                raise UnresolvableReference(f"Cannot resolve $ref {ref!r}: {error}") from None
            key = f"{id(resolved.contents)}"
            cache_key.append(key)
            if key not in self._targets:
                # references inside the target are lazy, so loading it cannot loop
                self._targets[key] = self._load(resolved.contents, resolved.resolver)
            return self._targets[key]

        node.resolve = resolve
        self._references.append(node)
        return node


def _keywords_for(type_name: str) -> frozenset[str]:
    return {
        "object": _OBJECT_KEYWORDS,
        "array": _ARRAY_KEYWORDS,
        "number": _NUMBER_KEYWORDS,
        "integer": _NUMBER_KEYWORDS,
        "string": _STRING_KEYWORDS,
    }.get(type_name, frozenset())


def _specification(dialect: str) -> referencing.Specification[Any]:
    return {
        "draft4": referencing.jsonschema.DRAFT4,
        "draft6": referencing.jsonschema.DRAFT6,
        "draft7": referencing.jsonschema.DRAFT7,
        "draft2019-09": referencing.jsonschema.DRAFT201909,
        "draft2020-12": referencing.jsonschema.DRAFT202012,
    }.get(dialect, referencing.jsonschema.DRAFT7)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return value
