"""JSON values read as the Avro encoder takes them, so what ``charter consume`` prints can be produced.

JSON has no bytes, datetimes or decimals: ``charter consume`` prints them as
base64, ISO 8601 and decimal text. ``avro_from_json(document, value)`` walks an
Avro schema (its JSON document, references inlined) along the value and turns
such text back into Python values: ``bytes``/``fixed`` from base64, the
timestamp, date and time logical types from ISO 8601, ``decimal`` from text or
a number. Anything else, and text that does not parse, is left as it is, so the
encoder names the field that does not fit.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import decimal
import json
from collections.abc import Callable
from typing import Any

__all__ = ["avro_from_json", "needs_conversion"]

_PRIMITIVE = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_TEXT_KINDS = frozenset({"string", "enum"})
_FROM_TEXT: dict[str, Callable[[str], Any]] = {
    "timestamp-millis": datetime.datetime.fromisoformat,
    "timestamp-micros": datetime.datetime.fromisoformat,
    "local-timestamp-millis": datetime.datetime.fromisoformat,
    "local-timestamp-micros": datetime.datetime.fromisoformat,
    "date": datetime.date.fromisoformat,
    "time-millis": datetime.time.fromisoformat,
    "time-micros": datetime.time.fromisoformat,
    "decimal": decimal.Decimal,
}


def needs_conversion(document: Any) -> bool:
    """Whether the schema has a type JSON cannot express (else values pass unchanged)."""
    text = json.dumps(document)
    return '"bytes"' in text or '"fixed"' in text or '"logicalType"' in text


def avro_from_json(document: Any, value: Any) -> Any:
    """``value`` (parsed JSON) with base64, ISO 8601 and decimal text turned into Python values."""
    named: dict[str, Any] = {}
    _collect(document, None, named)
    return _convert(document, value, named)


def _collect(schema: Any, namespace: str | None, named: dict[str, Any]) -> None:
    """The named types of ``schema`` by full and short name."""
    if isinstance(schema, list):
        for branch in schema:
            _collect(branch, namespace, named)
        return
    if not isinstance(schema, dict):
        return
    kind = schema.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        name = str(schema["name"])
        space = schema.get("namespace", namespace)
        full = name if "." in name or not space else f"{space}.{name}"
        named[full] = schema
        named.setdefault(full.rsplit(".", 1)[-1], schema)
        for field in schema.get("fields", ()):
            _collect(field["type"], full.rpartition(".")[0] or None, named)
    elif kind == "array":
        _collect(schema["items"], namespace, named)
    elif kind == "map":
        _collect(schema["values"], namespace, named)
    elif isinstance(kind, dict | list):
        _collect(kind, namespace, named)


def _resolve(schema: Any, named: dict[str, Any]) -> Any:
    if isinstance(schema, str) and schema not in _PRIMITIVE:
        return named.get(schema) or named.get(schema.rsplit(".", 1)[-1]) or schema
    return schema


def _kind(schema: Any) -> Any:
    return schema.get("type") if isinstance(schema, dict) else schema


def _convert(schema: Any, value: Any, named: dict[str, Any]) -> Any:
    schema = _resolve(schema, named)
    if isinstance(schema, list):
        return _union(schema, value, named)
    kind = _kind(schema)
    if isinstance(schema, dict):
        parse = _FROM_TEXT.get(str(schema.get("logicalType")))
        if parse is not None and isinstance(value, str | int | float) and type(value) is not bool:
            try:
                return parse(str(value)) if parse is decimal.Decimal else parse(value)  # type: ignore[arg-type]
            except (ValueError, TypeError, decimal.InvalidOperation):
                return value
        if kind in ("record", "error") and isinstance(value, dict):
            fields = {field["name"]: field["type"] for field in schema["fields"]}
            return {
                key: _convert(fields[key], item, named) if key in fields else item
                for key, item in value.items()
            }
        if kind == "array" and isinstance(value, list):
            return [_convert(schema["items"], item, named) for item in value]
        if kind == "map" and isinstance(value, dict):
            return {key: _convert(schema["values"], item, named) for key, item in value.items()}
        if kind == "fixed":
            return _from_base64(value)
        if isinstance(kind, str | list | dict):
            return _convert(kind, value, named)
        return value
    return _from_base64(value) if kind == "bytes" else value


def _union(branches: list[Any], value: Any, named: dict[str, Any]) -> Any:
    """The value converted by the first branch that changes it; text stays text when a branch
    takes text (``["null", "string", "bytes"]``)."""
    if value is None:
        return None
    resolved = [_resolve(branch, named) for branch in branches]
    if isinstance(value, str) and any(
        _kind(branch) in _TEXT_KINDS and not (isinstance(branch, dict) and "logicalType" in branch)
        for branch in resolved
    ):
        return value
    for branch in resolved:
        if (
            isinstance(value, dict)
            and _kind(branch) in ("record", "error")
            and not set(value) <= {field["name"] for field in branch["fields"]}
        ):
            continue  # a record branch without one of the value's keys
        converted = _convert(branch, value, named)
        if converted is not value:
            return converted
    return value


def _from_base64(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return value
