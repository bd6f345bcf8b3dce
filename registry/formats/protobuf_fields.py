"""The fields of a Protobuf schema, nested, with their comments and ``confluent.field_meta``.

``walk_fields(schema)`` lists every field reachable from the schema's first
message (the one Confluent's serializers and subject name strategies name the
schema after; ``message=`` picks another): through nested and referenced
message types, repeated fields, map values and oneofs, with a dotted path
(``customer.email``; repeated fields and maps add no segment of their own, as
for Avro arrays in the catalog). Each field carries its leading comment,
Confluent's ``(confluent.field_meta)`` doc, tags and params, and the type name
Confluent's rule executors use (``STRING``, ``INT``, ``RECORD``, ...).
Recursive types stop where they repeat. The catalog and ``CEL_FIELD`` rules
read schemas through this one walk.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool

from registry.formats.protobuf_link import Linked
from registry.formats.protobuf_options import with_extensions

__all__ = [
    "FieldIndex",
    "MessageInfo",
    "ProtoField",
    "first_message",
    "message_info",
    "walk_fields",
]

MAX_DEPTH = 12
FD = descriptor_pb2.FieldDescriptorProto

_KINDS = {
    FD.TYPE_STRING: "STRING",
    FD.TYPE_BYTES: "BYTES",
    FD.TYPE_BOOL: "BOOLEAN",
    FD.TYPE_FLOAT: "FLOAT",
    FD.TYPE_DOUBLE: "DOUBLE",
    FD.TYPE_ENUM: "ENUM",
    FD.TYPE_MESSAGE: "RECORD",
    FD.TYPE_GROUP: "RECORD",
    **{t: "INT" for t in (FD.TYPE_INT32, FD.TYPE_SINT32, FD.TYPE_SFIXED32)},
    **{t: "INT" for t in (FD.TYPE_UINT32, FD.TYPE_FIXED32)},
    **{t: "LONG" for t in (FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64)},
    **{t: "LONG" for t in (FD.TYPE_UINT64, FD.TYPE_FIXED64)},
}
_SCALAR_NAMES = {
    value: name.removeprefix("TYPE_").lower()
    for name, value in FD.Type.items()
    if value not in (FD.TYPE_MESSAGE, FD.TYPE_GROUP, FD.TYPE_ENUM)
}
_PRIMITIVE_KINDS = frozenset(_KINDS.values()) - {"RECORD"}


@dataclasses.dataclass(frozen=True)
class ProtoField:
    """One field reachable from the walked message."""

    path: tuple[str, ...]  # field names from the walked message down to this one
    name: str
    full_name: str  # "<containing message full name>.<field name>", as Confluent names it
    type_label: str  # "string", "repeated acme.Line", "map<string, int32>"
    kind: str  # Confluent's field type: STRING, INT, LONG, ..., ENUM, RECORD, ARRAY, MAP
    description: str
    tags: tuple[str, ...]
    params: tuple[tuple[str, str], ...]
    singular: bool  # neither it nor a field on its path is repeated or a map

    @property
    def primitive(self) -> bool:
        return self.kind in _PRIMITIVE_KINDS


@dataclasses.dataclass(frozen=True)
class MessageInfo:
    full_name: str
    description: str
    tags: tuple[str, ...]


@dataclasses.dataclass(frozen=True)
class _Message:
    proto: descriptor_pb2.DescriptorProto
    comments: Mapping[tuple[int, ...], str]
    path: tuple[int, ...]


class FieldIndex:
    """Every message of the schema and its imports, by full name, with the file's comments."""

    def __init__(self, linked: Linked, pool: descriptor_pool.DescriptorPool) -> None:
        self.pool = pool
        self.messages: dict[str, _Message] = {}
        self.first: str | None = None
        for file in [linked, *linked.closure()]:
            comments = {
                tuple(location.path): location.leading_comments.strip()
                for location in file.file.source_code_info.location
                if location.leading_comments.strip()
            }
            prefix = f"{file.file.package}." if file.file.package else ""
            for index, message in enumerate(file.file.message_type):
                self._add(message, prefix, comments, (4, index))
            if file is linked and file.file.message_type:
                self.first = prefix + file.file.message_type[0].name
        try:
            self.field_meta: Any = pool.FindExtensionByName("confluent.field_meta")
            self.message_meta: Any = pool.FindExtensionByName("confluent.message_meta")
        except KeyError:
            self.field_meta = self.message_meta = None

    def _add(
        self,
        message: Any,
        prefix: str,
        comments: Mapping[tuple[int, ...], str],
        path: tuple[int, ...],
    ) -> None:
        full_name = prefix + message.name
        self.messages[full_name] = _Message(message, comments, path)
        for index, nested in enumerate(message.nested_type):
            self._add(nested, full_name + ".", comments, (*path, 3, index))

    def meta(
        self, options: Any, extension: Any
    ) -> tuple[str, tuple[str, ...], tuple[tuple[str, str], ...]]:
        """``(doc, tags, params)`` of a ``confluent.*_meta`` option (empty when absent)."""
        if extension is None or not options.ByteSize():
            return "", (), ()
        rich = with_extensions(options, self.pool)
        try:
            if not rich.HasExtension(extension):
                return "", (), ()
            meta = rich.Extensions[extension]
        except (KeyError, TypeError):
            return "", (), ()
        return meta.doc, tuple(meta.tags), tuple(sorted(meta.params.items()))


