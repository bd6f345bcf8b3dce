"""A linked ``FileDescriptorProto`` written back as ``.proto`` text: the canonical and normal forms.

The registry stores this text (Confluent stores the text form even when a client
sends a serialized descriptor), so a schema sent as text and the same schema
sent as a base64 ``FileDescriptorProto`` get one canonical string and one id.
The canonical form names types relative to the file's package when that name
resolves to the same type; the normal form (``?normalize=true``) writes every
type name fully qualified with a leading dot, sorts options by name, imports by
path and fields by number, as Confluent's normalization does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool, text_encoding, text_format

from registry.formats.protobuf_options import with_extensions
from registry.formats.protobuf_parse import SCALARS

__all__ = ["render"]

FD = descriptor_pb2.FieldDescriptorProto
_SCALAR_NAMES = {number: name for name, number in SCALARS.items()}
_LABELS = {
    FD.LABEL_OPTIONAL: "optional",
    FD.LABEL_REQUIRED: "required",
    FD.LABEL_REPEATED: "repeated",
}
_EDITION_NAMES = {descriptor_pb2.EDITION_2023: "2023", descriptor_pb2.EDITION_2024: "2024"}
_MAX_FIELD_NUMBER = 536_870_911

Shorten = Callable[[str, str], str]


def render(
    file: descriptor_pb2.FileDescriptorProto,
    shorten: Shorten,
    pool: descriptor_pool.DescriptorPool | None = None,
    *,
    normalize: bool = False,
) -> str:
    """``.proto`` text for ``file``; ``shorten(full_name, scope)`` names a type as seen from scope.

    ``pool`` (holding the file's imports) names the custom options set as extension fields.
    """
    return _Writer(file, shorten, pool, normalize).file()


def quote(raw: bytes) -> str:
    return '"' + text_encoding.CEscape(raw, as_utf8=True) + '"'


class _Writer:
    def __init__(
        self,
        file: descriptor_pb2.FileDescriptorProto,
        shorten: Shorten,
        pool: descriptor_pool.DescriptorPool | None,
        normalize: bool,
    ) -> None:
        self.proto = file
        self.pool = pool
        self.normalize = normalize
        self.shorten = (lambda full, scope: full) if normalize else shorten
        self.lines: list[str] = []
        self.comments: Mapping[tuple[int, ...], str] = {
            tuple(location.path): location.leading_comments
            for location in file.source_code_info.location
            if location.leading_comments
        }
        self.syntax = file.syntax or "proto2"
        self.groups: dict[str, tuple[int, Any]] = {}  # group type name -> (index, message)

    def emit(self, depth: int, text: str, path: tuple[int, ...] | None = None) -> None:
        if path is not None and path in self.comments:
            for line in self.comments[path].rstrip("\n").split("\n"):
                self.lines.append("  " * depth + ("// " + line).rstrip())
        self.lines.append("  " * depth + text)

    def file(self) -> str:
        file = self.proto
        if self.syntax == "editions":
            self.emit(0, f'edition = "{_EDITION_NAMES.get(file.edition, "2023")}";')
        else:
            self.emit(0, f'syntax = "{self.syntax}";')
        if file.package:
            self.emit(0, f"package {file.package};")
        imports = []
        for index, path in enumerate(file.dependency):
            kind = (
                "public "
                if index in file.public_dependency
                else "weak "
                if index in file.weak_dependency
                else ""
            )
            imports.append(f"import {kind}{quote(path.encode())};")
        if imports:
            self.lines.append("")
            for line in sorted(imports) if self.normalize else imports:
                self.emit(0, line)
        options = self.options(file.options)
        if options:
            self.lines.append("")
            for name, value in options:
                self.emit(0, f"option {name} = {value};")
        scope = file.package
        for index, enum in enumerate(file.enum_type):
            self.lines.append("")
            self.enum(enum, 0, (5, index))
        for index, message in enumerate(file.message_type):
            self.lines.append("")
            self.message(message, scope, 0, (4, index))
        if file.extension:
            self.lines.append("")
            self.extensions(file.extension, scope, 0, (7,))
        for index, service in enumerate(file.service):
            self.lines.append("")
            self.service(service, scope, (6, index))
        return "\n".join(self.lines).lstrip("\n") + "\n"

    # -- messages --------------------------------------------------------------------------------

    def message(self, message: Any, scope: str, depth: int, path: tuple[int, ...]) -> None:
        self.emit(depth, f"message {message.name} {{", path)
        self.message_body(message, scope, depth, path)

    def message_body(self, message: Any, scope: str, depth: int, path: tuple[int, ...]) -> None:
        """The members of ``message`` and its closing brace (a message's or a group's)."""
        full = f"{scope}.{message.name}".lstrip(".")
        inner = depth + 1
        for name, value in self.options(message.options):
            self.emit(inner, f"option {name} = {value};")
        maps = {
            f".{full}.{nested.name}": nested
            for nested in message.nested_type
            if nested.options.map_entry
        }
        group_names = {f.type_name for f in message.field if f.type == FD.TYPE_GROUP}
        groups = {
            f".{full}.{nested.name}": (index, nested)
            for index, nested in enumerate(message.nested_type)
            if f".{full}.{nested.name}" in group_names
        }
        self.groups.update(groups)
        fields = list(enumerate(message.field))
        if self.normalize:
            fields.sort(key=lambda item: item[1].number)
        written_oneofs: set[int] = set()
        for index, field in fields:
            real_oneof = field.HasField("oneof_index") and not field.proto3_optional
            if not real_oneof:
                self.field(field, full, inner, (*path, 2, index), maps)
                continue
            if field.oneof_index in written_oneofs:
                continue
            written_oneofs.add(field.oneof_index)
            oneof = message.oneof_decl[field.oneof_index]
            self.emit(inner, f"oneof {oneof.name} {{", (*path, 8, field.oneof_index))
            for name, value in self.options(oneof.options):
                self.emit(inner + 1, f"option {name} = {value};")
            for member_index, member in fields:
                if (
                    member.HasField("oneof_index")
                    and member.oneof_index == field.oneof_index
                    and not member.proto3_optional
                ):
                    self.field(
                        member, full, inner + 1, (*path, 2, member_index), maps, in_oneof=True
                    )
            self.emit(inner, "}")
        for index, nested in enumerate(message.nested_type):
            if f".{full}.{nested.name}" not in maps and f".{full}.{nested.name}" not in groups:
                self.message(nested, full, inner, (*path, 3, index))
        for index, enum in enumerate(message.enum_type):
            self.enum(enum, inner, (*path, 4, index))
        if message.extension:
            self.extensions(message.extension, full, inner, (*path, 6))
        for extension_range in message.extension_range:
            options = self.options(extension_range.options)
            suffix = (
                f" [{', '.join(f'{name} = {value}' for name, value in options)}]" if options else ""
            )
            self.emit(
                inner,
                f"extensions {_range(extension_range.start, extension_range.end - 1, _MAX_FIELD_NUMBER)}{suffix};",
            )
        self.reserved(message.reserved_range, message.reserved_name, inner, exclusive=True)
        self.emit(depth, "}")

    def field(
        self,
        field: Any,
        scope: str,
        depth: int,
        path: tuple[int, ...],
        maps: Mapping[str, Any],
        *,
        in_oneof: bool = False,
    ) -> None:
        entry = maps.get(field.type_name) if field.type == FD.TYPE_MESSAGE else None
        if entry is not None:
            key, value = entry.field[0], entry.field[1]
            type_text = f"map<{self.type_name(key, scope)}, {self.type_name(value, scope)}>"
            label = ""
        else:
            type_text = self.type_name(field, scope)
            label = self.label(field, in_oneof)
        options = []
        if field.HasField("default_value"):
            options.append(("default", self.default(field)))
        if field.HasField("json_name") and field.json_name != _json_name(field.name):
            options.append(("json_name", quote(field.json_name.encode())))
        options += self.options(field.options)
        if self.normalize:
            options.sort()
        suffix = (
            f" [{', '.join(f'{name} = {value}' for name, value in options)}]" if options else ""
        )
        group = self.groups.get(field.type_name) if field.type == FD.TYPE_GROUP else None
        if group is not None:  # the group's message is written where the field is
            index, nested = group
            self.emit(depth, f"{label}group {nested.name} = {field.number}{suffix} {{", path)
            message_path = path[:-2] if path[-2:-1] == (2,) else path
            self.message_body(nested, scope, depth, (*message_path, 3, index))
            return
        self.emit(depth, f"{label}{type_text} {field.name} = {field.number}{suffix};", path)

    def label(self, field: Any, in_oneof: bool) -> str:
        if in_oneof:
            return ""
        if field.label == FD.LABEL_REPEATED:
            return "repeated "
        if self.syntax == "proto3":
            return "optional " if field.proto3_optional else ""
        if self.syntax == "editions":
            return ""
        return _LABELS[field.label] + " "

    def type_name(self, field: Any, scope: str) -> str:
        if field.type in _SCALAR_NAMES:
            return _SCALAR_NAMES[field.type]
        return self.shorten(field.type_name, scope)

    def default(self, field: Any) -> str:
        if field.type == FD.TYPE_STRING:
            return quote(field.default_value.encode())
        if field.type == FD.TYPE_BYTES:
            return f'"{field.default_value}"'
        return field.default_value

    def extensions(self, fields: Any, scope: str, depth: int, path: tuple[int, ...]) -> None:
        groups: dict[str, list[tuple[int, Any]]] = {}
        for index, field in enumerate(fields):
            groups.setdefault(field.extendee, []).append((index, field))
        for extendee, members in groups.items():
            self.emit(depth, f"extend {self.shorten(extendee, scope)} {{")
            for index, field in members:
                self.field(field, scope, depth + 1, (*path, index), {})
            self.emit(depth, "}")

    def reserved(self, ranges: Any, names: Any, depth: int, *, exclusive: bool) -> None:
        if ranges:
            spans = [
                _range(
                    r.start,
                    r.end - 1 if exclusive else r.end,
                    _MAX_FIELD_NUMBER if exclusive else 2**31 - 1,
                )
                for r in ranges
            ]
            self.emit(depth, f"reserved {', '.join(spans)};")
        if names:
            if self.syntax == "editions":
                self.emit(depth, f"reserved {', '.join(names)};")
            else:
                self.emit(depth, f"reserved {', '.join(quote(name.encode()) for name in names)};")

    # -- enums, services, options ----------------------------------------------------------------

    def enum(self, enum: Any, depth: int, path: tuple[int, ...]) -> None:
        self.emit(depth, f"enum {enum.name} {{", path)
        for name, value in self.options(enum.options):
            self.emit(depth + 1, f"option {name} = {value};")
        for index, value in enumerate(enum.value):
            options = self.options(value.options)
            suffix = (
                f" [{', '.join(f'{name} = {text}' for name, text in options)}]" if options else ""
            )
            self.emit(depth + 1, f"{value.name} = {value.number}{suffix};", (*path, 2, index))
        self.reserved(enum.reserved_range, enum.reserved_name, depth + 1, exclusive=False)
        self.emit(depth, "}")

    def service(self, service: Any, scope: str, path: tuple[int, ...]) -> None:
        self.emit(0, f"service {service.name} {{", path)
        for name, value in self.options(service.options):
            self.emit(1, f"option {name} = {value};")
        for index, method in enumerate(service.method):
            request = ("stream " if method.client_streaming else "") + self.shorten(
                method.input_type, scope
            )
            response = ("stream " if method.server_streaming else "") + self.shorten(
                method.output_type, scope
            )
            options = self.options(method.options)
            head = f"rpc {method.name}({request}) returns ({response})"
            if not options:
                self.emit(1, head + ";", (*path, 2, index))
                continue
            self.emit(1, head + " {", (*path, 2, index))
            for name, value in options:
                self.emit(2, f"option {name} = {value};")
            self.emit(1, "}")
        self.emit(0, "}")

    def options(self, options: Any) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for field, value in with_extensions(options, self.pool).ListFields():
            if field.name == "uninterpreted_option":
                continue
            name = f"({field.full_name})" if field.is_extension else field.name
            found += _option_items(name, field, value)
        for option in options.uninterpreted_option:
            name = ".".join(
                f"({part.name_part})" if part.is_extension else part.name_part
                for part in option.name
            )
            found.append((name, _uninterpreted_value(option)))
        return sorted(found) if self.normalize else found


def _option_items(name: str, field: Any, value: Any) -> list[tuple[str, str]]:
    if field.type == field.TYPE_MESSAGE:
        if field.is_extension:
            return [(name, "{ " + text_format.MessageToString(value, as_one_line=True) + " }")]
        return [
            (f"{name}.{inner}", text)
            for sub, sub_value in value.ListFields()
            for inner, text in _option_items(sub.name, sub, sub_value)
        ]
    if field.is_repeated:
        return [(name, _scalar(field, item)) for item in value]
    return [(name, _scalar(field, value))]


def _scalar(field: Any, value: Any) -> str:
    if field.type == field.TYPE_BOOL:
        return "true" if value else "false"
    if field.type == field.TYPE_ENUM:
        enum_value = field.enum_type.values_by_number.get(value)
        return enum_value.name if enum_value is not None else str(value)
    if field.type == field.TYPE_STRING:
        return quote(value.encode())
    if field.type == field.TYPE_BYTES:
        return quote(value)
    return repr(value) if isinstance(value, float) else str(value)


def _uninterpreted_value(option: Any) -> str:
    if option.HasField("identifier_value"):
        return option.identifier_value
    if option.HasField("positive_int_value"):
        return str(option.positive_int_value)
    if option.HasField("negative_int_value"):
        return str(option.negative_int_value)
    if option.HasField("double_value"):
        return repr(option.double_value)
    if option.HasField("string_value"):
        return quote(option.string_value)
    return "{ " + option.aggregate_value + " }"


def _range(start: int, end: int, maximum: int) -> str:
    if start == end:
        return str(start)
    return f"{start} to {'max' if end >= maximum else end}"


def _json_name(name: str) -> str:
    parts = name.split("_")
    return parts[0] + "".join(part[:1].upper() + part[1:] for part in parts[1:])
