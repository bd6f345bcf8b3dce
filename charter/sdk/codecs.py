"""One codec per registered schema: value -> framed bytes and payload -> value, built once.

``Codec.encode(value)`` validates and writes Confluent's frame (magic byte 0,
4-byte big-endian schema id, payload) or raises ``ValidationError`` naming the
field; ``Codec.decode(payload)`` reads a payload (after the frame) back into
Python values. Avro encodes with the native encoder (``avro_program``) when it
is built, falling back per value to a generated Python encoder
(``avro_encoder``), and decodes with fastavro through the registry's payload validator; JSON Schema
validates with the registry's compiled validator and writes compact JSON text,
as confluent-kafka's ``JSONSerializer`` does. A schema with references (other
subjects' Avro named types, JSON Schema ``$ref`` URIs) is built with them
resolved (``charter.sdk.references``): Avro as one self-contained schema with
the referenced types inlined, JSON Schema with each reference registered
under its name for ``$ref``. Protobuf is ``protobuf_codec``.
"""

from __future__ import annotations

import io
import json
import struct
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import fastavro

from charter.sdk.avro_encoder import Mismatch, compile_encoder
from charter.sdk.avro_explain import explain
from charter.sdk.avro_program import native_encoder
from charter.sdk.errors import ValidationError
from registry.errors import RegistryError
from registry.formats import get_format
from registry.formats.avro_payload import AvroPayloadValidator
from registry.formats.base import PayloadInvalid, ResolvedReference

__all__ = ["MAGIC", "AvroCodec", "Codec", "JsonCodec", "build_codec", "frame_header", "unframe"]

MAGIC = 0
_HEADER = struct.Struct(">bI")


def frame_header(schema_id: int) -> bytes:
    return _HEADER.pack(MAGIC, schema_id)


def unframe(data: bytes) -> tuple[int, bytes]:
    """``(schema_id, payload)`` of a framed record; ``ValueError`` when the frame is not Confluent's."""
    if len(data) < 5:
        raise ValueError(f"{len(data)} bytes is too short for Confluent's 5-byte frame")
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"magic byte {magic} is not 0: not Confluent's wire format")
    return schema_id, data[5:]


class Codec(Protocol):
    schema_type: str
    schema_id: int
    document: Any  # the schema as JSON (for rules and typed conversions)

    def encode(self, value: Any) -> bytes: ...

    def decode(self, payload: bytes) -> Any: ...

    def decode_as(self, payload: bytes, reader: Any) -> Any:
        """``payload`` (written with this schema) read as ``reader``'s schema (a codec of the
        same type): Avro schema resolution, or JSON validated against the reader."""
        ...

    def conform(self, value: Any) -> Any:
        """``value`` (e.g. after migration rules) as this schema reads it; ``PayloadInvalid``
        when it does not fit."""
        ...


# What the generated encoder raises for a value that does not fit: a mismatch, a number too
# large for a float, a str with lone surrogates, a value nested too deeply.
_REFUSED = (Mismatch, OverflowError, UnicodeEncodeError, RecursionError)


