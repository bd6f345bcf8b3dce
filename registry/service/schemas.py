"""Turning a schema request into a candidate: references pinned and resolved, parsed, identified.

A candidate's ``content_key`` identifies the schema (type, canonical text,
references); its ``fingerprint`` adds metadata and rule set, and is what the
``registry_schema`` table keys on. Parsing goes through the format modules,
which keep the one cache of parsed schemas (by text and resolved references).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from registry.errors import InvalidSchema, SchemaNotFound
from registry.formats import get_format
from registry.formats.avro import AvroSchema
from registry.formats.base import ParsedSchema, ResolvedReference
from registry.service.types import LATEST, SchemaRequest
from registry.store import Reference, Store, StoredSchema

__all__ = ["Candidate", "SchemaResolver"]

_MAX_REFERENCE_DEPTH = 64


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A request schema parsed, with references resolved and identity computed."""

    parsed: ParsedSchema
    schema_type: str
    schema_text: str
    references: tuple[Reference, ...]
    metadata: dict[str, Any] | None
    rule_set: dict[str, Any] | None
    fingerprint: str
    content_key: str


def _identity(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class SchemaResolver:
    """Prepares request schemas and parses stored ones, reading referenced versions from ``store``."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def prepare(self, request: SchemaRequest, *, normalize: bool) -> Candidate:
        if not request.schema or not request.schema.strip():
            raise InvalidSchema("Empty schema")
        schema_format = get_format(request.schema_type)
        references, resolved = self._resolve(request.references, frozenset(), 0)
        try:
            parsed = schema_format.parse(request.schema, resolved)
            if normalize:
                parsed = parsed.normalized()
        except RecursionError:
            raise InvalidSchema("Invalid schema: nested too deeply") from None
        schema_type = schema_format.schema_type
        text = parsed.canonical_string
        content_key = _identity(schema_type, text, [ref.to_json() for ref in references])
        fingerprint = _identity(content_key, request.metadata, request.rule_set)
        return Candidate(
            parsed=parsed,
            schema_type=schema_type,
            schema_text=text,
            references=references,
            metadata=request.metadata,
            rule_set=request.rule_set,
            fingerprint=fingerprint,
            content_key=content_key,
        )

    @staticmethod
    def content_key_of(stored: StoredSchema) -> str:
        return _identity(
            stored.schema_type, stored.schema_text, [ref.to_json() for ref in stored.references]
        )

    def fingerprint_of(self, stored: StoredSchema) -> str:
        return _identity(self.content_key_of(stored), stored.metadata, stored.rule_set)

    def _resolve(
        self, references: Sequence[Reference], visiting: frozenset[tuple[str, int]], depth: int
    ) -> tuple[tuple[Reference, ...], list[ResolvedReference]]:
        """Pin each reference to a version and flatten the tree, dependencies first (42201)."""
        if depth > _MAX_REFERENCE_DEPTH:
            raise InvalidSchema("Schema references are nested too deeply (or form a cycle)")
        pinned: list[Reference] = []
        flattened: dict[str, ResolvedReference] = {}
        for ref in references:
            rows = self.store.versions(ref.subject, include_deleted=True)
            if ref.version == LATEST:
                live = [row for row in rows if not row.deleted]
                row = live[-1] if live else None
            else:
                row = next((row for row in rows if row.version == ref.version), None)
            if row is None:
                raise InvalidSchema(
                    f"Invalid schema reference {ref.name!r}: subject '{ref.subject}' "
                    f"version {ref.version} not found"
                )
            key = (ref.subject, row.version)
            if key in visiting:
                raise InvalidSchema(
                    f"Schema references form a cycle through {ref.subject} v{row.version}"
                )
            stored = self.store.schema_by_id_any(row.schema_id)
            if stored is None:  # pragma: no cover - schema rows are never deleted
                raise InvalidSchema(f"Invalid schema reference {ref.name!r}: schema missing")
            _, nested = self._resolve(stored.references, visiting | {key}, depth + 1)
            for item in nested:
                flattened.setdefault(item.name, item)
            flattened.setdefault(
                ref.name, ResolvedReference(ref.name, ref.subject, row.version, stored.schema_text)
            )
            pinned.append(Reference(ref.name, ref.subject, row.version))
        return tuple(pinned), list(flattened.values())

    def is_inlined_form_of(self, candidate: Candidate, stored: StoredSchema) -> bool:
        """Whether ``candidate`` is ``stored`` sent with its references inlined.

        Confluent's lookup answers such a schema with the version that has the
        references ("a schema sent with all references resolved"). Avro only:
        both sides are compared as self-contained schemas in normal form.
        """
        if candidate.references or not stored.references:
            return False
        if candidate.schema_type != "AVRO" or stored.schema_type != "AVRO":
            return False
        for wanted, have in (
            (candidate.metadata, stored.metadata),
            (candidate.rule_set, stored.rule_set),
        ):
            if wanted is not None and wanted != have:
                return False
        mine, theirs = candidate.parsed, self.parsed_by_id(stored.schema_id)
        if not isinstance(mine, AvroSchema) or not isinstance(theirs, AvroSchema):
            return False
        return bool(mine.standalone == theirs.standalone)

    def parsed_by_id(self, schema_id: int) -> ParsedSchema:
        """A stored schema, parsed (the format modules cache parses by text and references)."""
        stored = self.store.schema_by_id_any(schema_id)
        if stored is None:  # pragma: no cover - rows are never deleted
            raise SchemaNotFound(f"Schema {schema_id} not found")
        _, resolved = self._resolve(stored.references, frozenset(), 0)
        return get_format(stored.schema_type).parse(stored.schema_text, resolved)
