"""The Avro schema format: parse once (cached), canonical string, fingerprints, compatibility.

``AVRO.parse`` turns schema text plus resolved references into an
``AvroSchema`` (cached by text and references, so a transitive check over
hundreds of versions parses each version once); ``AVRO.check_compatibility``
applies Avro's reader/writer resolution rules as Confluent Schema Registry does.
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Sequence
from typing import Any

from registry.formats import avro_compat
from registry.formats.avro_model import Node
from registry.formats.avro_parse import parse_schema
from registry.formats.avro_payload import AvroPayloadValidator
from registry.formats.avro_write import (
    canonical_json,
    normalized_json,
    parsing_canonical_form,
    rabin_fingerprint,
    standalone_json,
)
from registry.formats.base import Incompatibility, ResolvedReference

__all__ = ["AVRO", "AvroFormat", "AvroSchema"]

_PARSE_CACHE_SIZE = 4096


class AvroSchema:
    """A parsed Avro schema (``registry.formats.base.ParsedSchema``).

    ``root`` is the node graph the compatibility checker walks; ``fastavro_schema``
    is the same schema parsed by fastavro, for serializers.
    """

    schema_type = "AVRO"

    def __init__(
        self,
        root: Node,
        references: tuple[ResolvedReference, ...],
        reference_names: frozenset[str],
        canonical_string: str | None = None,
    ) -> None:
        self.root = root
        self.references = references
        self.reference_names = reference_names
        self.canonical_string = (
            canonical_string
            if canonical_string is not None
            else canonical_json(root, reference_names)
        )
        digest = hashlib.sha256(self.canonical_string.encode())
        for reference in references:
            digest.update(
                json.dumps([reference.name, reference.subject, reference.version]).encode()
            )
        self.fingerprint = digest.hexdigest()

    def __repr__(self) -> str:
        return f"AvroSchema({self.canonical_string[:80]!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AvroSchema) and other.fingerprint == self.fingerprint

    def __hash__(self) -> int:
        return hash(self.fingerprint)

    @functools.cached_property
    def parsing_canonical_form(self) -> str:
        """The Avro specification's Parsing Canonical Form (references inlined)."""
        return parsing_canonical_form(self.root)

    @functools.cached_property
    def rabin_fingerprint(self) -> int:
        """CRC-64-AVRO of the Parsing Canonical Form, as an unsigned 64-bit integer."""
        return rabin_fingerprint(self.parsing_canonical_form.encode())

    @functools.cached_property
    def standalone(self) -> Any:
        """The schema as one self-contained JSON value (referenced types inlined)."""
        return standalone_json(self.root)

    @functools.cached_property
    def fastavro_schema(self) -> Any:
        """The schema parsed by fastavro (for ``schemaless_writer``/``schemaless_reader``)."""
        import fastavro

        return fastavro.parse_schema(self.standalone, named_schemas={})

    @functools.cached_property
    def payload_validator(self) -> AvroPayloadValidator:
        """Decodes an Avro binary payload with fastavro; names the field when it fails."""
        return AvroPayloadValidator(self.standalone)

    def normalized(self) -> AvroSchema:
        """The equivalent schema in normal form; its canonical string is the normal-form text."""
        text = normalized_json(self.root, self.reference_names)
        if text == self.canonical_string:
            return self
        parsed = _parse_cached(text, self.references)
        return AvroSchema(parsed.root, self.references, self.reference_names, text)


@functools.lru_cache(maxsize=_PARSE_CACHE_SIZE)
def _parse_cached(schema_str: str, references: tuple[ResolvedReference, ...]) -> AvroSchema:
    result = parse_schema(schema_str, references)
    return AvroSchema(result.root, references, result.reference_names)


class AvroFormat:
    """The ``AVRO`` schema type (``registry.formats.base.SchemaFormat``)."""

    schema_type = "AVRO"

    def parse(self, schema_str: str, references: Sequence[ResolvedReference] = ()) -> AvroSchema:
        """Parse and validate ``schema_str``; raise ``InvalidSchema`` naming what is wrong."""
        return _parse_cached(schema_str, tuple(references))

    def check_compatibility(
        self,
        reader: AvroSchema,  # type: ignore[override]
        writer: AvroSchema,  # type: ignore[override]
        *,
        reader_role: str = "new",
        writer_role: str = "old",
    ) -> list[Incompatibility]:
        """Every reason ``reader`` cannot read data written with ``writer``; empty if it can.

        ``reader_role``/``writer_role`` name the schemas in Confluent's descriptions:
        a BACKWARD check reads old data with the new schema (the defaults); a
        FORWARD check passes ``reader_role="old", writer_role="new"``.
        """
        return [
            Incompatibility(
                issue.error_type,
                issue.pointer,
                avro_compat.describe(issue, reader_role, writer_role),
                issue.message,
            )
            for issue in avro_compat.check(reader.root, writer.root)
        ]

    @staticmethod
    def clear_cache() -> None:
        """Forget every parsed schema (tests and benchmarks measure cold parsing with it)."""
        _parse_cached.cache_clear()


AVRO = AvroFormat()