class AvroCodec:
    """An Avro schema compiled once: the native and generated encoders and fastavro's reader.

    ``try_encode(value)`` is the fast path: the framed bytes, or None when the
    value needs ``encode`` (which falls back to Python and explains refusals).
    """

    schema_type = "AVRO"

    def __init__(self, schema_id: int, document: Any) -> None:
        self.schema_id = schema_id
        self.document = document
        self._named: dict[str, Any] = {}
        self._parsed = fastavro.parse_schema(document, named_schemas=self._named)
        header = frame_header(schema_id)
        self._encode = compile_encoder(self._parsed, self._named, header)
        self._native = native_encoder(self._parsed, self._named, header)
        self.try_encode: Callable[[Any], bytes | None] = self._native or self._try_python
        self._reader = AvroPayloadValidator(document)

    def _try_python(self, value: Any) -> bytes | None:
        try:
            return self._encode(value)
        except _REFUSED:
            return None

    def encode(self, value: Any) -> bytes:
        framed = self.try_encode(value)
        if framed is not None:
            return framed
        try:  # declined by the fast path: the generated encoder decides, and a refusal is explained
            return self._encode(value)
        except RecursionError:
            raise ValidationError("#: the value is nested too deeply", "#") from None
        except _REFUSED:
            path, message = explain(self._parsed, self._named, value)
            raise ValidationError(message, path) from None

    def decode(self, payload: bytes) -> Any:
        return self._reader(payload)

    def decode_as(self, payload: bytes, reader: Any) -> Any:
        if not isinstance(reader, AvroCodec):
            raise PayloadInvalid(f"#: cannot read Avro as {reader.schema_type}", "#")
        try:
            return fastavro.schemaless_reader(io.BytesIO(payload), self._parsed, reader._parsed)
        except fastavro.read.SchemaResolutionError as error:
            raise PayloadInvalid(f"#: the reader schema cannot read this record: {error}") from None
        except Exception as error:  # a broken payload: the writer's reader names the field
            self._reader(payload)
            raise PayloadInvalid(
                f"#: cannot read the record as the reader schema: {error}"
            ) from None

    def conform(self, value: Any) -> Any:
        """Written with fastavro (missing fields take their defaults, unknown ones are dropped)
        and read back, so the value has exactly this schema's shape."""
        buffer = io.BytesIO()
        try:
            fastavro.schemaless_writer(buffer, self._parsed, value)
        except Exception as error:  # fastavro raises many kinds: any means it does not fit
            raise PayloadInvalid(f"#: the value does not fit the reader schema: {error}") from None
        return self._reader(buffer.getvalue())


class JsonCodec:
    """A JSON Schema compiled once by the registry's JSON format; values written as compact JSON."""

    schema_type = "JSON"

    def __init__(
        self, schema_id: int, schema_str: str, references: Sequence[ResolvedReference] = ()
    ) -> None:
        self.schema_id = schema_id
        self.document = json.loads(schema_str)
        self._schema = get_format("JSON").parse(schema_str, references)
        self._header = frame_header(schema_id)

    def encode(self, value: Any) -> bytes:
        try:
            self._schema.validate(value)  # type: ignore[attr-defined]
        except PayloadInvalid as invalid:
            raise ValidationError(invalid.message, invalid.path) from None
        try:
            text = json.dumps(value, separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as error:
            raise ValidationError(f"#: not JSON-serializable ({error})", "#") from None
        return self._header + text.encode("utf-8")

    def decode(self, payload: bytes) -> Any:
        return self._schema.payload_validator(payload)

    def decode_as(self, payload: bytes, reader: Any) -> Any:
        if not isinstance(reader, JsonCodec):
            raise PayloadInvalid(f"#: cannot read JSON as {reader.schema_type}", "#")
        return reader.conform(self.decode(payload))

    def conform(self, value: Any) -> Any:
        self._schema.validate(value)  # type: ignore[attr-defined]
        return value


def _avro_document(schema_str: str, references: Sequence[ResolvedReference]) -> Any:
    """The schema as JSON; with references, one self-contained schema (their types inlined)."""
    if not references:
        return json.loads(schema_str)
    return get_format("AVRO").parse(schema_str, references).standalone  # type: ignore[attr-defined]


def build_codec(
    schema_id: int,
    schema_type: str | None,
    schema_str: str,
    references: Sequence[ResolvedReference] = (),
) -> Codec:
    """The codec of a registered schema; ``ValidationError`` for types the SDK cannot write.

    ``references`` are the schema's references resolved in dependency order.
    """
    kind = (schema_type or "AVRO").upper()
    try:
        if kind == "AVRO":
            return AvroCodec(schema_id, _avro_document(schema_str, references))
        if kind == "JSON":
            return JsonCodec(schema_id, schema_str, references)
        if kind == "PROTOBUF":
            from charter.sdk.protobuf_codec import ProtobufCodec  # it imports this module

            return ProtobufCodec(schema_id, schema_str, references)
    except (ValueError, RegistryError, fastavro.schema.SchemaParseException) as error:
        raise ValidationError(f"#: schema {schema_id} cannot be used: {error}", "#") from None
    raise ValidationError(f"#: the SDK does not serialize {kind} schemas", "#")
