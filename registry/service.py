"""The registry's decisions: registering, looking up, deleting, compatibility, config and mode.

Behaviour follows Confluent Schema Registry: schema ids are global and shared
by every subject registering the same schema (text, references, metadata and
rule set); versions count up per subject and are never reused; soft-deleted
versions leave compatibility checks and ``latest``; permanent deletes require a
soft delete first. No Flask here: ``registry.api`` parses requests and formats
responses around these functions. Every database error leaves as a
``StoreError`` (50001) or ``StoreTimeout`` (50002).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import hashlib
import json
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from typing import Any, ParamSpec, TypeVar

import peewee

from registry.compatibility import (
    DEFAULT_LEVEL,
    CompatibilityLevel,
    ExistingVersion,
    check_compatibility,
)
from registry.contracts import (
    CONFLUENT_VERSION,
    merge_metadata,
    merge_rule_sets,
    metadata_properties,
)
from registry.errors import (
    IdDoesNotMatch,
    IncompatibleSchema,
    InvalidMode,
    InvalidSchema,
    InvalidSubject,
    OperationNotPermitted,
    ReferenceExists,
    RegistryError,
    SchemaNotFound,
    SchemaVersionNotSoftDeleted,
    SchemaVersionSoftDeleted,
    StoreError,
    StoreTimeout,
    SubjectCompatibilityNotConfigured,
    SubjectModeNotConfigured,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
)
from registry.events import EventBus, RegistrationHook
from registry.formats import FORMATS, get_format
from registry.formats.base import ParsedSchema, ResolvedReference
from registry.store import GLOBAL_SCOPE, Reference, Store, StoredSchema, StoredVersion

__all__ = [
    "LATEST",
    "CompatibilityResult",
    "ConfigUpdate",
    "ConfigView",
    "Mode",
    "Page",
    "RegisteredVersion",
    "RegistryService",
    "SchemaRequest",
    "qualified_subject",
]

LATEST = -1
"""The version number that means "the latest live version" (``latest`` or ``-1`` in URLs)."""

_WRITE_ATTEMPTS = 20
_PARSED_CACHE_SIZE = 2048
_MAX_REFERENCE_DEPTH = 64


class Mode(enum.StrEnum):
    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"
    IMPORT = "IMPORT"

    @classmethod
    def parse(cls, text: object) -> Mode:
        if isinstance(text, str):
            try:
                return cls(text.upper())
            except ValueError:
                pass
        raise InvalidMode(
            "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT; "
            f"got {text!r}"
        )


@dataclasses.dataclass(frozen=True)
class SchemaRequest:
    """A schema as clients send it to register, look up or test compatibility."""

    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    metadata: dict[str, Any] | None = None
    rule_set: dict[str, Any] | None = None
    schema_id: int | None = None
    version: int | None = None


@dataclasses.dataclass(frozen=True)
class RegisteredVersion:
    """One subject version and its schema."""

    subject: str
    version: int
    schema: StoredSchema
    deleted: bool = False


@dataclasses.dataclass(frozen=True)
class CompatibilityResult:
    is_compatible: bool
    messages: list[str]


@dataclasses.dataclass(frozen=True)
class ConfigUpdate:
    """A PUT /config body: a level and/or other options (``normalize``, ...)."""

    compatibility: CompatibilityLevel | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ConfigView:
    compatibility: CompatibilityLevel | None
    options: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Page:
    """``offset``/``limit`` query parameters; a negative limit means no limit."""

    offset: int = 0
    limit: int = -1

    def apply(self, items: Sequence[Any]) -> list[Any]:
        start = max(self.offset, 0)
        if self.limit < 0:
            return list(items[start:])
        return list(items[start : start + self.limit])


ALL = Page()


@dataclasses.dataclass(frozen=True)
class _Candidate:
    """A request schema parsed, with references resolved and identity computed."""

    parsed: ParsedSchema
    schema_type: str
    schema_text: str
    references: tuple[Reference, ...]
    metadata: dict[str, Any] | None
    rule_set: dict[str, Any] | None
    fingerprint: str
    content_key: str


P = ParamSpec("P")
R = TypeVar("R")


def _store_errors(method: Callable[P, R]) -> Callable[P, R]:
    """Turn database failures into registry errors (50001 / 50002) instead of tracebacks."""

    @functools.wraps(method)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(*args, **kwargs)
        except RegistryError:
            raise
        except peewee.OperationalError as exc:
            if "locked" in str(exc) or "timeout" in str(exc).lower():
                raise StoreTimeout(f"Operation timed out in the backend store: {exc}") from exc
            raise StoreError(f"Error in the backend data store: {exc}") from exc
        except peewee.PeeweeException as exc:
            raise StoreError(f"Error in the backend data store: {exc}") from exc

    return wrapper


def _identity(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class RegistryService:
    """Registry operations over one database; safe to share between threads of one process."""

    def __init__(
        self,
        database: peewee.Database,
        *,
        events: EventBus | None = None,
        hooks: Iterable[RegistrationHook] = (),
    ) -> None:
        self.store = Store(database)
        self.events = events or EventBus()
        self.hooks: list[RegistrationHook] = list(hooks)
        self._parsed: OrderedDict[int, ParsedSchema] = OrderedDict()
        self._parsed_lock = threading.Lock()

    def add_hook(self, hook: RegistrationHook) -> None:
        """Run ``hook.before_register`` on every later registration."""
        self.hooks.append(hook)

    # -- schema types and contexts -------------------------------------------------------

    def schema_types(self) -> list[str]:
        get_format(None)  # loads the format table
        return sorted(FORMATS)

    @_store_errors
    def contexts(self) -> list[str]:
        """The default context ``.`` and every context named by a qualified subject (``:.ctx:s``)."""
        named = {
            context
            for row in self.store.all_versions(subject_prefix=":.", include_deleted=True)
            if (context := _context_of(row.subject)) not in (None, ".")
        }
        return [".", *sorted(named)]

    # -- registering and looking up ------------------------------------------------------

    @_store_errors
    def register(
        self, subject: str, request: SchemaRequest, *, normalize: bool = False
    ) -> RegisteredVersion:
        """Register ``request`` under ``subject`` as Confluent's ``registerOrForward`` does.

        A schema already live in the subject (exactly as sent) is returned first,
        whatever the mode. Otherwise, outside IMPORT mode, a request without
        ``metadata`` / ``ruleSet`` inherits those of the latest live version and
        both are merged with the config's defaults and overrides; an empty
        ``schema`` re-uses the latest version's schema. ``compatibilityGroup``
        limits the compatibility check to versions with the same property value.
        """
        _check_subject(subject)
        config = self.get_config(subject, default_to_global=True)
        normalize = normalize or bool(config.options.get("normalize"))
        if request.version is None and not _has_defaults_or_overrides(config):
            found = self._find_live_exact(subject, request, normalize)
            if found is not None and request.schema_id in (None, found.schema.schema_id):
                return found
        mode = self._mode_in_scope(subject)
        if mode in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            raise OperationNotPermitted(f"Subject {subject} is in read-only mode")
        if request.schema_id is not None and mode is not Mode.IMPORT:
            raise OperationNotPermitted(f"Subject {subject} is not in import mode")
        if request.schema_id is None and mode is not Mode.READWRITE:
            raise OperationNotPermitted(f"Subject {subject} is not in read-write mode")
        registered, created = self._write_retrying(
            lambda: self._register_once(subject, request, mode, config, normalize)
        )
        if created:
            self.events.emit(
                "schema_registered",
                subject=subject,
                version=registered.version,
                schema_id=registered.schema.schema_id,
                schema_type=registered.schema.schema_type,
            )
        return registered

    def _find_live_exact(
        self, subject: str, request: SchemaRequest, normalize: bool
    ) -> RegisteredVersion | None:
        """The live version of ``subject`` holding exactly this schema, metadata and rule set."""
        if not request.schema.strip():
            return None
        candidate = self._prepare(request, normalize=normalize)
        existing = self.store.schema_by_fingerprint(candidate.fingerprint)
        if existing is None:
            return None
        for row in self.store.versions(subject, include_deleted=False):
            if row.schema_id == existing.schema_id:
                return RegisteredVersion(subject, row.version, existing)
        return None

    def _populate(
        self,
        request: SchemaRequest,
        previous: StoredSchema | None,
        config: ConfigView,
        new_version: int,
    ) -> SchemaRequest:
        """Confluent's ``maybePopulateFromPrevious``: schema, metadata and rule set to register."""
        schema, schema_type, references = request.schema, request.schema_type, request.references
        if not schema.strip():
            if previous is None:
                raise InvalidSchema("Empty schema")
            schema, schema_type = previous.schema_text, previous.schema_type
            references = previous.references
        options = config.options
        specific_metadata = request.metadata
        specific_rule_set = request.rule_set
        if previous is not None:
            if specific_metadata is None:
                specific_metadata = previous.metadata
            if specific_rule_set is None:
                specific_rule_set = previous.rule_set
        metadata = merge_metadata(
            merge_metadata(options.get("defaultMetadata"), specific_metadata),
            options.get("overrideMetadata"),
        )
        rule_set = merge_rule_sets(
            merge_rule_sets(options.get("defaultRuleSet"), specific_rule_set),
            options.get("overrideRuleSet"),
        )
        if request.version is not None or CONFLUENT_VERSION in metadata_properties(metadata):
            metadata = merge_metadata(
                metadata, {"properties": {CONFLUENT_VERSION: str(new_version)}}
            )
        return dataclasses.replace(
            request,
            schema=schema,
            schema_type=schema_type,
            references=references,
            metadata=metadata,
            rule_set=rule_set,
        )

    def _register_once(
        self,
        subject: str,
        request: SchemaRequest,
        mode: Mode,
        config: ConfigView,
        normalize: bool,
    ) -> tuple[RegisteredVersion, bool]:
        store = self.store
        versions = store.versions(subject, include_deleted=True)
        live = [row for row in versions if not row.deleted]
        next_version = max((row.version for row in versions), default=0) + 1
        if mode is not Mode.IMPORT:
            previous = store.schema_by_id_any(live[-1].schema_id) if live else None
            request = self._populate(request, previous, config, next_version)
        elif not request.schema.strip():
            raise InvalidSchema("Empty schema")
        candidate = self._prepare(request, normalize=normalize)
        for hook in self.hooks:
            hook.before_register(subject, candidate.parsed, candidate.metadata, candidate.rule_set)
        existing = store.schema_by_fingerprint(candidate.fingerprint)
        if request.schema_id is not None:
            taken = store.schema_by_id_any(request.schema_id)
            if taken is not None and (existing is None or existing.schema_id != request.schema_id):
                raise OperationNotPermitted(
                    f"Overwrite new schema with id {request.schema_id} is not permitted."
                )
            if existing is not None and existing.schema_id != request.schema_id:
                # Confluent would import the same schema under a second id; Charter keeps
                # one id per schema, so it refuses instead (see docs/rest-api.md).
                raise IdDoesNotMatch(
                    f"Schema already registered with id {existing.schema_id} "
                    f"instead of input id {request.schema_id}"
                )
        if existing is not None:
            for row in live:
                if row.schema_id == existing.schema_id:
                    if request.version is not None and request.version != row.version:
                        raise OperationNotPermitted(
                            f"Schema is already registered in subject {subject} as version "
                            f"{row.version}, not {request.version}"
                        )
                    return RegisteredVersion(subject, row.version, existing), False
        if mode is not Mode.IMPORT:
            level = config.compatibility or DEFAULT_LEVEL
            compared = self._same_group(config, candidate.metadata, live)
            messages = check_compatibility(
                level, candidate.parsed, self._existing_for(level, compared)
            )
            if messages:
                raise IncompatibleSchema(
                    "Schema being registered is incompatible with an earlier schema for subject "
                    f'"{subject}", details: [{", ".join(messages)}]'
                )
        if request.version is None:
            new_version = next_version
        elif mode is not Mode.IMPORT and request.version != next_version:
            raise InvalidSchema("Version is not one more than previous version")
        elif any(row.version == request.version for row in versions):
            raise OperationNotPermitted(
                f"Version {request.version} of subject {subject} already exists"
            )
        else:
            new_version = request.version
        with store.atomic():
            schema = existing or store.insert_schema(
                schema_id=request.schema_id,
                schema_type=candidate.schema_type,
                schema_text=candidate.schema_text,
                fingerprint=candidate.fingerprint,
                references=candidate.references,
                metadata=candidate.metadata,
                rule_set=candidate.rule_set,
            )
            store.insert_version(subject, new_version, schema.schema_id)
            # As Confluent does, older soft-deleted versions of the same schema are dropped.
            stale = [
                row.version
                for row in versions
                if row.deleted and row.schema_id == schema.schema_id and row.version < new_version
            ]
            if stale:
                store.purge_versions(subject, stale)
        return RegisteredVersion(subject, new_version, schema), True

    def _same_group(
        self,
        config: ConfigView,
        metadata: dict[str, Any] | None,
        live: Sequence[StoredVersion],
    ) -> list[StoredVersion]:
        """Live versions in the new schema's ``compatibilityGroup`` (all of them without one)."""
        group = config.options.get("compatibilityGroup")
        if not group or not live:
            return list(live)
        wanted = metadata_properties(metadata).get(group)
        schemas = self.store.schemas_by_ids(row.schema_id for row in live)
        return [
            row
            for row in live
            if metadata_properties(schemas[row.schema_id].metadata).get(group) == wanted
        ]

    @_store_errors
    def lookup(
        self,
        subject: str,
        request: SchemaRequest,
        *,
        normalize: bool = False,
        include_deleted: bool = False,
    ) -> RegisteredVersion:
        """The version of ``subject`` holding the schema in ``request`` (40401, 40403)."""
        rows = self.store.versions(subject, include_deleted=include_deleted)
        if not rows:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        candidate = self._prepare(request, normalize=normalize or self._normalize_on(subject))
        schemas = self.store.schemas_by_ids(row.schema_id for row in rows)
        exact: list[StoredVersion] = []
        same_content: list[StoredVersion] = []
        for row in rows:
            stored = schemas[row.schema_id]
            if self._fingerprint_of(stored) == candidate.fingerprint:
                exact.append(row)
            elif self._content_key_of(stored) == candidate.content_key:
                same_content.append(row)
        # Without metadata or a rule set in the request, any version with the same schema matches.
        if not exact and candidate.metadata is None and candidate.rule_set is None:
            exact = same_content
        if not exact:
            raise SchemaNotFound("Schema not found")
        best = sorted(exact, key=lambda row: (not row.deleted, row.version))[-1]
        return RegisteredVersion(subject, best.version, schemas[best.schema_id], best.deleted)

    # -- reading -----------------------------------------------------------------------

    @_store_errors
    def get_schema(self, schema_id: int) -> StoredSchema:
        """The schema with this id (40403 if unknown or permanently deleted everywhere)."""
        stored = self.store.schema_by_id(schema_id)
        if stored is None:
            raise SchemaNotFound(f"Schema {schema_id} not found")
        return stored

    @_store_errors
    def max_schema_id(self) -> int:
        return self.store.max_schema_id()

    @_store_errors
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

    @_store_errors
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

    @_store_errors
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

    @_store_errors
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

    @_store_errors
    def get_version(
        self, subject: str, version: int, *, include_deleted: bool = False
    ) -> RegisteredVersion:
        """A version of ``subject`` (``LATEST`` for the newest); 40401 / 40402."""
        row = self._find_version(subject, version, include_deleted=include_deleted)
        stored = self.store.schema_by_id_any(row.schema_id)
        if stored is None:  # pragma: no cover - rows are never deleted
            raise SchemaNotFound(f"Schema {row.schema_id} not found")
        return RegisteredVersion(subject, row.version, stored, row.deleted)

    @_store_errors
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

    @_store_errors
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

    @_store_errors
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
            return rows[-1]
        for row in rows:
            if row.version == version:
                return row
        raise VersionNotFound(f"Version {version} not found.")

    # -- deleting ------------------------------------------------------------------------

    @_store_errors
    def delete_version(self, subject: str, version: int, *, permanent: bool = False) -> int:
        """Soft-delete a version, or permanently delete a soft-deleted one; returns its number."""
        self._check_writable(subject)
        deleted = self._write_retrying(
            lambda: self._delete_version_once(subject, version, permanent)
        )
        self.events.emit("version_deleted", subject=subject, version=deleted, permanent=permanent)
        return deleted

    def _delete_version_once(self, subject: str, version: int, permanent: bool) -> int:
        store = self.store
        with store.atomic():
            rows = store.versions(subject, include_deleted=True)
            if not rows:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            if version == LATEST:
                candidates = rows if permanent else [row for row in rows if not row.deleted]
                if not candidates:
                    raise VersionNotFound(f"Version {version} not found.")
                target = candidates[-1]
            else:
                matching = [row for row in rows if row.version == version]
                if not matching:
                    raise VersionNotFound(f"Version {version} not found.")
                target = matching[0]
            if target.deleted and not permanent:
                raise SchemaVersionSoftDeleted(
                    f"Subject '{subject}' Version {target.version} was soft deleted."
                    "Set permanent=true to delete permanently"
                )
            referrers = store.live_referrers(subject, target.version)
            if referrers:
                raise ReferenceExists(
                    f"One or more references exist to the schema {{subject={subject},"
                    f"version={target.version}}} (referenced by schema ids {referrers})"
                )
            if permanent:
                if not target.deleted:
                    raise SchemaVersionNotSoftDeleted(
                        f"Subject '{subject}' Version {target.version} was not deleted first "
                        "before being permanently deleted"
                    )
                store.purge_versions(subject, [target.version])
            else:
                store.soft_delete_versions(subject, [target.version])
                if not any(not row.deleted for row in rows if row.version != target.version):
                    # The subject has no live version left: its settings go too (as in Confluent).
                    store.delete_config(subject)
                    store.delete_mode(subject)
        return target.version

    @_store_errors
    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        """Soft-delete every live version, or permanently delete a soft-deleted subject."""
        self._check_writable(subject)
        deleted = self._write_retrying(lambda: self._delete_subject_once(subject, permanent))
        self.events.emit("subject_deleted", subject=subject, versions=deleted, permanent=permanent)
        return deleted

    def _delete_subject_once(self, subject: str, permanent: bool) -> list[int]:
        store = self.store
        with store.atomic():
            rows = store.versions(subject, include_deleted=True)
            if not rows:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            live = [row for row in rows if not row.deleted]
            if not permanent and not live:
                raise SubjectSoftDeleted(
                    f"Subject '{subject}' was soft deleted.Set permanent=true to delete permanently"
                )
            targets = rows if permanent else live
            for row in targets:
                referrers = store.live_referrers(subject, row.version)
                if referrers:
                    raise ReferenceExists(
                        f"One or more references exist to the schema {{subject={subject},"
                        f"version={row.version}}} (referenced by schema ids {referrers})"
                    )
            if permanent and live:
                raise SubjectNotSoftDeleted(
                    f"Subject '{subject}' was not deleted first before being permanently deleted"
                )
            versions = [row.version for row in targets]
            if permanent:
                store.purge_versions(subject, versions)
            else:
                store.soft_delete_versions(subject, versions)
                store.delete_config(subject)
                store.delete_mode(subject)
        return versions

    # -- compatibility -------------------------------------------------------------------

    @_store_errors
    def test_compatibility(
        self,
        subject: str,
        request: SchemaRequest,
        *,
        version: int | None = None,
        normalize: bool = False,
    ) -> CompatibilityResult:
        """Check ``request`` against one version (or, with ``None``, as registration would)."""
        candidate = self._prepare(request, normalize=normalize or self._normalize_on(subject))
        config = self.get_config(subject, default_to_global=True)
        level = config.compatibility or DEFAULT_LEVEL
        live = self.store.versions(subject, include_deleted=False)
        if version is None:
            targets = self._existing_for(level, self._same_group(config, candidate.metadata, live))
        elif not live and version == LATEST:
            targets = []
        else:
            row = self._find_version(subject, version, include_deleted=False)
            targets = [ExistingVersion(row.version, self._parsed_by_id(row.schema_id))]
        messages = check_compatibility(level, candidate.parsed, targets)
        return CompatibilityResult(not messages, messages)

    def _existing_for(
        self, level: CompatibilityLevel, live: Sequence[StoredVersion]
    ) -> list[ExistingVersion]:
        if level is CompatibilityLevel.NONE or not live:
            return []
        wanted = live if level.transitive else live[-1:]
        return [ExistingVersion(row.version, self._parsed_by_id(row.schema_id)) for row in wanted]

    # -- config --------------------------------------------------------------------------

    @_store_errors
    def get_config(
        self, subject: str | None = None, *, default_to_global: bool = False
    ) -> ConfigView:
        """The subject's (or global) config; 40408 for a subject without one unless defaulting."""
        if subject is None:
            found = self.store.get_config(GLOBAL_SCOPE)
            level, options = found if found else (None, {})
            return ConfigView(_level_or_none(level) or DEFAULT_LEVEL, options)
        found = self.store.get_config(subject)
        if found is None:
            if default_to_global:
                return self.get_config(None)
            raise SubjectCompatibilityNotConfigured(
                f"Subject '{subject}' does not have subject-level compatibility configured"
            )
        level, options = _level_or_none(found[0]), found[1]
        if default_to_global:
            global_view = self.get_config(None)
            level = level or global_view.compatibility
            options = {**global_view.options, **options}
        return ConfigView(level, options)

    @_store_errors
    def set_config(self, subject: str | None, update: ConfigUpdate) -> ConfigView:
        """Set the level and options of ``subject`` (``None``: global); unset fields are kept."""
        if subject is not None:
            _check_subject(subject)
        self._check_writable(subject)
        scope = GLOBAL_SCOPE if subject is None else subject
        with self.store.atomic():
            found = self.store.get_config(scope)
            level, options = found if found else (None, {})
            if update.compatibility is not None:
                level = update.compatibility.value
            elif level is None:
                level = DEFAULT_LEVEL.value if subject is None else None
            options = {**options, **update.options}
            self.store.set_config(scope, level, options)
        self.events.emit("config_changed", subject=subject, compatibility=level, options=options)
        return ConfigView(_level_or_none(level), options)

    @_store_errors
    def delete_config(self, subject: str | None = None) -> ConfigView:
        """Remove a subject's config (40401 if none) or reset the global one; returns the old one."""
        self._check_writable(subject)
        if subject is None:
            previous = self.get_config(None)
            self.store.delete_config(GLOBAL_SCOPE)
        else:
            found = self.store.get_config(subject)
            if found is None:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            previous = ConfigView(_level_or_none(found[0]), found[1])
            self.store.delete_config(subject)
        self.events.emit("config_changed", subject=subject, compatibility=None, options={})
        return previous

    def _level(self, subject: str) -> CompatibilityLevel:
        return self.get_config(subject, default_to_global=True).compatibility or DEFAULT_LEVEL

    def _normalize_on(self, subject: str) -> bool:
        return bool(self.get_config(subject, default_to_global=True).options.get("normalize"))

    # -- mode ----------------------------------------------------------------------------

    @_store_errors
    def get_mode(self, subject: str | None = None, *, default_to_global: bool = False) -> Mode:
        if subject is None:
            return Mode(self.store.get_mode(GLOBAL_SCOPE) or Mode.READWRITE)
        found = self.store.get_mode(subject)
        if found is not None:
            return Mode(found)
        if default_to_global:
            return self.get_mode(None)
        raise SubjectModeNotConfigured(
            f"Subject '{subject}' does not have subject-level mode configured"
        )

    @_store_errors
    def set_mode(self, subject: str | None, mode: Mode, *, force: bool = False) -> Mode:
        """Set the mode, as Confluent's ``setMode``.

        Entering IMPORT (from another mode, without ``force``) needs a scope with
        no live version (42205); its soft-deleted versions are then permanently
        deleted, unless something references them (42206).
        """
        if subject is not None:
            _check_subject(subject)
        scope = GLOBAL_SCOPE if subject is None else subject
        with self.store.atomic():
            if (
                mode is Mode.IMPORT
                and not force
                and self._mode_in_scope(subject) is not Mode.IMPORT
            ):
                if self.store.any_live_version(subject):
                    raise OperationNotPermitted("Cannot import since found existing subjects")
                self._purge_soft_deleted(subject)
            self.store.set_mode(scope, mode.value)
        self.events.emit("mode_changed", subject=subject, mode=mode.value)
        return mode

    def _purge_soft_deleted(self, subject: str | None) -> None:
        rows = (
            self.store.versions(subject, include_deleted=True)
            if subject is not None
            else self.store.all_versions(include_deleted=True)
        )
        for row in rows:
            if self.store.referrers(row.subject, row.version, include_deleted=True):
                raise ReferenceExists(
                    f"One or more references exist to the schema {{subject={row.subject},"
                    f"version={row.version}}}"
                )
        by_subject: dict[str, list[int]] = {}
        for row in rows:
            by_subject.setdefault(row.subject, []).append(row.version)
        for name, numbers in by_subject.items():
            self.store.purge_versions(name, numbers)

    @_store_errors
    def delete_mode(self, subject: str | None = None) -> Mode:
        """Remove a subject's mode (40401 if none) or reset the global one; returns the old one."""
        if subject is None:
            previous = self.get_mode(None)
            self.store.delete_mode(GLOBAL_SCOPE)
        else:
            found = self.store.get_mode(subject)
            if found is None:
                raise SubjectNotFound(f"Subject '{subject}' not found.")
            previous = Mode(found)
            self.store.delete_mode(subject)
        self.events.emit("mode_changed", subject=subject, mode=None)
        return previous

    def _mode_in_scope(self, subject: str | None) -> Mode:
        global_mode = Mode(self.store.get_mode(GLOBAL_SCOPE) or Mode.READWRITE)
        if subject is None or global_mode is Mode.READONLY_OVERRIDE:
            return global_mode
        found = self.store.get_mode(subject)
        return Mode(found) if found else global_mode

    def _check_writable(self, subject: str | None) -> None:
        if self._mode_in_scope(subject) in (Mode.READONLY, Mode.READONLY_OVERRIDE):
            # Confluent formats a null subject (the global scope) as "null".
            name = "null" if subject is None else subject
            raise OperationNotPermitted(f"Subject {name} is in read-only mode")

    # -- parsing -------------------------------------------------------------------------

    def _prepare(self, request: SchemaRequest, *, normalize: bool) -> _Candidate:
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
        return _Candidate(
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
    def _content_key_of(stored: StoredSchema) -> str:
        return _identity(
            stored.schema_type, stored.schema_text, [ref.to_json() for ref in stored.references]
        )

    def _fingerprint_of(self, stored: StoredSchema) -> str:
        return _identity(self._content_key_of(stored), stored.metadata, stored.rule_set)

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

    def _parsed_by_id(self, schema_id: int) -> ParsedSchema:
        """A stored schema parsed once per process (ids are immutable)."""
        with self._parsed_lock:
            cached = self._parsed.get(schema_id)
            if cached is not None:
                self._parsed.move_to_end(schema_id)
                return cached
        stored = self.store.schema_by_id_any(schema_id)
        if stored is None:  # pragma: no cover - rows are never deleted
            raise SchemaNotFound(f"Schema {schema_id} not found")
        _, resolved = self._resolve(stored.references, frozenset(), 0)
        parsed = get_format(stored.schema_type).parse(stored.schema_text, resolved)
        with self._parsed_lock:
            self._parsed[schema_id] = parsed
            while len(self._parsed) > _PARSED_CACHE_SIZE:
                self._parsed.popitem(last=False)
        return parsed

    # -- retries -------------------------------------------------------------------------

    def _write_retrying(self, attempt: Callable[[], R]) -> R:
        """Run a read-decide-write ``attempt``; a unique-constraint race means "look again"."""
        last_error: Exception | None = None
        for _ in range(_WRITE_ATTEMPTS):
            try:
                with self.store.atomic():
                    return attempt()
            except peewee.IntegrityError as exc:
                last_error = exc
            except peewee.OperationalError as exc:
                if "locked" not in str(exc) and "could not serialize" not in str(exc):
                    raise
                last_error = exc
        raise StoreTimeout(
            f"Gave up after {_WRITE_ATTEMPTS} attempts on concurrent writes: {last_error}"
        )


_CONTRACT_OPTIONS = ("defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet")


def _has_defaults_or_overrides(config: ConfigView) -> bool:
    return any(config.options.get(name) is not None for name in _CONTRACT_OPTIONS)


def _check_subject(subject: str) -> None:
    if not subject or any(ord(char) < 32 or 127 <= ord(char) < 160 for char in subject):
        raise InvalidSubject(f"The specified subject {subject!r} is not a valid subject")


def qualified_subject(subject: str) -> str:
    """Confluent's ``QualifiedSubject.normalize``: ``:.:name`` (the default context) is ``name``."""
    if subject.startswith(":.:"):
        return subject[3:]
    return subject


def _context_of(subject: str) -> str | None:
    """The context of a qualified subject ``:.ctx:name`` (``.ctx``), or ``None``."""
    if not subject.startswith(":."):
        return None
    end = subject.find(":", 2)
    return subject[1:] if end < 0 else subject[1:end]


def _level_or_none(text: str | None) -> CompatibilityLevel | None:
    if text is None:
        return None
    try:
        return CompatibilityLevel(text)
    except ValueError:
        return None
