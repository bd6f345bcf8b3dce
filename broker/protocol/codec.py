"""Request decoding and response encoding over kio's typed entities.

``decode_request`` turns one frame into a header and a typed request object of
the exact version asked for; ``encode_response`` turns a typed response back into
a size-prefixed frame with the right response header. Record batches stay raw
bytes (kio's ``Records`` is ``bytes``): nothing here looks inside them.
"""

from __future__ import annotations

import dataclasses
import functools
import io
import struct
from typing import Any

from kio.index import load_request_schema, load_response_schema
from kio.schema.index import api_key_map, schema_name_map
from kio.serial import entity_reader, entity_writer

from broker.protocol.errors import MalformedRequest, UnknownApiKey, UnsupportedApiVersion
from broker.protocol.header import RequestHeader, parse_request_header, peek_api

__all__ = [
    "API_VERSIONS_KEY",
    "DecodedRequest",
    "decode_request",
    "encode_request",
    "encode_response",
    "known_versions",
    "request_class",
    "response_class",
]

API_VERSIONS_KEY = 18
_CORRELATION = struct.Struct(">i")
_SIZE_AND_CORRELATION = struct.Struct(">ii")


@dataclasses.dataclass(frozen=True, slots=True)
class DecodedRequest:
    """A parsed request: its header and the kio entity of its body."""

    header: RequestHeader
    body: Any


def known_versions(api_key: int) -> tuple[int, int] | None:
    """The (min, max) versions the codec can decode for ``api_key``, or None if unknown."""
    name = api_key_map.get(api_key)
    if name is None:
        return None
    versions = schema_name_map[name]
    return min(versions), max(versions)


@functools.cache
def request_class(api_key: int, api_version: int) -> type:
    """The kio request entity class of one API version (raises if the codec lacks it)."""
    if api_key not in api_key_map:
        raise UnknownApiKey(api_key)
    try:
        return load_request_schema(api_key, api_version)
    except Exception:
        raise UnsupportedApiVersion(api_key, api_version) from None


@functools.cache
def response_class(api_key: int, api_version: int) -> type:
    """The kio response entity class of one API version."""
    if api_key not in api_key_map:
        raise UnknownApiKey(api_key)
    try:
        return load_response_schema(api_key, api_version)
    except Exception:
        raise UnsupportedApiVersion(api_key, api_version) from None


@functools.cache
def _reader(cls: type) -> Any:
    return entity_reader(cls)


@functools.cache
def _writer(cls: type) -> Any:
    return entity_writer(cls)


def _request_header_flexible(api_key: int, api_version: int) -> bool:
    return bool(request_class(api_key, api_version).__flexible__)


def _response_header_flexible(api_key: int, api_version: int) -> bool:
    # ApiVersions responses always use header v0 so that a client can read the
    # answer whatever version it asked for (KIP-511).
    if api_key == API_VERSIONS_KEY:
        return False
    return bool(response_class(api_key, api_version).__flexible__)


def decode_request(frame: bytes | memoryview) -> DecodedRequest:
    """Decode one frame (without its size prefix) into a header and a typed body.

    ``frame`` may be a read-only memoryview (the server hands large frames over
    without copying them); the records of a produce request come out as ``bytes``.

    Raises ``UnknownApiKey``, ``UnsupportedApiVersion`` (carrying the header, so
    ApiVersions can still be answered) or ``MalformedRequest``. Bytes left after
    the body are ignored, as in Apache Kafka.
    """
    api_key, api_version, _correlation_id = peek_api(frame)
    try:
        cls = request_class(api_key, api_version)
    except UnsupportedApiVersion as exc:
        header, _ = parse_request_header(frame, flexible=False)
        exc.header = header  # type: ignore[attr-defined]
        raise
    header, offset = parse_request_header(frame, flexible=bool(cls.__flexible__))
    try:
        body, _size = _reader(cls)(frame, offset)
    except Exception as exc:  # the native reader raises assorted errors on bad input
        raise MalformedRequest(
            f"cannot decode {cls.__name__} v{api_version}: {type(exc).__name__}: {exc}"
        ) from None
    # Bytes after the body are ignored, as Apache Kafka does (it parses the body
    # and never checks what remains). librdkafka depends on it: its flexible
    # Metadata request for "all topics" (v9+) writes the null topics array as a
    # one-byte varint followed by the three stale bytes of its four-byte
    # placeholder, so the frame carries three trailing bytes.
    return DecodedRequest(header, body)


def encode_response(header: RequestHeader, response: Any) -> bytes:
    """Encode a typed response for ``header``'s request as a size-prefixed frame."""
    buffer = io.BytesIO()
    buffer.write(b"\0\0\0\0")
    buffer.write(_CORRELATION.pack(header.correlation_id))
    if _response_header_flexible(header.api_key, header.api_version):
        buffer.write(b"\0")  # no tagged fields in the response header
    _writer(type(response))(buffer, response)
    frame = buffer.getbuffer()
    struct.pack_into(">i", frame, 0, len(frame) - 4)
    del frame
    return buffer.getvalue()


def encode_request(request: Any, correlation_id: int, client_id: str | None = "charter") -> bytes:
    """Encode a typed request as a size-prefixed frame (for tests, benchmarks and tools)."""
    api_key = int(request.__api_key__)
    api_version = int(request.__version__)
    buffer = io.BytesIO()
    buffer.write(b"\0\0\0\0")
    buffer.write(struct.pack(">hhi", api_key, api_version, correlation_id))
    if client_id is None:
        buffer.write(b"\xff\xff")
    else:
        encoded = client_id.encode()
        buffer.write(struct.pack(">h", len(encoded)) + encoded)
    if _request_header_flexible(api_key, api_version):
        buffer.write(b"\0")
    _writer(type(request))(buffer, request)
    frame = buffer.getbuffer()
    struct.pack_into(">i", frame, 0, len(frame) - 4)
    del frame
    return buffer.getvalue()
