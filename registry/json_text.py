"""The text of a JSON request body, whichever Unicode encoding the client wrote it in.

Confluent reads bodies with Jackson, which ignores any ``charset`` parameter and
detects the encoding from the first bytes as RFC 4627 §3 describes: a byte order
mark if there is one (UTF-32 BE/LE, UTF-16 BE/LE, UTF-8, in that order of checks),
otherwise the pattern of zero bytes, since the first two characters of a JSON text
are ASCII (``00 00 00 xx`` UTF-32BE, ``xx 00 00 00`` UTF-32LE, ``00 xx`` UTF-16BE,
``xx 00`` UTF-16LE, anything else UTF-8). The two unusual UCS-4 byte orders (2143
and 3412) are refused, as Jackson refuses them. Decoding is strict: a body that is
not valid in the detected encoding is refused, never repaired.
"""

from __future__ import annotations

import codecs
from typing import Any

__all__ = [
    "MAX_JSON_NESTING",
    "UndecodableBody",
    "decode_json_bytes",
    "detect_encoding",
    "nested_deeper_than",
]


class UndecodableBody(ValueError):
    """The body is not text in any encoding JSON allows; the message says why."""


# (byte order mark, codec), checked in this order: a UTF-32LE mark starts with the UTF-16LE one.
_BYTE_ORDER_MARKS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF8, "utf-8"),
)
_UNSUPPORTED_MARKS = {b"\x00\x00\xff\xfe": "2143", b"\xfe\xff\x00\x00": "3412"}


def detect_encoding(body: bytes) -> tuple[str, int]:
    """The codec of ``body`` and how many leading bytes are a byte order mark to skip."""
    head = body[:4]
    if len(head) == 4:  # Jackson looks for a mark only when four bytes are there
        if head in _UNSUPPORTED_MARKS:
            raise UndecodableBody(_unsupported(_UNSUPPORTED_MARKS[head]))
        for mark, codec in _BYTE_ORDER_MARKS:
            if head.startswith(mark):
                return codec, len(mark)
        if head[:3] == b"\x00\x00\x00":
            return "utf-32-be", 0
        if head[1:] == b"\x00\x00\x00":
            return "utf-32-le", 0
        if head[0] == 0 and head[2:] == b"\x00\x00":
            raise UndecodableBody(_unsupported("3412"))
        if head[:2] == b"\x00\x00" and head[3] == 0:
            raise UndecodableBody(_unsupported("2143"))
    if len(head) >= 2:
        if head[0] == 0:
            return "utf-16-be", 0
        if head[1] == 0:
            return "utf-16-le", 0
    return "utf-8", 0


def decode_json_bytes(body: bytes) -> str:
    """``body`` as text, decoded as Jackson would read it; ``UndecodableBody`` if it is not."""
    codec, skip = detect_encoding(body)
    try:
        return body[skip:].decode(codec)
    except UnicodeDecodeError as exc:
        name = codec.upper()
        raise UndecodableBody(
            f"Request body is not valid {name}: {exc.reason} at byte {exc.start + skip}"
        ) from None


def _unsupported(order: str) -> str:
    return f"Request body is in UCS-4 with the unusual byte order {order}, which is not supported"


MAX_JSON_NESTING = 1000
"""Jackson's default ``StreamReadConstraints`` nesting limit, which Confluent's parser applies.

Checked explicitly on every JSON document the registry reads: the interpreter's
recursion limit, which ``json.loads`` and recursive walks hit somewhere near
the same depth, moves with the stack and with libraries that change it (the
pure-Python CEL runtime sets it to 2,500 when it starts)."""


def nested_deeper_than(document: Any, limit: int) -> bool:
    """Whether arrays and objects in ``document`` nest deeper than ``limit`` (iterative walk)."""
    pending: list[tuple[Any, int]] = [(document, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False