def _index(schema: Any) -> FieldIndex:
    """The index of a ``ProtobufSchema`` (built once and kept on it: schemas are immutable)."""
    return schema.field_index  # type: ignore[no-any-return]


def first_message(schema: Any) -> str | None:
    """The full name of the schema's first top-level message."""
    return _index(schema).first


def file_messages(schema: Any) -> list[str]:
    """Full names of the messages the schema's own file declares (nested ones too, map
    entries not): every message a record's index array can name."""
    index = _index(schema)
    prefix = f"{schema.linked.file.package}." if schema.linked.file.package else ""
    names: list[str] = []

    def visit(message: Any, scope: str) -> None:
        if message.options.map_entry:
            return
        names.append(scope + message.name)
        for nested in message.nested_type:
            visit(nested, f"{scope}{message.name}.")

    for message in schema.linked.file.message_type:
        visit(message, prefix)
    return [name for name in names if name in index.messages]


def message_info(schema: Any, full_name: str | None = None) -> MessageInfo | None:
    """A message's leading comment (or ``message_meta`` doc) and ``message_meta`` tags."""
    index = _index(schema)
    name = full_name or index.first
    found = index.messages.get(name or "")
    if found is None or name is None:
        return None
    doc, tags, _ = index.meta(found.proto.options, index.message_meta)
    return MessageInfo(name, found.comments.get(found.path, "") or doc, tags)


def walk_fields(schema: Any, message: str | None = None) -> Iterator[ProtoField]:
    """Every field reachable from ``message`` (default: the first message), depth first."""
    index = _index(schema)
    root = message or index.first
    if root is None or root not in index.messages:
        return
    yield from _walk(index, root, (), (root,), True)


def _walk(
    index: FieldIndex, name: str, path: tuple[str, ...], seen: tuple[str, ...], singular: bool
) -> Iterator[ProtoField]:
    message = index.messages[name]
    entries = {nested.name: nested for nested in message.proto.nested_type}
    for position, field in enumerate(message.proto.field):
        field_path = (*path, field.name)
        target = field.type_name.lstrip(".")
        entry = _map_entry(field, entries, name)
        doc, tags, params = index.meta(field.options, index.field_meta)
        comment = message.comments.get((*message.path, 2, position), "")
        if entry is not None:
            key, value = entry.field
            kind, label = "MAP", f"map<{_label(key)}, {_label(value)}>"
            target = (
                value.type_name.lstrip(".")
                if value.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP)
                else ""
            )
        elif field.label == FD.LABEL_REPEATED:
            kind, label = "ARRAY", f"repeated {_label(field)}"
        else:
            kind, label = _KINDS.get(field.type, "RECORD"), _label(field)
            if field.type not in (FD.TYPE_MESSAGE, FD.TYPE_GROUP):
                target = ""
        field_singular = singular and kind not in ("MAP", "ARRAY")
        yield ProtoField(
            field_path,
            field.name,
            f"{name}.{field.name}",
            label,
            kind,
            comment or doc,
            tags,
            params,
            field_singular,
        )
        if target and target in index.messages and target not in seen and len(seen) < MAX_DEPTH:
            yield from _walk(index, target, field_path, (*seen, target), field_singular)


def _map_entry(field: Any, entries: Mapping[str, Any], owner: str) -> Any:
    if field.label != FD.LABEL_REPEATED or field.type != FD.TYPE_MESSAGE:
        return None
    entry = entries.get(field.type_name.lstrip(".").removeprefix(owner + "."))
    return entry if entry is not None and entry.options.map_entry else None


def _label(field: Any) -> str:
    if field.type in (FD.TYPE_MESSAGE, FD.TYPE_GROUP, FD.TYPE_ENUM):
        return field.type_name.lstrip(".")
    return _SCALAR_NAMES.get(field.type, "unknown")
