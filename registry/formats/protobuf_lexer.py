"""Tokens of ``.proto`` text, each with its line and column, and the comments that lead it.

The parser (``protobuf_parse``) reads these; keeping the scanning apart lets every
syntax error name the line and column of the token that broke it, as ``protoc``
does (``3:17: Expected ";".``).
"""

from __future__ import annotations

import dataclasses
import re

__all__ = ["ProtoSyntaxError", "Token", "tokenize", "unescape"]


class ProtoSyntaxError(ValueError):
    """A ``.proto`` text that cannot be parsed; ``line`` and ``column`` are 1-based."""

    def __init__(self, message: str, line: int, column: int) -> None:
        super().__init__(f"{line}:{column}: {message}")
        self.message = message
        self.line = line
        self.column = column


@dataclasses.dataclass(frozen=True, slots=True)
class Token:
    """``kind`` is ``ident``, ``int``, ``float``, ``string``, ``symbol`` or ``eof``."""

    kind: str
    text: str
    line: int
    column: int
    leading_comment: str | None = None


_TOKEN = re.compile(
    r"""
    (?P<ws>[ \t\r\f\v]+|\n)
  | (?P<line_comment>//[^\n]*)
  | (?P<block_comment>/\*.*?\*/)
  | (?P<float>(?:\d+\.\d*|\.\d+)(?:[eE][+-]?\d+)?|\d+[eE][+-]?\d+)
  | (?P<int>0[xX][0-9a-fA-F]+|\d+)
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
  | (?P<symbol>[{}\[\]()<>;,=.:+\-])
    """,
    re.VERBOSE | re.DOTALL,
)


def tokenize(text: str) -> list[Token]:
    """Every token of ``text``, ending with an ``eof`` token; ``ProtoSyntaxError`` on bad input."""
    tokens: list[Token] = []
    line, line_start, position = 1, 0, 0
    comments: list[tuple[int, int, str]] = []  # (first line, last line, text) since the last token
    previous_line = 0
    length = len(text)
    while position < length:
        match = _TOKEN.match(text, position)
        column = position - line_start + 1
        if match is None:
            if text.startswith("/*", position):
                raise ProtoSyntaxError("End-of-file inside block comment.", line, column)
            if text[position] in "\"'":
                raise ProtoSyntaxError("Unterminated string literal.", line, column)
            raise ProtoSyntaxError(f"Invalid character {text[position]!r}.", line, column)
        kind = match.lastgroup
        value = match.group()
        position = match.end()
        if kind == "ws":
            if value == "\n":
                line += 1
                line_start = position
            continue
        if kind in ("line_comment", "block_comment"):
            first = line
            newlines = value.count("\n")
            if newlines:
                line += newlines
                line_start = match.start() + value.rindex("\n") + 1
            comments.append((first, line, _comment_text(value)))
            continue
        if (
            kind == "ident"
            and tokens
            and tokens[-1].kind in ("int", "float")
            and _adjacent(tokens[-1], column, line)
        ):
            raise ProtoSyntaxError("Need space between number and identifier.", line, column)
        tokens.append(Token(kind, value, line, column, _leading(comments, previous_line, line)))  # type: ignore[arg-type]
        comments = []
        previous_line = line
    tokens.append(Token("eof", "", line, position - line_start + 1))
    return tokens


def _adjacent(token: Token, column: int, line: int) -> bool:
    return token.line == line and token.column + len(token.text) == column


def _comment_text(raw: str) -> str:
    if raw.startswith("//"):
        return raw[2:].removeprefix(" ")
    body = raw[2:-2]
    lines = [part.strip().removeprefix("*").removeprefix(" ") for part in body.split("\n")]
    return "\n".join(lines).strip()


def _leading(comments: list[tuple[int, int, str]], previous_line: int, line: int) -> str | None:
    """The comment block right above a token (no blank line between), not trailing the previous one."""
    block: list[str] = []
    expected_last = line - 1
    for first, last, text in reversed(comments):
        if first <= previous_line:
            break
        if last not in (expected_last, line):
            break
        block.insert(0, text)
        expected_last = first - 1
    return "\n".join(block) if block else None


_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    "\\": "\\",
    "'": "'",
    '"': '"',
    "?": "?",
}
_ESCAPE = re.compile(
    r"\\(?:([abfnrtv\\'\"?])|[xX]([0-9a-fA-F]{1,2})|([0-7]{1,3})|u([0-9a-fA-F]{4})|U([0-9a-fA-F]{8})|(.))",
    re.DOTALL,
)


def unescape(token: Token) -> bytes:
    """The bytes a string literal token stands for (C-style escapes, as protoc reads them)."""
    body = token.text[1:-1]
    out = bytearray()
    position = 0
    for match in _ESCAPE.finditer(body):
        out += body[position : match.start()].encode("utf-8")
        simple, hexa, octal, short, long, bad = match.groups()
        if simple is not None:
            out += _ESCAPES[simple].encode()
        elif hexa is not None:
            out.append(int(hexa, 16))
        elif octal is not None:
            out.append(int(octal, 8) & 0xFF)
        elif short is not None or long is not None:
            code = int(short or long, 16)
            if code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
                raise ProtoSyntaxError("Invalid unicode escape.", token.line, token.column)
            out += chr(code).encode("utf-8")
        else:
            raise ProtoSyntaxError(
                f"Invalid escape sequence in string literal: \\{bad}", token.line, token.column
            )
        position = match.end()
    out += body[position:].encode("utf-8")
    return bytes(out)
