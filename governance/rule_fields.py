"""Where a CEL_FIELD rule runs: every primitive value of the fields whose tags meet its tags.

As Confluent's ``FieldRuleExecutor`` walks a message, a field's value is
followed through arrays (each element), maps (each value), unions (the branch
the value takes) and nested records (whose own fields have their own names and
tags); the rule runs once per primitive value it reaches, with

- ``value``: that value (an array element, a map value, the field itself);
- ``name`` / ``fullName``: the field's name and ``<record full name>.<field>``
  (Avro) or ``$.<path>`` (JSON Schema, as Confluent names it);
- ``typeName``: the value's type: ``STRING``, ``INT``, ``LONG``, ``FLOAT``,
  ``DOUBLE``, ``BOOLEAN``, ``BYTES``, ``NULL`` (JSON: ``STRING``, ``INT``,
  ``DOUBLE``, ``BOOLEAN``);
- ``tags``: the field's tags (``confluent:tags`` plus matching ``metadata.tags``);
- ``message``: the record that contains the field (the nested one for a nested field).

Enums and fixed values are not primitive for Confluent's executor and are not
checked; an Avro null (a union's null branch) is, with ``typeName == 'NULL'``;
a JSON null or absent property is not. JSON Schema is walked through
``properties``, ``items``, ``additionalProperties`` (maps: Charter's addition),
type lists, ``allOf``/``anyOf``/``oneOf`` and local ``$ref``s.

``compile_field_walk`` builds the walk once per (schema, rule tags), keeping only
the branches that lead to a checked value, so records without one cost nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from google.protobuf.descriptor_pb2 import FieldDescriptorProto as FD

from governance.rule_walk import (
    ArrayNode,
    FieldNode,
    FieldValue,
    FieldWalk,
    Leaf,
    MapNode,
    Node,
    RecordNode,
    Union,
    field_tags,
    prune,
)
from registry.formats.protobuf_fields import file_messages

__all__ = ["FieldValue", "FieldWalk", "compile_field_walk", "field_tags"]

_AVRO_PRIMITIVES = {
    "null": "NULL",
    "boolean": "BOOLEAN",
    "int": "INT",
    "long": "LONG",
    "float": "FLOAT",
    "double": "DOUBLE",
    "bytes": "BYTES",
    "string": "STRING",
}
_JSON_PRIMITIVES = {"string": "STRING", "integer": "INT", "number": "DOUBLE", "boolean": "BOOLEAN"}


# -- compiling ------------------------------------------------------------------------------------


def compile_field_walk(
    schema_type: str,
    schema: Any,
    metadata: Mapping[str, Any] | None,
    rule_tags: Sequence[str],
) -> FieldWalk:
    """The walk of ``schema`` (its parsed JSON) for a rule with ``rule_tags`` (none: every field)."""
    wanted = frozenset(rule_tags)

    def checked(tags: tuple[str, ...]) -> bool:
        return not wanted or not wanted.isdisjoint(tags)

    if schema_type.upper() == "JSON":
        root = _JsonBuilder(schema, metadata, checked).node(schema, "$", "")
        return FieldWalk(prune(root))
    if schema_type.upper() == "AVRO":
        root = _AvroBuilder(metadata, checked).node(schema, None)
        return FieldWalk(prune(root))
    if schema_type.upper() == "PROTOBUF" and schema is not None:
        return FieldWalk(prune(_protobuf_root(schema, metadata, checked)))
    return FieldWalk(None)


class _AvroBuilder:
    def __init__(
        self, metadata: Mapping[str, Any] | None, checked: Callable[[tuple[str, ...]], bool]
    ) -> None:
        self.metadata = metadata
        self.checked = checked
        self.named: dict[str, Node | None] = {}

    def node(self, schema: Any, namespace: str | None) -> Node | None:
        if isinstance(schema, str):
            if schema in _AVRO_PRIMITIVES:
                return Leaf(_AVRO_PRIMITIVES[schema])
            return self._named(schema, namespace)
        if isinstance(schema, list):
            branches = []
            for branch in schema:
                node = self.node(branch, namespace)
                if node is not None:
                    branches.append((_avro_accepts(branch, node), node))
                else:  # an enum or fixed branch: its values stop here, unchecked
                    branches.append((_avro_accepts(branch, None), Union([])))
            return Union(branches)
        if not isinstance(schema, Mapping):
            return None
        kind = schema.get("type")
        if kind in _AVRO_PRIMITIVES:
            return Leaf(_AVRO_PRIMITIVES[str(kind)])
        if kind == "array":
            items = self.node(schema.get("items"), namespace)
            return ArrayNode(items) if items is not None else None
        if kind == "map":
            values = self.node(schema.get("values"), namespace)
            return MapNode(values) if values is not None else None
        if kind == "record":
            return self._record(schema, namespace)
        if kind in ("enum", "fixed"):
            self.named[_full_name(schema, namespace)] = None
            return None
        if isinstance(kind, (list, Mapping)):
            return self.node(kind, namespace)
        return None

    def _named(self, name: str, namespace: str | None) -> Node | None:
        for candidate in (f"{namespace}.{name}" if namespace and "." not in name else name, name):
            if candidate in self.named:
                return self.named[candidate]
        return None  # defined in a referenced schema: not walked

    def _record(self, schema: Mapping[str, Any], namespace: str | None) -> RecordNode:
        full = _full_name(schema, namespace)
        record = RecordNode()
        self.named[full] = record  # before its fields: a recursive record refers to itself
        inner_namespace = full.rpartition(".")[0] or None
        for raw in schema.get("fields") or ():
            if not isinstance(raw, Mapping):
                continue
            key = str(raw.get("name"))
            full_name = f"{full}.{key}"
            tags = field_tags(full_name, raw.get("confluent:tags") or (), self.metadata)
            field = FieldNode(key, full_name, tags, self.checked(tags))
            field.node = self.node(raw.get("type"), inner_namespace)
            record.fields.append(field)
            record.keys.add(key)
        return record


def _full_name(schema: Mapping[str, Any], namespace: str | None) -> str:
    name = str(schema.get("name", ""))
    if "." in name:
        return name
    namespace = schema.get("namespace", namespace)
    return f"{namespace}.{name}" if namespace else name


def _avro_accepts(branch: Any, node: Node | None) -> Callable[[Any], bool]:
    """Which decoded values belong to a union branch (fastavro gives plain values)."""
    kind = branch.get("type") if isinstance(branch, Mapping) else branch
    if kind == "null":
        return lambda value: value is None
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind in ("int", "long"):
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if kind in ("float", "double"):
        return lambda value: isinstance(value, float)
    if kind in ("string", "enum"):
        return lambda value: isinstance(value, str)
    if kind in ("bytes", "fixed"):
        return lambda value: isinstance(value, bytes)
    if kind == "array":
        return lambda value: isinstance(value, list)
    if kind == "map":
        return lambda value: isinstance(value, Mapping)
    if isinstance(node, RecordNode):
        keys = node.keys  # filled as the record's fields are built (it may contain itself)
        return lambda value: isinstance(value, Mapping) and value.keys() <= keys
    return lambda value: False


class _JsonBuilder:
    def __init__(
        self,
        document: Any,
        metadata: Mapping[str, Any] | None,
        checked: Callable[[tuple[str, ...]], bool],
    ) -> None:
        self.document = document
        self.metadata = metadata
        self.checked = checked
        self.title = str(document.get("title", "")) if isinstance(document, Mapping) else ""
        self.resolving: set[str] = set()

    def node(self, schema: Any, path: str, legacy: str) -> Node | None:
        """``path`` is Confluent's ``$.a.b``; ``legacy`` Charter's ``Title.a.b`` (metadata tags)."""
        if not isinstance(schema, Mapping):
            return None
        ref = schema.get("$ref")
        if isinstance(ref, str):
            if ref in self.resolving:
                return None  # a recursive definition: values below it are not walked
            target = self._resolve(ref)
            self.resolving.add(ref)
            try:
                return self.node(target, path, legacy)
            finally:
                self.resolving.discard(ref)
        every: list[tuple[Callable[[Any], bool], Node]] = []
        for sub in schema.get("allOf") or ():
            node = self.node(sub, path, legacy)
            if node is not None:
                every.append((accepts_any, node))
        for keyword in ("anyOf", "oneOf"):
            choices = []
            for sub in schema.get(keyword) or ():
                node = self.node(sub, path, legacy)
                if node is not None:
                    kind = sub.get("type") if isinstance(sub, Mapping) else None
                    choices.append(
                        (_json_accepts(kind) if isinstance(kind, str) else accepts_any, node)
                    )
            if choices:
                every.append((accepts_any, Union(choices)))
        if every:
            own = self._typed(schema, path, legacy)
            if own is not None:
                every.append((accepts_any, own))
            return Union(every, every=True)
        return self._typed(schema, path, legacy)

    def _typed(self, schema: Mapping[str, Any], path: str, legacy: str) -> Node | None:
        if "enum" in schema or "const" in schema:
            return None  # Confluent's ENUM: not checked
        kind = schema.get("type")
        if isinstance(kind, list):
            branches = []
            for one in kind:
                node = self._typed({**schema, "type": one}, path, legacy)
                if node is not None:
                    branches.append((_json_accepts(one), node))
            return Union(branches) if branches else None
        if kind in _JSON_PRIMITIVES:
            return Leaf(_JSON_PRIMITIVES[str(kind)])
        if kind == "array" or (kind is None and "items" in schema):
            items = self.node(schema.get("items"), path, legacy)
            return ArrayNode(items) if items is not None else None
        properties = schema.get("properties")
        if kind == "object" or isinstance(properties, Mapping):
            return self._object(schema, path, legacy)
        return None

    def _object(self, schema: Mapping[str, Any], path: str, legacy: str) -> Node | None:
        properties = schema.get("properties")
        record = RecordNode()
        for prop, sub in (properties if isinstance(properties, Mapping) else {}).items():
            if not isinstance(sub, Mapping):
                continue
            full_name = f"{path}.{prop}"
            parent = legacy or self.title
            legacy_name = f"{parent}.{prop}" if parent else str(prop)
            tags = field_tags(
                (full_name, legacy_name), sub.get("confluent:tags") or (), self.metadata
            )
            field = FieldNode(str(prop), full_name, tags, self.checked(tags))
            field.node = self.node(sub, full_name, legacy_name)
            record.fields.append(field)
        extra = schema.get("additionalProperties")
        if isinstance(extra, Mapping) and not record.fields:
            values = self.node(extra, path, legacy)
            return MapNode(values) if values is not None else None
        return record

    def _resolve(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return None  # another document (a schema reference): not walked
        target: Any = self.document
        for part in ref.lstrip("#").split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(target, Mapping) or part not in target:
                return None
            target = target[part]
        return target


def _json_accepts(kind: Any) -> Callable[[Any], bool]:
    if kind == "string":
        return lambda value: isinstance(value, str)
    if kind == "integer":
        return lambda value: isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return lambda value: isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "boolean":
        return lambda value: isinstance(value, bool)
    if kind == "array":
        return lambda value: isinstance(value, list)
    if kind == "object":
        return lambda value: isinstance(value, Mapping)
    return lambda value: False


_PROTOBUF_PRIMITIVES = {
    FD.TYPE_STRING: "STRING",
    FD.TYPE_BYTES: "BYTES",
    FD.TYPE_BOOL: "BOOLEAN",
    FD.TYPE_FLOAT: "FLOAT",
    FD.TYPE_DOUBLE: "DOUBLE",
    **dict.fromkeys(
        (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32, FD.TYPE_UINT32, FD.TYPE_FIXED32), "INT"
    ),
    **dict.fromkeys(
        (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64, FD.TYPE_UINT64, FD.TYPE_FIXED64), "LONG"
    ),
}  # enums are not primitive for Confluent's executor


def _protobuf_root(
    schema: Any, metadata: Mapping[str, Any] | None, checked: Callable[[tuple[str, ...]], bool]
) -> Node | None:
    """One branch per message of the file, taken by the record whose view names it
    (``protobuf_values.MessageView.message_name``); fields through nested and imported
    messages, repeated fields (arrays) and maps; tags from ``(confluent.field_meta)``."""
    index = schema.field_index
    records: dict[str, RecordNode] = {}

    def record(name: str) -> RecordNode:
        found = records.get(name)
        if found is not None:
            return found
        node = records[name] = RecordNode()  # before its fields: recursive messages
        message = index.messages[name]
        entries = {nested.name: nested for nested in message.proto.nested_type}
        for field in message.proto.field:
            full_name = f"{name}.{field.name}"
            _, inline, _ = index.meta(field.options, index.field_meta)
            tags = field_tags(full_name, inline, metadata)
            child = FieldNode(field.name, full_name, tags, checked(tags))
            child.node = values(field, entries, name)
            node.fields.append(child)
            node.keys.add(field.name)
        return node

    def single(field: Any) -> Node | None:
        if field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
            target = field.type_name.lstrip(".")
            return record(target) if target in index.messages else None
        kind = _PROTOBUF_PRIMITIVES.get(field.type)
        return Leaf(kind) if kind is not None else None

    def values(field: Any, entries: Mapping[str, Any], owner: str) -> Node | None:
        if field.label == FD.LABEL_REPEATED:
            entry = entries.get(field.type_name.lstrip(".").removeprefix(owner + "."))
            if entry is not None and entry.options.map_entry:
                value = single(entry.field[1])
                return MapNode(value) if value is not None else None
            item = single(field)
            return ArrayNode(item) if item is not None else None
        return single(field)

    branches: list[tuple[Callable[[Any], bool], Node]] = [
        (lambda value, name=name: getattr(value, "message_name", None) == name, record(name))
        for name in file_messages(schema)
    ]
    return Union(branches) if branches else None


def accepts_any(value: Any) -> bool:  # noqa: ARG001 - a union branch that takes anything
    return True
