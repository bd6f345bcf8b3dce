"""What every schema format module provides: parsing, canonical form, compatibility.

A format module (``avro``, ``jsonschema``, later ``protobuf``) exposes one
``SchemaFormat`` object. The registry service only talks to formats through
this interface, so adding a format is adding one module and one entry in
``registry.formats.FORMATS``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

__all__ = [
    "MAX_SCHEMA_NESTING",
    "Incompatibility",
    "ParsedSchema",
    "PayloadInvalid",
    "PayloadValidator",
    "ResolvedReference",
    "SchemaFormat",
]


MAX_SCHEMA_NESTING = 512
"""Deepest JSON nesting accepted in a schema document (no real schema comes near it).

Checked before any recursive walk of the schema, so whether a schema parses
never depends on the interpreter's recursion limit."""


@dataclasses.dataclass(frozen=True)
class ResolvedReference:
    """A reference with the referenced schema text already looked up.

    ``name`` is the reference name used inside the referring schema (an Avro
    full name, a JSON Schema ``$ref`` URI, a .proto import path).
    """

    name: str
    subject: str
    version: int
    schema_str: str


@dataclasses.dataclass(frozen=True)
class Incompatibility:
    """One reason a reader schema cannot read data written with a writer schema.

    ``error_type`` uses Confluent's names (``READER_FIELD_MISSING_DEFAULT_VALUE``,
    ``TYPE_MISMATCH``, ...), ``location`` is a JSON pointer into the schema
    (``/fields/1/type``), ``description`` is a readable sentence and
    ``additional_info`` the detail Confluent puts in ``additionalInfo``.
    """

    error_type: str
    location: str
    description: str
    additional_info: str = ""

    def confluent_message(self) -> str:
        """The message format Confluent returns for ``?verbose=true``."""
        return (
            f"{{errorType:'{self.error_type}', description:'{self.description}', "
            f"additionalInfo:'{self.additional_info}'}}"
        )


class PayloadInvalid(ValueError):
    """A payload does not match its schema.

    ``path`` is a JSON pointer into the payload (``#/items/2/price``; ``#`` for
    the whole payload) and the message starts with it.
    """

    def __init__(self, message: str, path: str = "#") -> None:
        super().__init__(message)
        self.message = message
        self.path = path


class PayloadValidator(Protocol):
    """Checks one serialized payload (no Confluent framing) and returns the decoded value.

    Compiled once per schema; thread-safe, so the gate may call it from worker threads.
    """

    def __call__(self, payload: bytes) -> Any:
        """The decoded value; raises ``PayloadInvalid`` naming the field that is wrong."""
        ...


class ParsedSchema(Protocol):
    """A schema parsed once and reused by compatibility checks and serializers."""

    schema_type: str

    @property
    def canonical_string(self) -> str:
        """Compact string stored and returned by the registry; identity of a schema id."""

    @property
    def fingerprint(self) -> str:
        """Hex digest identifying the schema (canonical string plus its references)."""

    def normalized(self) -> ParsedSchema:
        """The equivalent schema in normal form (for ``?normalize=true``)."""

    @property
    def payload_validator(self) -> PayloadValidator:
        """This schema's payload validator, compiled on first use and cached on the schema."""


class SchemaFormat(Protocol):
    """One schema type (``AVRO``, ``JSON``, ``PROTOBUF``)."""

    schema_type: str

    def parse(self, schema_str: str, references: Sequence[ResolvedReference] = ()) -> ParsedSchema:
        """Parse and validate ``schema_str``; raise ``registry.errors.InvalidSchema``.

        ``references`` are flattened in dependency order (a reference's own
        references come before it).
        """

    def check_compatibility(
        self,
        reader: ParsedSchema,
        writer: ParsedSchema,
        *,
        reader_role: str = "new",
        writer_role: str = "old",
    ) -> list[Incompatibility]:
        """Every reason ``reader`` cannot read data written with ``writer``; empty if it can.

        ``reader_role``/``writer_role`` ("new"/"old") name the two schemas in the
        descriptions, as Confluent does: a BACKWARD check reads old data with the
        new schema, a FORWARD check passes the roles the other way round.
        """


FormatTable = Mapping[str, SchemaFormat]
