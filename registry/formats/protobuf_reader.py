"""A cursor over ``.proto`` tokens: expecting and accepting, literals, and option values.

The base of the parser in ``protobuf_parse``: everything that reads one token or
one value (an option, a field's ``[default = ...]``), so the parser itself only
knows the grammar of declarations.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from google.protobuf import descriptor_pb2, text_encoding

from registry.formats.protobuf_lexer import ProtoSyntaxError, Token, unescape

__all__ = ["FD", "Parsed", "Pending", "TokenReader"]

FD = descriptor_pb2.FieldDescriptorProto


@dataclasses.dataclass
class Pending:
    """A name to resolve once every file is known: ``target`` gets ``.full.Name`` in ``attribute``."""

    target: Any
    attribute: str
    name: str
    scope: str
    token: Token


@dataclasses.dataclass
class Parsed:
    """The file descriptor, the names left to resolve, and where each declared symbol is."""

    file: descriptor_pb2.FileDescriptorProto
    pending: list[Pending]
    options: list[tuple[Any, Token]]  # (options message with uninterpreted entries, token)
    positions: dict[str, Token]


class TokenReader:
    """Token helpers and value readers shared by the parser's declaration rules."""

    def __init__(self, tokens: list[Token], name: str) -> None:
        self.tokens = tokens
        self.index = 0
        self.file = descriptor_pb2.FileDescriptorProto(name=name)
        self.parsed = Parsed(self.file, [], [], {})
        self.syntax = "proto2"

    # -- token helpers -----------------------------------------------------------------------

    @property
    def token(self) -> Token:
        return self.tokens[self.index]

    def error(self, message: str, token: Token | None = None) -> ProtoSyntaxError:
        token = token or self.token
        return ProtoSyntaxError(message, token.line, token.column)

    def next(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "eof":
            self.index += 1
        return token

    def at(self, text: str) -> bool:
        return self.token.text == text and self.token.kind in ("symbol", "ident")

    def accept(self, text: str) -> bool:
        if self.at(text):
            self.index += 1
            return True
        return False

    def expect(self, text: str) -> Token:
        if not self.at(text):
            found = "end of input" if self.token.kind == "eof" else f'"{self.token.text}"'
            raise self.error(f'Expected "{text}", found {found}.')
        return self.next()

    def identifier(self, what: str = "identifier") -> Token:
        if self.token.kind != "ident":
            raise self.error(f"Expected {what}.")
        return self.next()

    def full_identifier(self) -> str:
        parts = ["." if self.accept(".") else ""]
        parts.append(self.identifier("type name").text)
        while self.at(".") and self.tokens[self.index + 1].kind == "ident":
            self.next()
            parts.append("." + self.next().text)
        return "".join(parts)

    def integer(self, what: str = "integer") -> tuple[int, Token]:
        sign = -1 if self.accept("-") else 1
        token = self.token
        if token.kind != "int":
            raise self.error(f"Expected {what}.")
        self.next()
        text = token.text
        value = (
            int(text, 16)
            if text[:2] in ("0x", "0X")
            else int(text, 8 if text != "0" and text.startswith("0") else 10)
        )
        return sign * value, token

    def string(self) -> bytes:
        if self.token.kind != "string":
            raise self.error("Expected string.")
        value = b""
        while self.token.kind == "string":
            value += unescape(self.next())
        return value

    def text(self) -> str:
        token = self.token
        try:
            return self.string().decode("utf-8")
        except UnicodeDecodeError:
            raise self.error("String is not valid UTF-8.", token) from None

    # -- options -------------------------------------------------------------------------------

    def option_name(self) -> list[tuple[str, bool]]:
        parts: list[tuple[str, bool]] = []
        while True:
            if self.accept("("):
                parts.append((self.full_identifier(), True))
                self.expect(")")
            else:
                parts.append((self.identifier("option name").text, False))
            if not self.accept("."):
                return parts

    def option_statement(self, options: Any) -> None:
        self.expect("option")
        self.option_assignment(options)
        self.expect(";")

    def option_assignment(self, options: Any) -> None:
        token = self.token
        uninterpreted = options.uninterpreted_option.add()
        for part, is_extension in self.option_name():
            uninterpreted.name.add(name_part=part, is_extension=is_extension)
        self.expect("=")
        self.option_value(uninterpreted)
        self.parsed.options.append((options, token))

    def option_value(self, target: descriptor_pb2.UninterpretedOption) -> None:
        token = self.token
        if self.at("{"):
            target.aggregate_value = self.aggregate()
        elif token.kind == "string":
            target.string_value = self.string()
        elif self.at("-") or self.at("+") or token.kind in ("int", "float"):
            negative = self.accept("-") or (self.accept("+") and False)
            number = self.next()
            if number.kind == "int":
                value, _ = self.tokens_int(number)
                if negative:
                    target.negative_int_value = -value
                else:
                    target.positive_int_value = value
            elif number.kind == "float" or number.text in ("inf", "nan"):
                value_f = float(number.text)
                target.double_value = -value_f if negative else value_f
            else:
                raise self.error("Expected number.", number)
        elif token.kind == "ident":
            target.identifier_value = self.full_identifier().lstrip(".")
        else:
            raise self.error("Expected option value.")

    def tokens_int(self, token: Token) -> tuple[int, Token]:
        text = token.text
        if text[:2] in ("0x", "0X"):
            return int(text, 16), token
        return int(text, 8 if text != "0" and text.startswith("0") else 10), token

    def aggregate(self) -> str:
        """The text between balanced braces, as protoc keeps it for ``aggregate_value``."""
        self.expect("{")
        depth, parts = 1, []
        while True:
            token = self.next()
            if token.kind == "eof":
                raise self.error("Unexpected end of input in aggregate value.", token)
            if token.text in ("{", "<") and token.kind == "symbol":
                depth += 1
            elif token.text in ("}", ">") and token.kind == "symbol":
                depth -= 1
                if depth == 0:
                    return " ".join(parts)
            parts.append(token.text)

    def bracket_options(self, field: Any, options: Any) -> None:
        if not self.accept("["):
            return
        while True:
            token = self.token
            if self.at("default") and self.tokens[self.index + 1].text == "=":
                self.next()
                self.next()
                self.default_value(field, token)
            elif self.at("json_name") and self.tokens[self.index + 1].text == "=":
                self.next()
                self.next()
                field.json_name = self.text()
            else:
                self.option_assignment(options)
            if not self.accept(","):
                break
        self.expect("]")

    def default_value(self, field: Any, token: Token) -> None:
        if self.syntax == "proto3":
            raise self.error("Explicit default values are not allowed in proto3.", token)
        if field.label == FD.LABEL_REPEATED:
            raise self.error("Repeated fields can't have default values.", token)
        value_token = self.token
        if value_token.kind == "string":
            raw = self.string()
            field.default_value = (
                raw.decode("utf-8", "backslashreplace")
                if field.type != FD.TYPE_BYTES
                else _c_escape(raw)
            )
            return
        negative = self.accept("-")
        value_token = self.next()
        if value_token.kind not in ("int", "float", "ident"):
            raise self.error("Expected default value.", value_token)
        if value_token.kind == "int" and field.type in (FD.TYPE_FLOAT, FD.TYPE_DOUBLE):
            text = value_token.text
        elif value_token.kind == "float":
            text = repr(float(value_token.text)).replace("inf", "inf")
            if math.isinf(float(value_token.text)):
                text = "inf"
        elif value_token.kind == "int":
            text = str(self.tokens_int(value_token)[0])
        else:
            text = value_token.text
        field.default_value = ("-" if negative else "") + text


def _c_escape(raw: bytes) -> str:
    return text_encoding.CEscape(raw, as_utf8=False)
