"""Which schema a value is written with, and which codec reads a schema id — asked once, cached.

``SchemaCache.for_write(subject, schema)`` registers (or, with
``auto_register=False``, looks up) the schema under the subject the first time
and keeps the compiled codec and the version's write rules; ``schema=None``
means the subject's latest version, fetched once. ``for_read(schema_id)``
fetches and compiles a writer schema once per id (ids are immutable).
A schema given by the caller may be an Avro schema (dict or JSON text), a JSON
Schema (recognised by ``$schema``, ``properties`` or ``"type": "object"``),
``.proto`` text (Protobuf), a generated Protobuf message class
(``protobuf_codec``), a ``registry_client.Schema``, a dataclass or a
marshmallow schema (``typed``). A schema's references are resolved through
the registry (``references``), each referenced version fetched once per cache.
"""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

from charter.sdk.codecs import Codec, build_codec
from charter.sdk.encryption import FieldEncryption, compile_encryption
from charter.sdk.errors import RegistryClientError, ValidationError
from charter.sdk.protobuf_codec import (
    is_message_class,
    looks_like_proto,
    schema_of_message_class,
)
from charter.sdk.references import resolve_references
from charter.sdk.registry_client import RegisteredSchema, Schema, SchemaRegistryClient
from charter.sdk.rules import (
    WRITE_MODES,
    ContractRules,
    compile_read_rules,
    compile_write_rules,
)
from charter.sdk.typed import avro_schema_of, is_typed

__all__ = ["SchemaCache", "WriteSchema", "as_schema"]


@dataclasses.dataclass(frozen=True)
class WriteSchema:
    """What a producer needs per (subject, schema): the codec (id inside), the write rules and
    the field encryption of its ENCRYPT rules (None without)."""

    subject: str
    version: int
    codec: Codec
    rules: ContractRules
    encrypt: Callable[[Any], Any] | None = None


def _looks_like_json_schema(document: Mapping[str, Any]) -> bool:
    return "$schema" in document or "properties" in document or document.get("type") == "object"


def as_schema(schema: Any, schema_type: str | None = None) -> Schema:
    """The registry form of whatever the caller passed as a schema."""
    if isinstance(schema, Schema):
        return schema
    if is_typed(schema):
        return Schema(json.dumps(avro_schema_of(schema)), "AVRO")
    if isinstance(schema, str):
        try:
            document = json.loads(schema)
        except ValueError:
            if (schema_type or "").upper() == "PROTOBUF" or looks_like_proto(schema):
                return Schema(schema, "PROTOBUF")
            raise ValidationError(f"#: the schema is not JSON: {schema[:60]!r}") from None
        text = schema
    elif isinstance(schema, Mapping | list):
        document, text = schema, json.dumps(schema)
    else:
        raise TypeError(f"cannot use a {type(schema).__name__} as a schema")
    if schema_type is None:
        json_schema = isinstance(document, Mapping) and _looks_like_json_schema(document)
        schema_type = "JSON" if json_schema else "AVRO"
    return Schema(text, schema_type.upper())


def _json_text(document: Any) -> str | None:
    try:
        return json.dumps(document)
    except (TypeError, ValueError):
        return None


