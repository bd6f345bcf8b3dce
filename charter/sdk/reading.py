"""How a consumer turns a record's payload into the value it hands out: the reader's side of a contract.

``ValueReader.read(topic, schema_id, payload)`` decodes with the writer's
schema (``SchemaCache.for_read``) and then, as confluent-kafka's
deserializers do:

- with a reader version asked for (``use_latest_version=True``, or
  ``use_latest_with_metadata={...}``; subject ``<topic>-value``) that differs
  from the writer's: runs the migration rules of the versions between the two
  (``migrations``) and conforms the result to the reader schema; without
  migration rules, Avro schema resolution (writer → reader) or, for JSON
  Schema, validation against the reader;
- decrypts the fields of its ``ENCRYPT`` rules (``charter.sdk.encryption``)
  and runs the READ-mode condition rules of the schema the value ends up in
  (the writer's when no reader version is asked for).

Every failure is a ``ValidationError`` naming the rule or the field, which the
consumer turns into a ``RecordError`` for its ``on_error`` policy. The reader
version of each subject is fetched once per consumer (as Confluent's
``latest.cache.ttl.secs=-1``), the plan per (writer id, reader id) too.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any

from charter.sdk.codecs import Codec
from charter.sdk.errors import RegistryClientError, ValidationError
from charter.sdk.migrations import Migration, plan_migration, versions_between
from charter.sdk.registry_client import RegisteredSchema, Schema, SchemaRegistryClient
from charter.sdk.rules import NO_RULES, READ_MODES, ContractRules
from charter.sdk.schemas import SchemaCache
from registry.formats.base import PayloadInvalid

__all__ = ["ValueReader"]

_NOT_FOUND = 404


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What reading one writer id as one reader takes (``reader`` None: the writer itself)."""

    writer: Codec
    reader: Codec | None
    migration: Migration
    rules: ContractRules
    subject: str
    decrypt: Callable[[Any], Any] | None = None


class ValueReader:
    """Decode, migrate, resolve and check values for one consumer."""

    def __init__(
        self,
        client: SchemaRegistryClient,
        schemas: SchemaCache,
        *,
        use_latest_version: bool = False,
        use_latest_with_metadata: Mapping[str, str] | None = None,
    ) -> None:
        self.client = client
        self.schemas = schemas
        self.use_latest_version = use_latest_version
        self.use_latest_with_metadata = dict(use_latest_with_metadata or {}) or None
        self._readers: dict[str, RegisteredSchema] = {}
        self._plans: dict[tuple[str, int], _Plan] = {}
        self._lock = threading.Lock()

    @property
    def chooses_reader(self) -> bool:
        return self.use_latest_version or self.use_latest_with_metadata is not None

    def read(self, topic: str, schema_id: int, payload: bytes) -> Any:
        """The value of a framed record's payload, as the consumer hands it out."""
        plan = self._plan(f"{topic}-value", schema_id)
        try:
            if plan.reader is None:
                value = plan.writer.decode(payload)
            elif plan.migration.steps:
                value = plan.reader.conform(plan.migration.apply(plan.writer.decode(payload)))
            else:
                value = plan.writer.decode_as(payload, plan.reader)
        except PayloadInvalid as invalid:
            raise ValidationError(invalid.message, invalid.path) from None
        if plan.decrypt is not None:
            value = plan.decrypt(value)
        if plan.rules is not NO_RULES:
            self._check(plan, value)
        return value

    @staticmethod
    def _check(plan: _Plan, value: Any) -> None:
        for violation in plan.rules.check(value):
            if violation.action != "NONE":
                raise ValidationError(
                    f"#: rule {violation.rule!r} of {plan.subject}: {violation.reason}",
                    "#",
                    rule=violation.rule,
                )

    # -- plans ---------------------------------------------------------------------------

    def _plan(self, subject: str, schema_id: int) -> _Plan:
        plan = self._plans.get((subject, schema_id))
        if plan is None:
            with self._lock:
                plan = self._build(subject, schema_id)
                self._plans[(subject, schema_id)] = plan
        return plan

    def _build(self, subject: str, schema_id: int) -> _Plan:
        writer = self.schemas.for_read(schema_id)
        try:
            if not self.chooses_reader:
                schema = self.schemas.schema_of(schema_id)
                rules, decrypt = self._rules(writer, schema, subject)
                return _Plan(writer, None, Migration(), rules, subject, decrypt)
            reader_version = self._reader(subject)
            reader = self.schemas.for_read(reader_version.schema_id)
            rules, decrypt = self._rules(reader, reader_version.schema, subject)
            if reader_version.schema_id == schema_id:
                return _Plan(writer, None, Migration(), rules, subject, decrypt)
            migration = self._migration(subject, schema_id, reader_version)
        except RegistryClientError as error:
            raise ValidationError(f"#: subject {subject!r}: {error.message}") from None
        if not (hasattr(writer, "decode_as") and hasattr(reader, "conform")):
            raise ValidationError(
                f"#: reading a {writer.schema_type} record as another version is not supported"
            )
        if reader.schema_type != writer.schema_type:
            raise ValidationError(
                f"#: {writer.schema_type} record cannot be read as {reader.schema_type} "
                f"version {reader_version.version} of {subject}"
            )
        return _Plan(writer, reader, migration, rules, subject, decrypt)

    def _rules(
        self, codec: Codec, schema: Schema, subject: str
    ) -> tuple[ContractRules, Callable[[Any], Any] | None]:
        """The READ condition rules and the field decryption of the schema values are read as."""
        rules, encryption = self.schemas.contract(codec, schema, subject, READ_MODES)
        return rules, encryption.decrypt if encryption is not None else None

    def _reader(self, subject: str) -> RegisteredSchema:
        found = self._readers.get(subject)
        if found is None:
            if self.use_latest_with_metadata is not None:
                found = self.client.get_latest_with_metadata(
                    subject, self.use_latest_with_metadata, deleted=True
                )
            else:
                found = self.client.get_latest(subject)
            self._readers[subject] = found
        return found

    def _migration(self, subject: str, schema_id: int, reader: RegisteredSchema) -> Migration:
        """The migration rules between the writer's version in ``subject`` and the reader's."""
        writer_versions = [
            version
            for found_subject, version in self.client.schema_versions(schema_id, deleted=True)
            if found_subject == subject
        ]
        if not writer_versions:  # written under another subject: schema resolution only
            return Migration()
        writer_version = max(writer_versions)
        rule_sets: dict[int, Mapping[str, Any] | None] = {}
        for version in versions_between(writer_version, reader.version):
            if version == reader.version:
                rule_sets[version] = reader.schema.rule_set
                continue
            try:
                registered = self.client.get_version(subject, version, deleted=True)
            except RegistryClientError as error:
                if error.status == _NOT_FOUND:  # permanently deleted: no rules to run
                    continue
                raise
            rule_sets[version] = registered.schema.rule_set
        return plan_migration(writer_version, reader.version, rule_sets)
