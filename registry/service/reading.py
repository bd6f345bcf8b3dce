"""Reading the registry: schemas by id, subjects, versions, references, contexts."""

from __future__ import annotations

import dataclasses

from registry.contracts import metadata_properties
from registry.errors import SchemaNotFound, SubjectNotFound, VersionNotFound
from registry.formats import FORMATS, get_format
from registry.service.base import ServiceBase, context_of
from registry.service.types import ALL, LATEST, Page, RegisteredVersion
from registry.store import StoredSchema, StoredVersion, translate_store_errors

__all__ = ["Reading"]


class Reading(ServiceBase):
    """Every read the REST API serves; none of them takes the write lock."""

    def schema_types(self) -> list[str]:
        get_format(None)  # loads the format table
        return sorted(FORMATS)

    @translate_store_errors
    def contexts(self) -> list[str]:
        """The default context ``.`` and every context named by a qualified subject (``:.ctx:s``)."""
        named = {
            context
            for row in self.store.all_versions(subject_prefix=":.", include_deleted=True)
            if (context := context_of(row.subject)) not in (None, ".")
        }
        return [".", *sorted(named)]

    @translate_store_errors
    def get_schema(self, schema_id: int) -> StoredSchema:
        """The schema with this id (40403 if unknown or permanently deleted everywhere)."""
        stored = self.store.schema_by_id(schema_id)
        if stored is None:
            raise SchemaNotFound(f"Schema {schema_id} not found")
        return stored

    @translate_store_errors
    def get_schema_by_guid(self, guid: str) -> StoredSchema:
        """The schema with this GUID (40403 if none, or only permanently deleted ones)."""
        schema_id = self.store.schema_id_by_guid(guid)
        stored = None if schema_id is None else self.store.schema_by_id(schema_id)
        if stored is None:
            raise SchemaNotFound(f"Schema {guid} not found")
        return stored

    @translate_store_errors
    def formatted(self, stored: StoredSchema, schema_format: str | None) -> StoredSchema:
        """``stored`` with its text in ``schema_format`` (``?format=``), as Confluent answers it.

        ``serialized`` gives a Protobuf schema as a base64 ``FileDescriptorProto``;
        every other format name, and every other schema type, leaves the text as stored.
        """
        if schema_format != "serialized" or stored.schema_type != "PROTOBUF":
            return stored
        parsed = self.schemas.parsed_by_id(stored.schema_id)
        return dataclasses.replace(stored, schema_text=parsed.serialized)  # type: ignore[attr-defined]

    @translate_store_errors
    def max_schema_id(self) -> int:
        return self.store.max_schema_id()

    @translate_store_errors
    def schema_versions(
        self,
        schema_id: int,
        *,
        subject: str | None = None,
        include_deleted: bool = False,
        page: Page = ALL,
    ) -> list[tuple[str, int]]:
        """``(subject, version)`` pairs using this schema id (40403 if none)."""
        self.get_schema(schema_id)
        rows = self.store.versions_of_schema(schema_id, include_deleted=include_deleted)
        pairs = [(row.subject, row.version) for row in rows if subject in (None, row.subject)]
        return page.apply(pairs)

    @translate_store_errors
    def schema_subjects(
        self,
        schema_id: int,
        *,
        subject: str | None = None,
        include_deleted: bool = False,
        page: Page = ALL,
    ) -> list[str]:
        pairs = self.schema_versions(schema_id, subject=subject, include_deleted=include_deleted)
        return page.apply(list(dict.fromkeys(name for name, _ in pairs)))

    @translate_store_errors
    def list_subjects(
        self,
        *,
        subject_prefix: str = "",
        include_deleted: bool = False,
        deleted_only: bool = False,
        page: Page = ALL,
    ) -> list[str]:
        rows = self.store.all_versions(subject_prefix=subject_prefix, include_deleted=True)
        live = {row.subject for row in rows if not row.deleted}
        every = list(dict.fromkeys(row.subject for row in rows))
        if deleted_only:
            subjects = [name for name in every if name not in live]
        elif include_deleted:
            subjects = every
        else:
            subjects = [name for name in every if name in live]
        return page.apply(subjects)

    @translate_store_errors
    def list_versions(
        self,
        subject: str,
        *,
        include_deleted: bool = False,
        deleted_only: bool = False,
        page: Page = ALL,
    ) -> list[int]:
        rows = self.store.versions(subject, include_deleted=include_deleted or deleted_only)
        if deleted_only:
            rows = [row for row in rows if row.deleted]
            if not rows and not self.store.versions(subject, include_deleted=True):
                raise SubjectNotFound(f"Subject '{subject}' not found.")
        elif not rows:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        return page.apply([row.version for row in rows])

    @translate_store_errors
    def get_version(
        self, subject: str, version: int, *, include_deleted: bool = False
    ) -> RegisteredVersion:
        """A version of ``subject`` (``LATEST`` for the newest live one); 40401 / 40402."""
        row = self._find_version(subject, version, include_deleted=include_deleted)
        stored = self.store.schema_by_id_any(row.schema_id)
        if stored is None:  # pragma: no cover - rows are never deleted
            raise SchemaNotFound(f"Schema {row.schema_id} not found")
        return RegisteredVersion(subject, row.version, stored, row.deleted)

    @translate_store_errors
    def referenced_by(
        self, subject: str, version: int, *, include_deleted: bool = False, page: Page = ALL
    ) -> list[int]:
        """Ids of schemas referencing this version of ``subject`` (live referrers unless ``include_deleted``).

        As in Confluent, the referenced version itself may be soft-deleted.
        """
        row = self._find_version(subject, version, include_deleted=True)
        return page.apply(
            self.store.referrers(subject, row.version, include_deleted=include_deleted)
        )

    @translate_store_errors
    def latest_with_metadata(
        self, subject: str, properties: dict[str, str], *, include_deleted: bool = False
    ) -> RegisteredVersion:
        """The newest version whose metadata properties include ``properties`` (40401 / 40403).

        Confluent's ``getLatestWithMetadata``: versions without metadata never match.
        """
        rows = self.store.versions(subject, include_deleted=include_deleted)
        if not rows:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        schemas = self.store.schemas_by_ids(row.schema_id for row in rows)
        for row in reversed(rows):
            stored = schemas[row.schema_id]
            if stored.metadata is None:
                continue
            have = metadata_properties(stored.metadata)
            if all(have.get(key) == value for key, value in properties.items()):
                return RegisteredVersion(subject, row.version, stored, row.deleted)
        raise SchemaNotFound("Schema not found")

    @translate_store_errors
    def list_schemas(
        self,
        *,
        subject_prefix: str = "",
        include_deleted: bool = False,
        latest_only: bool = False,
        page: Page = ALL,
    ) -> list[RegisteredVersion]:
        rows = self.store.all_versions(
            subject_prefix=subject_prefix, include_deleted=include_deleted
        )
        if latest_only:
            newest: dict[str, StoredVersion] = {}
            for row in rows:
                newest[row.subject] = row
            rows = list(newest.values())
        rows = page.apply(rows)
        schemas = self.store.schemas_by_ids(row.schema_id for row in rows)
        return [
            RegisteredVersion(row.subject, row.version, schemas[row.schema_id], row.deleted)
            for row in rows
        ]

    def _find_version(self, subject: str, version: int, *, include_deleted: bool) -> StoredVersion:
        rows = self.store.versions(subject, include_deleted=include_deleted)
        if not rows:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        if version == LATEST:
            # Confluent's ``latest`` is the newest live version, even with ``deleted=true``.
            live = [row for row in rows if not row.deleted]
            if not live:
                raise VersionNotFound(f"Version {version} not found.")
            return live[-1]
        for row in rows:
            if row.version == version:
                return row
        raise VersionNotFound(f"Version {version} not found.")

    # -- deleting ------------------------------------------------------------------------
