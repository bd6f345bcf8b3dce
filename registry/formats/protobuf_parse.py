"""``.proto`` text (proto2, proto3, editions) to an unresolved ``FileDescriptorProto``.

A recursive-descent parser over ``protobuf_lexer`` tokens. It builds the
descriptor ``protoc`` would build before linking: named field types are left as
written (``Parsed.pending`` remembers each with its scope and token, so the
linker in ``protobuf_link`` can resolve them and name the line of a bad one),
custom options stay ``uninterpreted_option``, leading comments go to
``source_code_info``. See docs/decisions.md for why Charter parses .proto itself.
"""

from __future__ import annotations

from typing import Any

from google.protobuf import descriptor_pb2

from registry.formats.protobuf_lexer import ProtoSyntaxError, Token, tokenize
from registry.formats.protobuf_reader import Parsed, Pending, TokenReader

__all__ = ["Parsed", "Pending", "ProtoSyntaxError", "parse_proto"]

FD = descriptor_pb2.FieldDescriptorProto
SCALARS: dict[str, int] = {
    "double": FD.TYPE_DOUBLE, "float": FD.TYPE_FLOAT, "int64": FD.TYPE_INT64,
    "uint64": FD.TYPE_UINT64, "int32": FD.TYPE_INT32, "fixed64": FD.TYPE_FIXED64,
    "fixed32": FD.TYPE_FIXED32, "bool": FD.TYPE_BOOL, "string": FD.TYPE_STRING,
    "bytes": FD.TYPE_BYTES, "uint32": FD.TYPE_UINT32, "sfixed32": FD.TYPE_SFIXED32,
    "sfixed64": FD.TYPE_SFIXED64, "sint32": FD.TYPE_SINT32, "sint64": FD.TYPE_SINT64,
}  # fmt: skip
_LABELS = {
    "optional": FD.LABEL_OPTIONAL,
    "required": FD.LABEL_REQUIRED,
    "repeated": FD.LABEL_REPEATED,
}
_MAP_KEYS = {"int32", "int64", "uint32", "uint64", "sint32", "sint64", "fixed32", "fixed64",
             "sfixed32", "sfixed64", "bool", "string"}  # fmt: skip
_MAX_FIELD_NUMBER = 536_870_911
_EDITIONS = {"2023": descriptor_pb2.EDITION_2023, "2024": descriptor_pb2.EDITION_2024}


def parse_proto(text: str, name: str = "default") -> Parsed:
    """Parse ``.proto`` text; raise ``ProtoSyntaxError`` naming line and column."""
    return _Parser(tokenize(text), name).parse_file()


