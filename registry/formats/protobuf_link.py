"""Linking a parsed ``.proto`` file: imports, type names, standard options, descriptor pool.

``link`` resolves every named type the way ``protoc`` does (innermost scope
first, a leading dot for the root), interprets the options that
``descriptor.proto`` defines into their fields (custom options stay
``uninterpreted_option``, checked to name a known extension), and
``build_pool`` loads the file and everything it imports into a fresh
``DescriptorPool``, which applies protobuf's own structural checks (duplicate
numbers and names, proto3 enum rules, reserved ranges, ...).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterator, Mapping
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FieldDescriptor

from registry.formats.protobuf_lexer import ProtoSyntaxError, Token
from registry.formats.protobuf_options import interpret_custom_options
from registry.formats.protobuf_parse import Parsed

__all__ = [
    "Linked",
    "build_pool",
    "known_linked",
    "link",
    "linked_descriptor",
    "resolve",
    "symbol_table",
]

FD = descriptor_pb2.FieldDescriptorProto


@dataclasses.dataclass(frozen=True, eq=False)
class Linked:
    """A file with every type name fully qualified, its symbols and its linked imports."""

    file: descriptor_pb2.FileDescriptorProto
    symbols: Mapping[str, str]  # full name -> "message" | "enum" | "extension" | "package"
    dependencies: tuple[Linked, ...]
    reference: tuple[str, int] | None = None  # (subject, version) when it came from a reference

    def closure(self) -> list[Linked]:
        """Every file this one imports, transitively, dependencies before dependents."""
        seen: dict[str, Linked] = {}

        def visit(linked: Linked) -> None:
            for dependency in linked.dependencies:
                if dependency.file.name not in seen:
                    visit(dependency)
                    seen[dependency.file.name] = dependency

        visit(self)
        return list(seen.values())


def link(parsed: Parsed, imports: Mapping[str, Linked]) -> Linked:
    """Resolve ``parsed`` against ``imports`` (by import path) and the well-known files."""
    file = parsed.file
    dependencies: list[Linked] = []
    for path in file.dependency:
        found = imports.get(path) or known_linked(path)
        if found is None:
            token = parsed.positions.get("import:" + path)
            raise _error(f'Import "{path}" was not found or had errors.', token)
        dependencies.append(found)
    own = dict(_symbols(file))
    provisional = Linked(file, {}, tuple(dependencies))
    table = dict(symbol_table(provisional))
    for name, kind in own.items():
        if table.get(name, "package") != "package" and kind != "package":
            raise _error(
                f'"{name}" is already defined in file "{_owner(provisional, name)}".',
                parsed.positions.get(name),
            )
        table[name] = kind
    for pending in parsed.pending:
        full = _resolve(pending.name, pending.scope, table, pending.token)
        kind = table[full]
        if pending.attribute == "type_name":
            if kind not in ("message", "enum"):
                raise _error(f'"{pending.name}" is not a type.', pending.token)
            if pending.target.type != FD.TYPE_GROUP:  # a group names its own message
                pending.target.type = FD.TYPE_MESSAGE if kind == "message" else FD.TYPE_ENUM
        elif kind != "message":
            raise _error(f'"{pending.name}" is not a message type.', pending.token)
        setattr(pending.target, pending.attribute, "." + full)
    for options, token in parsed.options:
        _interpret(options, token, table, file.package)
    return Linked(file, own, tuple(dependencies))


def linked_descriptor(
    file: descriptor_pb2.FileDescriptorProto, imports: Mapping[str, Linked]
) -> Linked:
    """Wrap an already linked descriptor (from a serialized ``FileDescriptorProto``)."""
    dependencies = []
    for path in file.dependency:
        found = imports.get(path) or known_linked(path)
        if found is None:
            raise ProtoSyntaxError(f'Import "{path}" was not found or had errors.', 1, 1)
        dependencies.append(found)
    return Linked(file, dict(_symbols(file)), tuple(dependencies))


@functools.cache
def known_linked(name: str) -> Linked | None:
    from registry.formats.protobuf_known import known_file

    file = known_file(name)
    if file is None:
        return None
    return Linked(
        file, dict(_symbols(file)), tuple(filter(None, map(known_linked, file.dependency)))
    )


def build_pool(linked: Linked) -> descriptor_pool.DescriptorPool:
    """A fresh pool holding ``linked`` and its imports; ``TypeError`` names what protobuf refused.

    Custom options of ``linked`` are interpreted against its imports on the way
    (``CustomOptionError`` when a value does not fit).
    """
    pool = descriptor_pool.DescriptorPool()
    for dependency in linked.closure():
        pool.Add(dependency.file)
    interpret_custom_options(linked.file, pool)
    pool.Add(linked.file)
    return pool


# -- symbols and names ---------------------------------------------------------------------------


def symbol_table(linked: Linked) -> dict[str, str]:
    """Every symbol visible in ``linked``: its own and those of everything it imports."""
    table: dict[str, str] = {}
    for dependency in linked.closure():
        table.update(dependency.symbols)
    table.update(linked.symbols)
    return table


def resolve(name: str, scope: str, table: Mapping[str, str]) -> str | None:
    """The full name ``name`` stands for when written in ``scope``, or ``None``."""
    try:
        return _resolve(name, scope, table, None)
    except ProtoSyntaxError:
        return None


def _symbols(file: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[str, str]]:
    parts = file.package.split(".") if file.package else []
    for index in range(len(parts)):
        yield ".".join(parts[: index + 1]), "package"
    prefix = file.package + "." if file.package else ""
    yield from _type_symbols(prefix, file.message_type, file.enum_type)
    for extension in file.extension:
        yield prefix + extension.name, "extension"


def _type_symbols(prefix: str, messages: Any, enums: Any) -> Iterator[tuple[str, str]]:
    for enum in enums:
        yield prefix + enum.name, "enum"
    for message in messages:
        name = prefix + message.name
        yield name, "message"
        yield from _type_symbols(name + ".", message.nested_type, message.enum_type)
        for extension in message.extension:
            yield f"{name}.{extension.name}", "extension"


def _owner(linked: Linked, name: str) -> str:
    for dependency in linked.closure():
        if name in dependency.symbols:
            return dependency.file.name
    return linked.file.name


def _resolve(name: str, scope: str, table: Mapping[str, str], token: Token | None) -> str:
    if name.startswith("."):
        if name[1:] in table:
            return name[1:]
        raise _error(f'"{name}" is not defined.', token)
    first, _, rest = name.partition(".")
    scope_parts = scope.split(".") if scope else []
    while True:
        candidate = ".".join([*scope_parts, first])
        kind = table.get(candidate)
        if kind is not None and (rest or kind != "package"):
            full = f"{candidate}.{rest}" if rest else candidate
            if full in table:
                return full
            raise _error(
                f'"{name}" is resolved to "{full}", which is not defined. The innermost scope is '
                f"searched first in name resolution. Consider using a leading '.'(i.e., \".{name}\") "
                "to start from the outermost scope.",
                token,
            )
        if not scope_parts:
            raise _error(f'"{name}" is not defined.', token)
        scope_parts.pop()


def _error(message: str, token: Token | None) -> ProtoSyntaxError:
    return ProtoSyntaxError(message, token.line if token else 1, token.column if token else 1)


# -- options -------------------------------------------------------------------------------------


def _interpret(options: Any, token: Token, table: Mapping[str, str], package: str) -> None:
    """Move standard options into their fields; check custom ones name a known extension."""
    kept = []
    for option in options.uninterpreted_option:
        names = [(part.name_part, part.is_extension) for part in option.name]
        if any(is_extension for _, is_extension in names):
            if not names[0][1]:
                raise _error(f'Option "{names[0][0]}" unknown.', token)
            extension = names[0][0]
            try:
                resolved = _resolve(extension, package, table, token)
            except ProtoSyntaxError:
                resolved = None
            if resolved is None or table[resolved] != "extension":
                raise _error(
                    f'Option "({extension.lstrip(".")})" unknown. Ensure that your proto definition '
                    "file imports the proto which defines the option.",
                    token,
                )
            option.name[0].name_part = resolved
            kept.append(option)
            continue
        _set_standard(options, names, option, token)
    if len(kept) != len(options.uninterpreted_option):
        del options.uninterpreted_option[:]
        options.uninterpreted_option.extend(kept)


def _set_standard(options: Any, names: list[tuple[str, bool]], option: Any, token: Token) -> None:
    dotted = ".".join(name for name, _ in names)
    target = options
    for index, (name, _) in enumerate(names):
        field = target.DESCRIPTOR.fields_by_name.get(name)
        if field is None or name == "uninterpreted_option":
            raise _error(f'Option "{dotted}" unknown.', token)
        if index < len(names) - 1:
            if field.type != FieldDescriptor.TYPE_MESSAGE or field.is_repeated:
                raise _error(f'Option "{dotted}" is an atomic type, not a message.', token)
            target = getattr(target, name)
            continue
        if field.is_repeated or field.type == FieldDescriptor.TYPE_MESSAGE:
            raise _error(f'Option "{dotted}" cannot be set here.', token)
        if target.HasField(name):
            raise _error(f'Option "{dotted}" was already set.', token)
        try:
            setattr(target, name, _option_value(field, option))
        except (TypeError, ValueError) as error:
            raise _error(f'Value for option "{dotted}" is invalid: {error}', token) from None


def _option_value(field: FieldDescriptor, option: Any) -> Any:
    kind = field.type
    if kind == FieldDescriptor.TYPE_BOOL:
        if option.identifier_value not in ("true", "false"):
            raise ValueError('expected "true" or "false"')
        return option.identifier_value == "true"
    if kind == FieldDescriptor.TYPE_ENUM:
        value = field.enum_type.values_by_name.get(option.identifier_value)
        if value is None:
            raise ValueError(
                f'enum type "{field.enum_type.full_name}" has no value named "{option.identifier_value}"'
            )
        return value.number
    if kind in (FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_BYTES):
        if not option.HasField("string_value"):
            raise ValueError("expected a string")
        return (
            option.string_value.decode("utf-8")
            if kind == FieldDescriptor.TYPE_STRING
            else option.string_value
        )
    if kind in (FieldDescriptor.TYPE_FLOAT, FieldDescriptor.TYPE_DOUBLE) and option.HasField(
        "double_value"
    ):
        return option.double_value
    if option.HasField("positive_int_value"):
        return option.positive_int_value
    if option.HasField("negative_int_value"):
        return option.negative_int_value
    raise ValueError("expected a number")
