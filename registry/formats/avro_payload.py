"""Avro binary payload validation: a generated decoder checks, a path-tracking walker explains.

``AvroPayloadValidator(schema_json)`` parses the schema with fastavro once and
generates its decoder (``registry.formats.avro_decode``); calling it with a
payload (the Avro binary encoding of one datum, without Confluent's magic
byte and schema id) returns the decoded value as fastavro's
``schemaless_reader`` gives it — or, with ``fields``, only those top-level
fields of a record, the rest checked but not built (what the produce gate's
rules read) — and refuses trailing bytes. The decoder's own errors say
little, so when it fails the payload is walked again by a small reader that
tracks where it is and names the field: ``#/items/2/price: truncated: need 8
bytes, 3 left``. The walker runs only on the failure path.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Collection
from typing import Any

import fastavro

from registry.formats.avro_decode import ZERO_WIDTH_ITEMS, compile_decoder, zero_width
from registry.formats.base import PayloadInvalid

__all__ = ["AvroPayloadValidator"]

log = logging.getLogger(__name__)

_INT_MIN, _INT_MAX = -(2**31), 2**31 - 1


class AvroPayloadValidator:
    """Decode-and-check for one Avro schema (``registry.formats.base.PayloadValidator``)."""

    def __init__(self, schema_json: Any, fields: Collection[str] | None = None) -> None:
        self._named: dict[str, Any] = {}
        self._schema = fastavro.parse_schema(schema_json, named_schemas=self._named)
        self.decode: Callable[[bytes], Any] | None
        """The generated decoder alone (raises anything on a bad payload), if there is one."""
        try:
            self.decode = compile_decoder(self._schema, self._named, fields)
        except Exception as error:  # e.g. nested deeper than Python compiles: fastavro decodes it
            log.warning(
                "no generated Avro decoder (%s: %s); fastavro decodes", type(error).__name__, error
            )
            self.decode = None

    @property
    def parsed(self) -> tuple[Any, dict[str, Any]]:
        """The schema as fastavro parsed it, and its named types (what the decoder was built from)."""
        return self._schema, self._named

    def __call__(self, payload: bytes) -> Any:
        decode = self.decode
        if decode is None:
            return self._fastavro(payload)
        try:
            return decode(payload)
        except Exception as error:  # IndexError at the end, UnicodeDecodeError, Invalid...
            raise self._explain(payload, error) from None

    def _fastavro(self, payload: bytes) -> Any:
        stream = io.BytesIO(payload)
        try:
            value = fastavro.schemaless_reader(stream, self._schema, None)
        except Exception as error:  # fastavro raises EOFError, IndexError, UnicodeDecodeError...
            raise self._explain(payload, error) from None
        if stream.tell() != len(payload):
            raise PayloadInvalid(
                f"#: {len(payload) - stream.tell()} bytes after the end of the Avro record", "#"
            )
        return value

    def _explain(self, payload: bytes, error: Exception) -> PayloadInvalid:
        walker = _Walker(payload, self._named)
        try:
            walker.read(self._schema, "#")
        except PayloadInvalid as found:
            return found
        except RecursionError:
            return PayloadInvalid("#: the payload is nested too deeply to decode", "#")
        if walker.pos != len(payload):
            return PayloadInvalid(
                f"#: {len(payload) - walker.pos} bytes after the end of the Avro record", "#"
            )
        if isinstance(error, RecursionError):
            return PayloadInvalid("#: the payload is nested too deeply to decode", "#")
        detail = str(error) or type(error).__name__
        return PayloadInvalid(f"#: not valid Avro for the schema ({detail})", "#")


class _Walker:
    """Reads the Avro binary encoding of ``schema`` from ``data``, raising at the first problem."""

    def __init__(self, data: bytes, named: dict[str, Any]) -> None:
        self.data = data
        self.pos = 0
        self.named = named
        self.zero_width_left = ZERO_WIDTH_ITEMS

    def fail(self, path: str, message: str) -> PayloadInvalid:
        return PayloadInvalid(f"{path}: {message}", path)

    def take(self, count: int, path: str) -> bytes:
        left = len(self.data) - self.pos
        if count > left:
            raise self.fail(path, f"truncated: need {count} bytes, {left} left")
        chunk = self.data[self.pos : self.pos + count]
        self.pos += count
        return chunk

    def long(self, path: str) -> int:
        result = shift = 0
        while True:
            if self.pos >= len(self.data):
                raise self.fail(path, "truncated: the payload ends inside a number")
            byte = self.data[self.pos]
            self.pos += 1
            result |= (byte & 0x7F) << shift
            if not byte & 0x80:
                return (result >> 1) ^ -(result & 1)
            shift += 7
            if shift > 63:
                raise self.fail(path, "a number longer than 10 bytes")

    def length(self, path: str, what: str) -> int:
        count = self.long(path)
        if count < 0:
            raise self.fail(path, f"negative {what} length {count}")
        return count

    def read(self, schema: Any, path: str) -> None:
        if isinstance(schema, str):
            primitive = _PRIMITIVES.get(schema)
            if primitive is not None:
                primitive(self, path)
                return
            schema = self.named[schema]
        if isinstance(schema, list):
            index = self.long(path)
            if not 0 <= index < len(schema):
                raise self.fail(
                    path, f"union branch {index} does not exist ({len(schema)} branches)"
                )
            self.read(schema[index], path)
            return
        kind = schema["type"]
        if kind == "record" or kind == "error":
            for field in schema["fields"]:
                self.read(field["type"], f"{path}/{_escape(field['name'])}")
        elif kind == "enum":
            index = self.long(path)
            symbols = schema["symbols"]
            if not 0 <= index < len(symbols):
                raise self.fail(
                    path, f"enum index {index} is not one of the {len(symbols)} symbols"
                )
        elif kind == "fixed":
            self.take(schema["size"], path)
        elif kind == "array":
            items = schema["items"]
            empty = zero_width(items, self.named)
            self.blocks(path, lambda item_path: self.read(items, item_path), empty)
        elif kind == "map":
            self.blocks(path, lambda _: self.map_entry(schema["values"], path), False)
        else:
            self.read(kind, path)  # {"type": "long", "logicalType": ...} and the like

    def map_entry(self, values: Any, path: str) -> None:
        key = self.take(self.length(path, "map key"), path)
        try:
            name = key.decode("utf-8")
        except UnicodeDecodeError:
            raise self.fail(path, "a map key is not valid UTF-8") from None
        self.read(values, f"{path}/{_escape(name)}")

    def blocks(self, path: str, read_item: Callable[[str], None], zero_width_items: bool) -> None:
        index = 0
        while True:
            count = self.long(path)
            if count == 0:
                return
            if count < 0:
                count = -count
                self.long(path)  # block size in bytes
            if zero_width_items:  # other items take a byte at least: the data runs out first
                self.zero_width_left -= count
                if self.zero_width_left < 0:
                    raise self.fail(path, f"more than {ZERO_WIDTH_ITEMS} items that take no bytes")
            for _ in range(count):
                read_item(f"{path}/{index}")
                index += 1


def _null(walker: _Walker, path: str) -> None:
    return None


def _boolean(walker: _Walker, path: str) -> None:
    (byte,) = walker.take(1, path)
    if byte not in (0, 1):
        raise walker.fail(path, f"boolean byte {byte} is neither 0 nor 1")


def _int(walker: _Walker, path: str) -> None:
    value = walker.long(path)
    if not _INT_MIN <= value <= _INT_MAX:
        raise walker.fail(path, f"int {value} is out of the 32-bit range")


def _long(walker: _Walker, path: str) -> None:
    walker.long(path)


def _float(walker: _Walker, path: str) -> None:
    walker.take(4, path)


def _double(walker: _Walker, path: str) -> None:
    walker.take(8, path)


def _bytes(walker: _Walker, path: str) -> None:
    walker.take(walker.length(path, "bytes"), path)


def _string(walker: _Walker, path: str) -> None:
    raw = walker.take(walker.length(path, "string"), path)
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as error:
        raise walker.fail(path, f"string is not valid UTF-8 ({error.reason})") from None


_PRIMITIVES: dict[str, Callable[[_Walker, str], None]] = {
    "null": _null,
    "boolean": _boolean,
    "int": _int,
    "long": _long,
    "float": _float,
    "double": _double,
    "bytes": _bytes,
    "string": _string,
}


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")
