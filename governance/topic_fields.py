"""A topic's tagged schema fields, for the policies asked when the topic is read.

The fields of the latest live version of the topic's subjects (``<topic>-value``
and ``<topic>-key``: the topic name strategy, as the registry knows a topic by)
with their tags (Avro ``confluent:tags``, JSON Schema ``confluent:tags``,
Protobuf ``(confluent.field_meta).tags``, ``metadata.tags``), as ``governance.policies.fields`` reads them. Subjects'
latest versions come from the broker's ``SchemaState`` (kept current by the
registry outbox); the fields are computed once per schema id (ids are
immutable), so a check is a dictionary lookup once a topic has been read.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from typing import Any, Protocol

from governance.policies.fields import iter_fields
from registry.store import StoredSchema

__all__ = ["SubjectLookup", "TopicFields"]

_CACHE_SIZE = 10_000


class SubjectLookup(Protocol):
    """What is needed of the registry (the broker's ``SchemaState``)."""

    def latest(self, subject: str) -> Any:
        """The latest live version of ``subject`` (with ``schema_id``), or None."""

    def schema(self, schema_id: int) -> StoredSchema | None:
        """The schema with this id."""

    def parsed(self, schema_id: int) -> Any:
        """The schema with this id, parsed (asked for Protobuf schemas only)."""


class TopicFields:
    """``fields(topic)``: field full name -> tags, over the topic's value and key schemas."""

    def __init__(self, schemas: SubjectLookup) -> None:
        self.schemas = schemas
        self._by_schema: dict[int, dict[str, tuple[str, ...]]] = {}
        self._lock = threading.Lock()

    def __call__(self, topic: str) -> Mapping[str, tuple[str, ...]]:
        fields: dict[str, tuple[str, ...]] = {}
        for subject in (f"{topic}-value", f"{topic}-key"):
            latest = self.schemas.latest(subject)
            if latest is not None:
                fields.update(self._fields_of(int(latest.schema_id)))
        return fields

    def _fields_of(self, schema_id: int) -> dict[str, tuple[str, ...]]:
        with self._lock:
            known = self._by_schema.get(schema_id)
        if known is not None:
            return known
        stored = self.schemas.schema(schema_id)
        found: dict[str, tuple[str, ...]] = {}
        if stored is not None:
            document: Any = None
            parsed: Any = None
            if stored.schema_type.upper() == "PROTOBUF":
                parsed = self.schemas.parsed(schema_id)
            else:
                document = json.loads(stored.schema_text)
            for field in iter_fields(stored.schema_type, document, stored.metadata, parsed):
                found[field.full_name] = field.tags
        with self._lock:
            if len(self._by_schema) >= _CACHE_SIZE:
                self._by_schema.pop(next(iter(self._by_schema)))
            self._by_schema[schema_id] = found
        return found
