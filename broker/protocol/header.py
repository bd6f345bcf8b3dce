"""Request headers (v1 and flexible v2) parsed by hand, before the body's schema is known.

The header is parsed first because its api key and version choose the body's
schema, and because an unsupported ApiVersions request must still be answered.
"""

from __future__ import annotations

import dataclasses
import struct

from broker.protocol.errors import MalformedRequest

__all__ = ["RequestHeader", "parse_request_header", "skip_tagged_fields"]

_FIXED = struct.Struct(">hhih")


@dataclasses.dataclass(frozen=True, slots=True)
class RequestHeader:
    """What every request carries before its body."""

    api_key: int
    api_version: int
    correlation_id: int
    client_id: str | None


def _read_uvarint(frame: bytes | memoryview, offset: int) -> tuple[int, int]:
    value = 0
    shift = 0
    while True:
        if offset >= len(frame):
            raise MalformedRequest("truncated varint in tagged fields")
        byte = frame[offset]
        offset += 1
        value |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return value, offset
        shift += 7
        if shift > 28:
            raise MalformedRequest("varint longer than 5 bytes in tagged fields")


def skip_tagged_fields(frame: bytes | memoryview, offset: int) -> int:
    """Return the offset just after a tagged-field section starting at ``offset``."""
    count, offset = _read_uvarint(frame, offset)
    for _ in range(count):
        _tag, offset = _read_uvarint(frame, offset)
        size, offset = _read_uvarint(frame, offset)
        offset += size
        if offset > len(frame):
            raise MalformedRequest("tagged field runs past the end of the request")
    return offset


def parse_request_header(frame: bytes | memoryview, flexible: bool) -> tuple[RequestHeader, int]:
    """Parse a request header (v2 when ``flexible``, else v1); return it and the body offset."""
    if len(frame) < _FIXED.size:
        raise MalformedRequest(f"request of {len(frame)} bytes is shorter than a header")
    api_key, api_version, correlation_id, client_id_len = _FIXED.unpack_from(frame, 0)
    offset = _FIXED.size
    client_id: str | None = None
    if client_id_len >= 0:
        end = offset + client_id_len
        if end > len(frame):
            raise MalformedRequest("client_id runs past the end of the request")
        try:
            client_id = str(frame[offset:end], "utf-8")
        except UnicodeDecodeError:
            raise MalformedRequest("client_id is not valid UTF-8") from None
        offset = end
    elif client_id_len != -1:
        raise MalformedRequest(f"negative client_id length {client_id_len}")
    if flexible:
        offset = skip_tagged_fields(frame, offset)
    return RequestHeader(api_key, api_version, correlation_id, client_id), offset


def peek_api(frame: bytes | memoryview) -> tuple[int, int, int]:
    """The api key, version and correlation id of a frame, without validating the rest."""
    if len(frame) < 8:
        raise MalformedRequest(f"request of {len(frame)} bytes is shorter than a header")
    api_key, api_version, correlation_id = struct.unpack_from(">hhi", frame, 0)
    return api_key, api_version, correlation_id
