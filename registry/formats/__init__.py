"""Schema formats: one module per schema type, looked up by the registry's type name."""

from __future__ import annotations

from registry.errors import InvalidSchema
from registry.formats.base import (
    Incompatibility,
    ParsedSchema,
    ResolvedReference,
    SchemaFormat,
)

__all__ = [
    "FORMATS",
    "Incompatibility",
    "ParsedSchema",
    "ResolvedReference",
    "SchemaFormat",
    "get_format",
]


def _load_formats() -> dict[str, SchemaFormat]:
    from registry.formats.avro import AVRO
    from registry.formats.jsonschema import JSON
    from registry.formats.protobuf import PROTOBUF

    return {AVRO.schema_type: AVRO, JSON.schema_type: JSON, PROTOBUF.schema_type: PROTOBUF}


FORMATS: dict[str, SchemaFormat] = {}


def get_format(schema_type: str | None) -> SchemaFormat:
    """The format for ``schema_type`` (``None`` means AVRO, as in Confluent's API)."""
    if not FORMATS:
        FORMATS.update(_load_formats())
    name = (schema_type or "AVRO").upper()
    try:
        return FORMATS[name]
    except KeyError:
        raise InvalidSchema(
            f"Invalid schema type {schema_type!r}; supported types: {', '.join(sorted(FORMATS))}"
        ) from None
