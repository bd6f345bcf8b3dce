"""Protobuf compatibility: the differences between an original (writer) and an update (reader), Confluent's way.

Confluent's ``SchemaDiff`` walks both files by message name and field number and
records ``Difference``s with a path like ``#/Order/3``; a difference whose type is
not in ``COMPATIBLE_CHANGES`` makes the pair incompatible. This module does the
same over linked ``FileDescriptorProto``s (every type name fully qualified), so
map fields are their entry messages and relative names need no second resolution.
The rules, with a test case each, are tabulated in ``docs/compatibility.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from google.protobuf import descriptor_pb2

from registry.formats.protobuf_link import Linked
from registry.formats.protobuf_parse import SCALARS

__all__ = ["COMPATIBLE_CHANGES", "DESCRIPTIONS", "Difference", "diff_files"]

FD = descriptor_pb2.FieldDescriptorProto
_SCALAR_NAMES = {number: name for name, number in SCALARS.items()}

COMPATIBLE_CHANGES: frozenset[str] = frozenset(
    {
        "MESSAGE_ADDED",
        "MESSAGE_MOVED",
        "ENUM_ADDED",
        "ENUM_REMOVED",
        "ENUM_CONST_ADDED",
        "ENUM_CONST_CHANGED",
        "ENUM_CONST_REMOVED",
        "FIELD_ADDED",
        "FIELD_REMOVED",
        "FIELD_NAME_CHANGED",
        "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "ONEOF_ADDED",
        "ONEOF_REMOVED",
        "ONEOF_FIELD_ADDED",
    }
)

# Confluent's Difference.error() texts; the first {} is the update's role, the second the original's.
DESCRIPTIONS: dict[str, str] = {
    "PACKAGE_CHANGED": "The package at '{path}' in the {0} schema does not match the package in the {1} schema",
    "MESSAGE_REMOVED": "The {0} schema is missing a MESSAGE type at path '{path}' in the {1} schema",
    "FIELD_KIND_CHANGED": "The type of a field at path '{path}' in the {0} schema does not match the {1} schema",
    "FIELD_SCALAR_KIND_CHANGED": "The kind of a SCALAR field at path '{path}' in the {0} schema does not match its kind in the {1} schema",
    "FIELD_NAMED_TYPE_CHANGED": "The type of a MESSAGE field at path '{path}' in the {0} schema does not match its type in the {1} schema",
    "FIELD_NUMERIC_LABEL_CHANGED": "The label for a NUMERIC field at path '{path}' in the {0} schema does not match its label in the {1} schema",
    "REQUIRED_FIELD_ADDED": "A required field  at path '{path}' in the {0} schema is missing in the {1} schema",
    "REQUIRED_FIELD_REMOVED": "The {0} schema is missing a required field at path: '{path}' in the {1} schema",
    "ONEOF_FIELD_REMOVED": "The {0} schema is missing a oneof field at path '{path}' in the {1} schema",
    "MULTIPLE_FIELDS_MOVED_TO_ONEOF": "Multiple fields in the oneof at path '{path}' in the {0} schema are outside a oneof in the {1} schema",
    "FIELD_MOVED_TO_EXISTING_ONEOF": "A field in the oneof at path '{path}' in the {0} schema is outside an existing oneof in the {1} schema",
}

# Scalar groups whose values read each other's encoding (protobuf's "Updating a message type").
_SCALAR_KINDS = {
    "int32": "GENERAL_NUMBER", "int64": "GENERAL_NUMBER", "uint32": "GENERAL_NUMBER",
    "uint64": "GENERAL_NUMBER", "bool": "GENERAL_NUMBER", "sint32": "SIGNED_NUMBER",
    "sint64": "SIGNED_NUMBER", "string": "STRING_OR_BYTES", "bytes": "STRING_OR_BYTES",
    "fixed32": "FIXED32", "sfixed32": "FIXED32", "fixed64": "FIXED64", "sfixed64": "FIXED64",
    "float": "FLOAT", "double": "DOUBLE",
}  # fmt: skip

Difference = tuple[str, str]
"""A difference type and its path (``#/Order/3``)."""


@dataclasses.dataclass(frozen=True)
class _TypeInfo:
    package: str
    reference: tuple[str, int] | None  # ("", -1) for the file's own types, None for well-known
    proto: Any  # DescriptorProto or EnumDescriptorProto
    syntax: str

    @property
    def is_map(self) -> bool:
        return (
            isinstance(self.proto, descriptor_pb2.DescriptorProto) and self.proto.options.map_entry
        )


class _Context:
    def __init__(self, original: dict[str, _TypeInfo], update: dict[str, _TypeInfo]) -> None:
        self.types = (original, update)
        self.path: list[str] = []
        self.differences: list[Difference] = []
        self.visiting: set[int] = set()

    def add(self, kind: str, *extra: str) -> None:
        self.differences.append((kind, "#/" + "/".join([*self.path, *extra])))

    def sub(self, local_name: str) -> _Context:
        context = _Context(*self.types)
        context.path = local_name.split(".")
        context.visiting = self.visiting
        return context


def diff_files(original: Linked, update: Linked) -> list[Difference]:
    """Every difference from ``original`` to ``update`` (Confluent's ``SchemaDiff.compare``)."""
    context = _Context(_collect(original), _collect(update))
    if original.file.package != update.file.package:
        context.add("PACKAGE_CHANGED")
    _compare_types(context, original.file, update.file, original.file.syntax, update.file.syntax)
    return context.differences


def _collect(linked: Linked) -> dict[str, _TypeInfo]:
    types: dict[str, _TypeInfo] = {}
    for dependency in [*linked.closure(), linked]:
        reference = ("", -1) if dependency is linked else dependency.reference
        file = dependency.file
        prefix = file.package + "." if file.package else ""
        for name, proto in _walk(prefix, file.message_type, file.enum_type):
            types[name] = _TypeInfo(file.package, reference, proto, file.syntax or "proto2")
    return types


def _walk(prefix: str, messages: Any, enums: Any) -> Iterator[tuple[str, Any]]:
    for enum in enums:
        yield prefix + enum.name, enum
    for message in messages:
        yield prefix + message.name, message
        yield from _walk(f"{prefix}{message.name}.", message.nested_type, message.enum_type)


def _compare_types(
    context: _Context, original: Any, update: Any, original_syntax: str, update_syntax: str
) -> None:
    def index(container: Any) -> tuple[dict[str, tuple[int, Any]], dict[str, Any]]:
        messages = [m for m in container_messages(container) if not m.options.map_entry]
        return {m.name: (i, m) for i, m in enumerate(messages)}, {
            e.name: e for e in container.enum_type
        }

    def container_messages(container: Any) -> Any:
        return (
            container.message_type
            if isinstance(container, descriptor_pb2.FileDescriptorProto)
            else container.nested_type
        )

    original_messages, original_enums = index(original)
    update_messages, update_enums = index(update)
    for name in sorted(original_messages.keys() | update_messages.keys()):
        context.path.append(name)
        if name not in update_messages:
            context.add("MESSAGE_REMOVED")
        elif name not in original_messages:
            context.add("MESSAGE_ADDED")
        else:
            (original_index, original_message), (update_index, update_message) = (
                original_messages[name],
                update_messages[name],
            )
            _compare_message(
                context, original_message, update_message, original_syntax, update_syntax
            )
            if original_index != update_index:
                context.add("MESSAGE_MOVED")
        context.path.pop()
    for name in sorted(original_enums.keys() | update_enums.keys()):
        context.path.append(name)
        if name not in update_enums:
            context.add("ENUM_REMOVED")
        elif name not in original_enums:
            context.add("ENUM_ADDED")
        else:
            _compare_enum(context, original_enums[name], update_enums[name])
        context.path.pop()


def _compare_enum(context: _Context, original: Any, update: Any) -> None:
    original_values = {value.number: value.name for value in original.value}
    update_values = {value.number: value.name for value in update.value}
    for number in sorted(original_values.keys() | update_values.keys()):
        if number not in update_values:
            context.add("ENUM_CONST_REMOVED", str(number))
        elif number not in original_values:
            context.add("ENUM_CONST_ADDED", str(number))
        elif original_values[number] != update_values[number]:
            context.add("ENUM_CONST_CHANGED", str(number))


def _real_oneofs(message: Any) -> dict[str, list[Any]]:
    oneofs: dict[str, list[Any]] = {}
    for index, oneof in enumerate(message.oneof_decl):
        members = [
            f
            for f in message.field
            if f.HasField("oneof_index") and f.oneof_index == index and not f.proto3_optional
        ]
        if members:
            oneofs[oneof.name] = members
    return oneofs


def _compare_message(
    context: _Context, original: Any, update: Any, original_syntax: str, update_syntax: str
) -> None:
    if id(original) in context.visiting:
        _compare_types(context, original, update, original_syntax, update_syntax)
        return
    context.visiting.add(id(original))
    try:
        original_oneofs, update_oneofs = _real_oneofs(original), _real_oneofs(update)
        in_original_oneof = {
            f.number: name for name, fields in original_oneofs.items() for f in fields
        }
        in_update_oneof = {f.number: name for name, fields in update_oneofs.items() for f in fields}
        original_plain = {f.number: f for f in original.field if f.number not in in_original_oneof}
        update_plain = {f.number: f for f in update.field if f.number not in in_update_oneof}
        original_all = {f.number: f for f in original.field}
        update_all = {f.number: f for f in update.field}
        for name, fields in update_oneofs.items():
            moved = sum(1 for f in fields if original_plain.pop(f.number, None) is not None)
            existing = sum(1 for f in fields if f.number in in_original_oneof)
            if moved > 1:
                context.add("MULTIPLE_FIELDS_MOVED_TO_ONEOF", name)
            elif moved == 1 and existing > 0:
                context.add("FIELD_MOVED_TO_EXISTING_ONEOF", name)
        for name in sorted(original_oneofs.keys() | update_oneofs.keys()):
            if name not in update_oneofs:
                context.add("ONEOF_REMOVED", name)
            elif name not in original_oneofs:
                context.add("ONEOF_ADDED", name)
            else:
                context.path.append(name)
                before = {f.number: f for f in original_oneofs[name]}
                after = {f.number: f for f in update_oneofs[name]}
                for number in sorted(before.keys() | after.keys()):
                    if number not in after:
                        if number not in update_all:
                            context.add("ONEOF_FIELD_REMOVED", str(number))
                    elif number not in before:
                        context.add("ONEOF_FIELD_ADDED", str(number))
                    else:
                        context.path.append(str(number))
                        _compare_field(
                            context, before[number], after[number], original_syntax, update_syntax
                        )
                        context.path.pop()
                context.path.pop()
        for number in sorted(original_plain.keys() | update_plain.keys()):
            context.path.append(str(number))
            before, after = original_plain.get(number), update_plain.get(number)
            if after is None:
                context.add(
                    "REQUIRED_FIELD_REMOVED"
                    if before.label == FD.LABEL_REQUIRED
                    else "FIELD_REMOVED"
                )
            elif before is None:
                context.add(
                    "REQUIRED_FIELD_ADDED" if after.label == FD.LABEL_REQUIRED else "FIELD_ADDED"
                )
            else:
                _compare_field(context, before, after, original_syntax, update_syntax)
            context.path.pop()
        for number in sorted(original_all.keys() & update_all.keys()):
            before_oneof, after_oneof = in_original_oneof.get(number), in_update_oneof.get(number)
            if (before_oneof is None and after_oneof is None) or (
                before_oneof is not None and before_oneof == after_oneof
            ):
                continue
            context.path.append(str(number))
            _compare_field(
                context, original_all[number], update_all[number], original_syntax, update_syntax
            )
            context.path.pop()
    finally:
        context.visiting.discard(id(original))
    _compare_types(context, original, update, original_syntax, update_syntax)


def _label(field: Any, syntax: str) -> str | None:
    """Wire's ``Field.Label`` of a field as Confluent reads it (``None`` when no label was written)."""
    if field.label == FD.LABEL_REPEATED:
        return "REPEATED"
    if field.HasField("oneof_index") and not field.proto3_optional:
        return "ONE_OF"
    if field.label == FD.LABEL_REQUIRED:
        return "REQUIRED"
    if syntax in ("proto3", "editions"):
        return "OPTIONAL" if field.proto3_optional else None
    return "OPTIONAL"


def _compare_field(
    context: _Context, original: Any, update: Any, original_syntax: str, update_syntax: str
) -> None:
    if original.name != update.name:
        context.add("FIELD_NAME_CHANGED")
    _compare_types_of(
        context, _label(original, original_syntax), _label(update, update_syntax), original, update
    )


def _kind(context: _Context, field: Any, side: int) -> tuple[str, _TypeInfo | None]:
    if field.type in _SCALAR_NAMES:
        return "SCALAR", None
    info = context.types[side].get(field.type_name.lstrip("."))
    if info is None:
        return "MESSAGE", None
    if isinstance(info.proto, descriptor_pb2.EnumDescriptorProto):
        return "SCALAR", info
    return ("MAP" if info.is_map else "MESSAGE"), info


def _scalar_kind(field: Any, info: _TypeInfo | None) -> str:
    return "GENERAL_NUMBER" if info is not None else _SCALAR_KINDS[_SCALAR_NAMES[field.type]]


def _compare_types_of(
    context: _Context,
    original_label: str | None,
    update_label: str | None,
    original: Any,
    update: Any,
) -> None:
    original_kind, original_info = _kind(context, original, 0)
    update_kind, update_info = _kind(context, update, 1)
    if original_kind != update_kind:
        context.add("FIELD_KIND_CHANGED")
    elif original_kind == "SCALAR":
        before, after = _scalar_kind(original, original_info), _scalar_kind(update, update_info)
        if before != after:
            context.add("FIELD_SCALAR_KIND_CHANGED")
        elif (
            original_label is not None
            and update_label is not None
            and original_label != update_label
        ):
            context.add(
                "FIELD_STRING_OR_BYTES_LABEL_CHANGED"
                if before == "STRING_OR_BYTES"
                else "FIELD_NUMERIC_LABEL_CHANGED"
            )
    elif original_kind == "MAP":
        assert original_info is not None and update_info is not None
        for index in (0, 1):
            _compare_types_of(
                context,
                None,
                None,
                original_info.proto.field[index],
                update_info.proto.field[index],
            )
    else:
        _compare_message_types(context, original, update, original_info, update_info)


def _compare_message_types(
    context: _Context,
    original: Any,
    update: Any,
    original_info: _TypeInfo | None,
    update_info: _TypeInfo | None,
) -> None:
    if original_info is None or update_info is None:
        if original.type_name != update.type_name:
            context.add("FIELD_NAMED_TYPE_CHANGED")
        return
    original_local = _local(original.type_name, original_info.package)
    update_local = _local(update.type_name, update_info.package)
    if original_local != update_local:
        context.add("FIELD_NAMED_TYPE_CHANGED")
        return
    references = (original_info.reference, update_info.reference)
    if None not in references and references[0] == references[1]:
        return
    sub = context.sub(original_local)
    _compare_message(
        sub, original_info.proto, update_info.proto, original_info.syntax, update_info.syntax
    )
    context.differences += sub.differences
    if any(kind not in COMPATIBLE_CHANGES for kind, _ in sub.differences):
        context.add("FIELD_NAMED_TYPE_CHANGED")


def _local(type_name: str, package: str) -> str:
    full = type_name.lstrip(".")
    return full[len(package) + 1 :] if package and full.startswith(package + ".") else full