class _Parser(TokenReader):
    def comment(self, path: tuple[int, ...], token: Token) -> None:
        if token.leading_comment:
            location = self.file.source_code_info.location.add()
            location.path.extend(path)
            location.span.extend([token.line - 1, token.column - 1])
            location.leading_comments = token.leading_comment

    # -- file ----------------------------------------------------------------------------------

    def parse_file(self) -> Parsed:
        if self.at("syntax") or self.at("edition"):
            keyword = self.next().text
            self.expect("=")
            token = self.token
            value = self.text()
            self.expect(";")
            if keyword == "syntax":
                if value not in ("proto2", "proto3"):
                    raise self.error(
                        f'Unrecognized syntax identifier "{value}".  This parser only recognizes "proto2" and "proto3".',
                        token,
                    )
                self.syntax = value
                if value == "proto3":
                    self.file.syntax = "proto3"
            else:
                if value not in _EDITIONS:
                    raise self.error(
                        f'Edition "{value}" is not supported; known editions: 2023, 2024.', token
                    )
                self.syntax = "editions"
                self.file.syntax = "editions"
                self.file.edition = _EDITIONS[value]
        while self.token.kind != "eof":
            self.file_statement()
        return self.parsed

    def file_statement(self) -> None:
        token = self.token
        if self.accept(";"):
            return
        if self.accept("package"):
            if self.file.HasField("package"):
                raise self.error("Multiple package definitions.", token)
            self.file.package = self.full_identifier().lstrip(".")
            self.expect(";")
        elif self.accept("import"):
            kind = self.next().text if self.at("public") or self.at("weak") else ""
            path = self.text()
            self.expect(";")
            if path in self.file.dependency:
                raise self.error(f'Import "{path}" was listed twice.', token)
            self.parsed.positions["import:" + path] = token
            if kind == "public":
                self.file.public_dependency.append(len(self.file.dependency))
            elif kind == "weak":
                self.file.weak_dependency.append(len(self.file.dependency))
            self.file.dependency.append(path)
        elif self.at("option"):
            self.option_statement(self.file.options)
        elif self.accept("message"):
            self.message(
                self.file.message_type.add(),
                self.file.package,
                (4, len(self.file.message_type) - 1),
                token,
            )
        elif self.accept("enum"):
            self.enum(
                self.file.enum_type.add(),
                self.file.package,
                (5, len(self.file.enum_type) - 1),
                token,
            )
        elif self.accept("service"):
            self.service(token)
        elif self.accept("extend"):
            self.extend(self.file.extension, self.file.package, (7,))
        else:
            raise self.error('Expected top-level statement (e.g. "message").')

    # -- messages ------------------------------------------------------------------------------

    def message(self, message: Any, scope: str, path: tuple[int, ...], start: Token) -> None:
        name_token = self.identifier("message name")
        message.name = name_token.text
        full = f"{scope}.{message.name}".lstrip(".")
        self.parsed.positions.setdefault(full, name_token)
        self.comment(path, start)
        self.expect("{")
        self.message_body(message, full, path)

    def message_body(self, message: Any, scope: str, path: tuple[int, ...]) -> None:
        self.message_members(message, scope, path)
        # protoc puts the synthetic oneofs of proto3 ``optional`` fields after the real ones
        for field in message.field:
            if field.proto3_optional:
                message.oneof_decl.add(name=_synthetic_oneof_name(message, field.name))
                field.oneof_index = len(message.oneof_decl) - 1

    def message_members(self, message: Any, scope: str, path: tuple[int, ...]) -> None:
        while not self.accept("}"):
            token = self.token
            if token.kind == "eof":
                raise self.error("Reached end of input in message definition (missing '}').")
            if self.accept(";"):
                continue
            if self.at("option"):
                self.option_statement(message.options)
            elif self.accept("message"):
                self.message(
                    message.nested_type.add(),
                    scope,
                    (*path, 3, len(message.nested_type) - 1),
                    token,
                )
            elif self.accept("enum"):
                self.enum(
                    message.enum_type.add(), scope, (*path, 4, len(message.enum_type) - 1), token
                )
            elif self.accept("oneof"):
                self.oneof(message, scope, path, token)
            elif self.accept("extensions"):
                self.ranges(message.extension_range, _MAX_FIELD_NUMBER + 1, end_exclusive=True)
                if self.at("["):
                    self.bracket_options(None, message.extension_range[-1].options)
                self.expect(";")
            elif self.accept("reserved"):
                self.reserved(
                    message.reserved_range,
                    message.reserved_name,
                    _MAX_FIELD_NUMBER + 1,
                    end_exclusive=True,
                )
            elif self.accept("extend"):
                self.extend(message.extension, scope, (*path, 6))
            elif self.at("map") and self.tokens[self.index + 1].text == "<":
                self.map_field(message, scope, path, token)
            else:
                self.field(message, message.field, scope, (*path, 2), token, None)

    def field(
        self,
        message: Any,
        fields: Any,
        scope: str,
        path: tuple[int, ...],
        start: Token,
        oneof_index: int | None,
        extendee: str | None = None,
    ) -> Any:
        field = fields.add()
        label_token = self.token
        if (
            oneof_index is None
            and self.token.text in _LABELS
            and self.token.kind == "ident"
            and self.tokens[self.index + 1].text != "."
        ):
            label = self.next().text
            if self.syntax == "proto3" and label == "required":
                raise self.error("Required fields are not allowed in proto3.", label_token)
            if self.syntax == "editions" and label != "repeated":
                raise self.error(
                    f'Label "{label}" is not supported in editions. By default, all singular fields have presence unless features.field_presence is set.',
                    label_token,
                )
            field.label = _LABELS[label]
            if label == "optional" and self.syntax == "proto3":
                field.proto3_optional = True
        else:
            if self.syntax == "proto2" and oneof_index is None and extendee is None:
                raise self.error('Expected "required", "optional", or "repeated".', label_token)
            if self.syntax == "proto2" and extendee is not None:
                raise self.error('Expected "required", "optional", or "repeated".', label_token)
            field.label = FD.LABEL_OPTIONAL
        type_token = self.token
        if self.at("group") and self.tokens[self.index + 1].kind == "ident":
            return self.group(message, field, scope, path, start, oneof_index, extendee)
        type_name = self.full_identifier()
        if type_name in SCALARS:
            field.type = SCALARS[type_name]
        else:
            self.parsed.pending.append(Pending(field, "type_name", type_name, scope, type_token))
        name_token = self.identifier("field name")
        field.name = name_token.text
        self.number_and_options(field, oneof_index)
        if extendee is not None:
            self.parsed.pending.append(Pending(field, "extendee", extendee, scope, start))
        self.expect(";")
        self.parsed.positions.setdefault(f"{scope}.{field.name}".lstrip("."), name_token)
        self.comment((*path, len(fields) - 1), start)
        return field

    def number_and_options(self, field: Any, oneof_index: int | None) -> None:
        """``= <number> [<options>]`` of a field, group or map field, checked as protoc does."""
        self.expect("=")
        number, number_token = self.integer("field number")
        if not 1 <= number <= _MAX_FIELD_NUMBER:
            raise self.error(
                f"Field numbers must be positive integers no greater than {_MAX_FIELD_NUMBER}.",
                number_token,
            )
        field.number = number
        if oneof_index is not None:
            field.oneof_index = oneof_index
        self.bracket_options(field, field.options)
        if not field.options.ListFields():
            field.ClearField("options")

    def group(
        self,
        message: Any,
        field: Any,
        scope: str,
        path: tuple[int, ...],
        start: Token,
        oneof_index: int | None,
        extendee: str | None,
    ) -> Any:
        """A proto2 group: a field of type GROUP and the nested message it declares, as protoc
        builds them (field name the group name in lower case, message where it is written)."""
        group_token = self.next()
        if self.syntax == "proto3":
            raise self.error("Groups are not supported in proto3 syntax.", group_token)
        if self.syntax == "editions":
            raise self.error("Group syntax is no longer supported in editions.", group_token)
        if message is None or extendee is not None:
            raise self.error(
                "Groups in extend blocks are not supported; declare a message and extend with a "
                "field of that type.",
                group_token,
            )
        name_token = self.identifier("group name")
        if not name_token.text[:1].isupper():
            raise self.error("Group names must start with a capital letter.", name_token)
        field.name = name_token.text.lower()
        field.type = FD.TYPE_GROUP
        self.number_and_options(field, oneof_index)
        field_index = len(message.field) - 1
        self.parsed.positions.setdefault(f"{scope}.{field.name}".lstrip("."), name_token)
        self.comment((*path, field_index), start)
        nested = message.nested_type.add(name=name_token.text)
        full = f"{scope}.{nested.name}".lstrip(".")
        self.parsed.positions.setdefault(full, name_token)
        self.parsed.pending.append(Pending(field, "type_name", nested.name, scope, name_token))
        self.expect("{")
        self.message_body(nested, full, (*path[:-1], 3, len(message.nested_type) - 1))
        return field

    def map_field(self, message: Any, scope: str, path: tuple[int, ...], start: Token) -> None:
        self.expect("map")
        self.expect("<")
        key_token = self.token
        key_type = self.full_identifier()
        if key_type not in _MAP_KEYS:
            raise self.error(
                "Key in map fields cannot be float/double, bytes or message types.", key_token
            )
        self.expect(",")
        value_token = self.token
        value_type = self.full_identifier()
        self.expect(">")
        name_token = self.identifier("field name")
        entry = message.nested_type.add(name=_camel(name_token.text) + "Entry")
        entry.options.map_entry = True
        entry.field.add(
            name="key", number=1, label=FD.LABEL_OPTIONAL, type=SCALARS[key_type], json_name="key"
        )
        value = entry.field.add(name="value", number=2, label=FD.LABEL_OPTIONAL, json_name="value")
        entry_scope = f"{scope}.{entry.name}".lstrip(".")
        if value_type in SCALARS:
            value.type = SCALARS[value_type]
        else:
            self.parsed.pending.append(
                Pending(value, "type_name", value_type, entry_scope, value_token)
            )
        field = message.field.add(
            name=name_token.text,
            label=FD.LABEL_REPEATED,
            type_name="." + entry_scope,
            type=FD.TYPE_MESSAGE,
        )
        self.number_and_options(field, None)
        self.expect(";")
        self.parsed.positions.setdefault(f"{scope}.{field.name}".lstrip("."), name_token)
        self.comment((*path, 2, len(message.field) - 1), start)

    def oneof(self, message: Any, scope: str, path: tuple[int, ...], start: Token) -> None:
        oneof = message.oneof_decl.add(name=self.identifier("oneof name").text)
        index = len(message.oneof_decl) - 1
        self.comment((*path, 8, index), start)
        self.expect("{")
        while not self.accept("}"):
            token = self.token
            if token.kind == "eof":
                raise self.error("Reached end of input in oneof definition (missing '}').")
            if self.accept(";"):
                continue
            if self.at("option"):
                self.option_statement(oneof.options)
            elif self.token.text in _LABELS and self.tokens[self.index + 1].kind == "ident":
                raise self.error(
                    "Fields in oneofs must not have labels (required / optional / repeated)."
                )
            else:
                self.field(message, message.field, scope, (*path, 2), token, index)

    def ranges(self, target: Any, max_value: int, *, end_exclusive: bool) -> None:
        while True:
            start, token = self.integer("field number range")
            end = start
            if self.accept("to"):
                end = (
                    max_value - 1
                    if self.accept("max")
                    else self.integer("field number range end")[0]
                )
            if end < start:
                raise self.error(
                    "Field number range end must be greater than or equal to its start.", token
                )
            target.add(start=start, end=end + 1 if end_exclusive else end)
            if not self.accept(","):
                return

    def reserved(self, ranges: Any, names: Any, max_value: int, *, end_exclusive: bool) -> None:
        if self.token.kind in ("string", "ident") and not (
            self.token.kind == "ident" and self.token.text in ("max", "to")
        ):
            while True:
                if self.token.kind == "ident" and self.syntax == "editions":
                    names.append(self.next().text)
                else:
                    names.append(self.text())
                if not self.accept(","):
                    break
        else:
            self.ranges(ranges, max_value, end_exclusive=end_exclusive)
        self.expect(";")

    def extend(self, fields: Any, scope: str, path: tuple[int, ...]) -> None:
        extendee = self.full_identifier()
        self.expect("{")
        while not self.accept("}"):
            token = self.token
            if token.kind == "eof":
                raise self.error("Reached end of input in extend definition (missing '}').")
            if not self.accept(";"):
                self.field(None, fields, scope, path, token, None, extendee)

    # -- enums and services --------------------------------------------------------------------

    def enum(self, enum: Any, scope: str, path: tuple[int, ...], start: Token) -> None:
        name_token = self.identifier("enum name")
        enum.name = name_token.text
        self.parsed.positions.setdefault(f"{scope}.{enum.name}".lstrip("."), name_token)
        self.comment(path, start)
        self.expect("{")
        while not self.accept("}"):
            token = self.token
            if token.kind == "eof":
                raise self.error("Reached end of input in enum definition (missing '}').")
            if self.accept(";"):
                continue
            if self.at("option"):
                self.option_statement(enum.options)
            elif self.accept("reserved"):
                self.reserved(enum.reserved_range, enum.reserved_name, 2**31, end_exclusive=False)
            else:
                value = enum.value.add(name=self.identifier("enum constant name").text)
                self.expect("=")
                value.number, number_token = self.integer("enum value number")
                if not -(2**31) <= value.number < 2**31:
                    raise self.error("Integer out of range.", number_token)
                self.bracket_options(None, value.options)
                self.expect(";")
                if not value.options.ListFields():
                    value.ClearField("options")
                self.parsed.positions.setdefault(f"{scope}.{value.name}".lstrip("."), token)
                self.comment((*path, 2, len(enum.value) - 1), token)

    def service(self, start: Token) -> None:
        service = self.file.service.add(name=self.identifier("service name").text)
        path = (6, len(self.file.service) - 1)
        self.comment(path, start)
        self.expect("{")
        while not self.accept("}"):
            token = self.token
            if token.kind == "eof":
                raise self.error("Reached end of input in service definition (missing '}').")
            if self.accept(";"):
                continue
            if self.at("option"):
                self.option_statement(service.options)
                continue
            self.expect("rpc")
            method = service.method.add(name=self.identifier("method name").text)
            self.comment((*path, 2, len(service.method) - 1), token)
            for attribute, streaming in (
                ("input_type", "client_streaming"),
                ("output_type", "server_streaming"),
            ):
                if attribute == "output_type":
                    self.expect("returns")
                self.expect("(")
                if self.at("stream") and self.tokens[self.index + 1].kind == "ident":
                    self.next()
                    setattr(method, streaming, True)
                type_token = self.token
                self.parsed.pending.append(
                    Pending(
                        method, attribute, self.full_identifier(), self.file.package, type_token
                    )
                )
                self.expect(")")
            if self.accept("{"):
                while not self.accept("}"):
                    if self.token.kind == "eof":
                        raise self.error("Reached end of input in method options (missing '}').")
                    if not self.accept(";"):
                        self.option_statement(method.options)
            else:
                self.expect(";")


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def _synthetic_oneof_name(message: Any, field_name: str) -> str:
    existing = {oneof.name for oneof in message.oneof_decl} | {f.name for f in message.field}
    name = "_" + field_name
    while name in existing:
        name = "X" + name
    return name