class SchemaCache:
    """Registry answers and compiled codecs, per client; thread-safe."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        *,
        auto_register: bool = True,
        rule_config: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.auto_register = auto_register
        self.rule_config = dict(rule_config or {})
        self._writes: dict[tuple[str, Any], tuple[Any, WriteSchema]] = {}
        self._reads: dict[int, Codec] = {}
        self._schemas: dict[int, Schema] = {}
        self._versions: dict[tuple[str, Any], tuple[str, tuple[Mapping[str, Any], ...], int]] = {}
        self._lock = threading.Lock()

    def for_write(self, subject: str, schema: Any = None) -> WriteSchema:
        """The write schema of ``subject`` for ``schema``: a dict or list schema is cached by its
        JSON text (a literal written in the call registers once), other objects by identity."""
        hashable = schema is None or isinstance(schema, str | type)
        if not hashable and isinstance(schema, Mapping | list):
            text = _json_text(schema)
            if text is not None:  # else not JSON: as_schema says why
                schema, hashable = text, True
        key = (subject, schema if hashable else id(schema))
        cached = self._writes.get(key)
        if cached is not None and (hashable or cached[0] is schema):
            return cached[1]
        with self._lock:
            write_schema = self._resolve(subject, schema)
            self._writes[key] = (schema, write_schema)  # holding ``schema`` keeps its id unique
        return write_schema

    def _resolve(self, subject: str, schema: Any) -> WriteSchema:
        try:
            if schema is None:
                registered = self.client.get_latest(subject)
            elif is_message_class(schema):
                wanted = schema_of_message_class(schema, self.client, register=self.auto_register)
                if self.auto_register:
                    self.client.register(subject, wanted)
                registered = self.client.lookup(subject, wanted)
            else:
                wanted = as_schema(schema)
                if self.auto_register:
                    self.client.register(subject, wanted)
                registered = self.client.lookup(subject, wanted)
        except RegistryClientError as error:
            if error.status is None or error.status >= 500:  # no answer: not the value's fault
                raise RegistryClientError(
                    f"subject {subject!r}: {error.message}", error.status, error.error_code
                ) from None
            raise ValidationError(f"#: subject {subject!r}: {error.message}") from None
        return self._compile(registered)

    def _fetch_version(
        self, subject: str, version: int | str
    ) -> tuple[str, tuple[Mapping[str, Any], ...], int]:
        """A referenced version: its text, its own references and its version number."""
        key = (subject, version)
        found = self._versions.get(key)
        if found is None:
            try:
                registered = self.client.get_version(subject, version)
            except RegistryClientError as error:
                raise ValidationError(
                    f"#: referenced schema {subject} version {version}: {error.message}"
                ) from None
            found = (registered.schema.schema_str, registered.schema.references, registered.version)
            self._versions[key] = found
        return found

    def _codec(self, schema_id: int, schema: Schema) -> Codec:
        references = resolve_references(schema.references, self._fetch_version)
        return build_codec(schema_id, schema.schema_type, schema.schema_str, references)

    def encryption(
        self, codec: Codec, schema: Schema, subject: str, modes: frozenset[str]
    ) -> FieldEncryption | None:
        """The field encryption of ``schema``'s ENCRYPT rules in ``modes`` (``ValidationError``
        when one cannot run in the SDK)."""
        return compile_encryption(
            codec.schema_type,
            codec.document,
            schema.rule_set,
            schema.metadata,
            modes=modes,
            subject=subject,
            rest=self.client,
            rule_config=self.rule_config,
        )

    def contract(
        self, codec: Codec, schema: Schema, subject: str, modes: frozenset[str]
    ) -> tuple[ContractRules, FieldEncryption | None]:
        """The condition rules and field encryption of ``schema`` in ``modes`` (``WRITE_MODES``
        or ``READ_MODES``), compiled (``ValidationError`` when one cannot run in the SDK)."""
        encryption = self.encryption(codec, schema, subject, modes)
        compile_rules = compile_write_rules if modes is WRITE_MODES else compile_read_rules
        try:
            rules = compile_rules(
                codec.schema_type,
                codec.document,
                schema.rule_set,
                schema.metadata,
                encryption_handled=True,
            )
        except ValueError as error:
            raise ValidationError(f"#: {error}") from None
        return rules, encryption

    def _compile(self, registered: RegisteredSchema) -> WriteSchema:
        schema = registered.schema
        codec = self._codec(registered.schema_id, schema)
        rules, encryption = self.contract(codec, schema, registered.subject, WRITE_MODES)
        encrypt = encryption.encrypt if encryption is not None else None
        return WriteSchema(registered.subject, registered.version, codec, rules, encrypt)

    def for_read(self, schema_id: int) -> Codec:
        codec = self._reads.get(schema_id)
        if codec is None:
            codec = self._codec(schema_id, self.schema_of(schema_id))
            self._reads[schema_id] = codec
        return codec

    def schema_of(self, schema_id: int) -> Schema:
        """The registry's answer for ``schema_id`` (with its rule set), fetched once."""
        schema = self._schemas.get(schema_id)
        if schema is None:
            schema = self.client.get_schema(schema_id)
            self._schemas[schema_id] = schema
        return schema
