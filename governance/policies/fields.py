"""Walk a schema's fields for the policies that look at them (docs, PII tags, required fields).

``iter_fields`` yields one ``SchemaField`` per Avro record field (through nested
records, arrays, maps and unions), JSON Schema property (through nested
objects and array items) or Protobuf field of the schema's first message
(through nested and referenced messages, repeated fields and maps; read from
the parsed schema), with the name a policy reports
(``com.acme.Order.customer.email`` style: the record's full name and the field).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from governance.rules import field_tags
from registry.formats.protobuf_fields import walk_fields

__all__ = ["SchemaField", "iter_fields", "top_level_field_names"]


@dataclasses.dataclass(frozen=True)
class SchemaField:
    full_name: str  # Record.field (Avro) or title.property path (JSON)
    name: str
    definition: Mapping[str, Any]  # the field's own JSON (with doc / description / tags)
    doc: str | None
    tags: tuple[str, ...]


def iter_fields(
    schema_type: str, schema: Any, metadata: Mapping[str, Any] | None, parsed: Any = None
) -> Iterator[SchemaField]:
    if schema_type.upper() == "JSON":
        yield from _json_fields(schema, str(_mapping(schema).get("title", "")), metadata)
    elif schema_type.upper() == "AVRO":
        yield from _avro_fields(schema, None, metadata, set())
    elif schema_type.upper() == "PROTOBUF" and parsed is not None:
        for field in walk_fields(parsed):
            tags = field_tags(field.full_name, field.tags, metadata)
            yield SchemaField(field.full_name, field.name, {}, field.description or None, tags)


def top_level_field_names(schema_type: str, schema: Any, parsed: Any = None) -> set[str] | None:
    """Names of the top-level fields, or None when the schema is not a record/object
    (a Protobuf schema: its first message's fields)."""
    if schema_type.upper() == "PROTOBUF":
        if parsed is None:
            return None
        return {field.name for field in walk_fields(parsed) if len(field.path) == 1}
    schema = _mapping(schema)
    if schema_type.upper() == "JSON":
        properties = schema.get("properties")
        return set(properties) if isinstance(properties, Mapping) else None
    if schema_type.upper() == "AVRO" and schema.get("type") == "record":
        return {str(field.get("name")) for field in schema.get("fields", ())}
    return None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _avro_fields(
    schema: Any, namespace: str | None, metadata: Mapping[str, Any] | None, seen: set[str]
) -> Iterator[SchemaField]:
    if isinstance(schema, list):
        for branch in schema:
            yield from _avro_fields(branch, namespace, metadata, seen)
        return
    if not isinstance(schema, Mapping):
        return
    kind = schema.get("type")
    if kind == "array":
        yield from _avro_fields(schema.get("items"), namespace, metadata, seen)
        return
    if kind == "map":
        yield from _avro_fields(schema.get("values"), namespace, metadata, seen)
        return
    if kind != "record":
        if isinstance(kind, (list, Mapping)):
            yield from _avro_fields(kind, namespace, metadata, seen)
        return
    name = str(schema.get("name", ""))
    namespace = schema.get("namespace", namespace)
    full = name if "." in name or not namespace else f"{namespace}.{name}"
    if full in seen:
        return
    seen.add(full)
    for field in schema.get("fields", ()):
        field_name = str(field.get("name"))
        full_name = f"{full}.{field_name}"
        tags = field_tags(full_name, field.get("confluent:tags") or (), metadata)
        yield SchemaField(full_name, field_name, field, field.get("doc"), tags)
        yield from _avro_fields(field.get("type"), namespace, metadata, seen)


def _json_fields(
    schema: Any, prefix: str, metadata: Mapping[str, Any] | None
) -> Iterator[SchemaField]:
    schema = _mapping(schema)
    for prop, sub in _mapping(schema.get("properties")).items():
        sub = _mapping(sub)
        full_name = f"{prefix}.{prop}" if prefix else str(prop)
        tags = field_tags(full_name, sub.get("confluent:tags") or (), metadata)
        yield SchemaField(full_name, str(prop), sub, sub.get("description"), tags)
        yield from _json_fields(sub, full_name, metadata)
        if isinstance(sub.get("items"), Mapping):
            yield from _json_fields(sub["items"], full_name, metadata)
