"""Registering schemas, looking them up, and testing compatibility, as Confluent does.

A registration is planned outside the write lock (request populated from the
previous version and the config, references resolved, schema parsed), checked
by the hooks once, then decided and written inside one write transaction that
holds the registry's write lock (``registry.store.write_transaction``). If
another writer changed the subject in between, the plan is made again inside
the lock, and the hooks see the new candidate only if it differs.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

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
    InvalidSchema,
    OperationNotPermitted,
    PolicyDenied,
    RegistryError,
    SchemaNotFound,
    SubjectNotFound,
    VersionNotFound,
)
from registry.hooks import ANONYMOUS, Actor
from registry.service.base import ServiceBase, check_subject
from registry.service.schemas import Candidate
from registry.service.types import (
    LATEST,
    CompatibilityResult,
    ConfigView,
    Mode,
    RegisteredVersion,
    SchemaRequest,
)
from registry.store import StoredSchema, StoredVersion, translate_store_errors

__all__ = ["Registering"]

_CONTRACT_OPTIONS = ("defaultMetadata", "overrideMetadata", "defaultRuleSet", "overrideRuleSet")


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What a registration will write, and the subject state it was planned on."""

    candidate: Candidate
    versions: tuple[StoredVersion, ...]
    next_version: int

    @property
    def live(self) -> list[StoredVersion]:
        return [row for row in self.versions if not row.deleted]


class Registering(ServiceBase):
    """``register``, ``lookup`` and ``test_compatibility``."""

    @translate_store_errors
    def register(
        self,
        subject: str,
        request: SchemaRequest,
        *,
        normalize: bool = False,
        actor: Actor = ANONYMOUS,
    ) -> RegisteredVersion:
        """Register ``request`` under ``subject`` as Confluent's ``registerOrForward`` does.

        A schema already live in the subject (exactly as sent) is returned first,
        whatever the mode. Otherwise, outside IMPORT mode, a request without
        ``metadata`` / ``ruleSet`` inherits those of the latest live version and
        both are merged with the config's defaults and overrides; an empty
        ``schema`` re-uses the latest version's schema. ``compatibilityGroup``
        limits the compatibility check to versions with the same property value.
        """
        try:
            return self._register(subject, request, normalize=normalize, actor=actor)
        except PolicyDenied:
            raise  # the hook that denied it has recorded why
        except RegistryError as error:
            self.hooks.notify(
                "after_register_rejected", actor, subject, error.error_code, error.message
            )
            raise

    def _register(
        self, subject: str, request: SchemaRequest, *, normalize: bool, actor: Actor
    ) -> RegisteredVersion:
        check_subject(subject)
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
        plan = self._plan(subject, request, mode, config, normalize)
        self._check_hooks(actor, subject, plan.candidate)
        with self.store.write():
            fresh = self._plan(subject, request, mode, config, normalize)
            if fresh.candidate.fingerprint != plan.candidate.fingerprint:
                self._check_hooks(actor, subject, fresh.candidate)  # another writer got in first
            registered, created = self._write_registration(subject, request, mode, config, fresh)
            if created:
                self._announce(
                    "schema_registered",
                    subject=subject,
                    version=registered.version,
                    schema_id=registered.schema.schema_id,
                    schema_type=registered.schema.schema_type,
                    actor=actor.principal,
                )
        return registered

    def _check_hooks(self, actor: Actor, subject: str, candidate: Candidate) -> None:
        self.hooks.check(
            "before_register",
            actor,
            subject,
            candidate.parsed,
            candidate.metadata,
            candidate.rule_set,
        )

    def _find_live_exact(
        self, subject: str, request: SchemaRequest, normalize: bool
    ) -> RegisteredVersion | None:
        """The live version of ``subject`` holding exactly this schema, metadata and rule set."""
        if not request.schema.strip():
            return None
        candidate = self.schemas.prepare(request, normalize=normalize)
        live = self.store.versions(subject, include_deleted=False)
        existing = self.store.schema_by_fingerprint(candidate.fingerprint)
        if existing is not None:
            for row in live:
                if row.schema_id == existing.schema_id:
                    return RegisteredVersion(subject, row.version, existing)
        return self._find_inlined(subject, candidate, live)

    def _find_inlined(
        self, subject: str, candidate: Candidate, rows: Sequence[StoredVersion]
    ) -> RegisteredVersion | None:
        """The newest of ``rows`` whose schema ``candidate`` is with its references inlined."""
        if candidate.references or candidate.schema_type != "AVRO":
            return None
        schemas = self.store.schemas_by_ids(row.schema_id for row in rows)
        for row in reversed(rows):
            stored = schemas[row.schema_id]
            if self.schemas.is_inlined_form_of(candidate, stored):
                return RegisteredVersion(subject, row.version, stored, row.deleted)
        return None

    def _plan(
        self,
        subject: str,
        request: SchemaRequest,
        mode: Mode,
        config: ConfigView,
        normalize: bool,
    ) -> _Plan:
        """Read the subject and build the candidate the registration would write."""
        versions = tuple(self.store.versions(subject, include_deleted=True))
        live = [row for row in versions if not row.deleted]
        next_version = max((row.version for row in versions), default=0) + 1
        if mode is not Mode.IMPORT:
            previous = self.store.schema_by_id_any(live[-1].schema_id) if live else None
            request = self._populate(request, previous, config, next_version)
        elif not request.schema.strip():
            raise InvalidSchema("Empty schema")
        candidate = self.schemas.prepare(request, normalize=normalize)
        return _Plan(candidate, versions, next_version)

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

    def _write_registration(
        self,
        subject: str,
        request: SchemaRequest,
        mode: Mode,
        config: ConfigView,
        plan: _Plan,
    ) -> tuple[RegisteredVersion, bool]:
        """Decide and write, inside the write transaction; ``True`` when a version was created."""
        store = self.store
        candidate, versions, live = plan.candidate, plan.versions, plan.live
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
            new_version = plan.next_version
        elif mode is not Mode.IMPORT and request.version != plan.next_version:
            raise InvalidSchema("Version is not one more than previous version")
        elif any(row.version == request.version for row in versions):
            raise OperationNotPermitted(
                f"Version {request.version} of subject {subject} already exists"
            )
        else:
            new_version = request.version
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

    @translate_store_errors
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
        candidate = self.schemas.prepare(
            request, normalize=normalize or self._normalize_on(subject)
        )
        schemas = self.store.schemas_by_ids(row.schema_id for row in rows)
        exact: list[StoredVersion] = []
        same_content: list[StoredVersion] = []
        for row in rows:
            stored = schemas[row.schema_id]
            if self.schemas.fingerprint_of(stored) == candidate.fingerprint:
                exact.append(row)
            elif self.schemas.content_key_of(stored) == candidate.content_key:
                same_content.append(row)
        # Without metadata or a rule set in the request, any version with the same schema matches.
        if not exact and candidate.metadata is None and candidate.rule_set is None:
            exact = same_content
        if not exact:
            inlined = self._find_inlined(subject, candidate, rows)
            if inlined is None:
                raise SchemaNotFound("Schema not found")
            return inlined
        best = sorted(exact, key=lambda row: (not row.deleted, row.version))[-1]
        return RegisteredVersion(subject, best.version, schemas[best.schema_id], best.deleted)

    # -- reading -----------------------------------------------------------------------

    @translate_store_errors
    def test_compatibility(
        self,
        subject: str,
        request: SchemaRequest,
        *,
        version: int | None = None,
        normalize: bool = False,
    ) -> CompatibilityResult:
        """Check ``request`` against one version (or, with ``None``, as registration would).

        As Confluent's ``CompatibilityResource``: a version that is not live (never
        registered, soft-deleted, or its subject gone) is 40402 ``Version {v} not
        found.``, looked up before the schema is parsed; ``latest`` with no live
        version is compatible.
        """
        live = self.store.versions(subject, include_deleted=False)
        if version is None:
            chosen: Sequence[StoredVersion] = ()
        elif version == LATEST:
            chosen = live[-1:]
        else:
            chosen = [row for row in live if row.version == version]
            if not chosen:
                raise VersionNotFound(f"Version {version} not found.")
        candidate = self.schemas.prepare(
            request, normalize=normalize or self._normalize_on(subject)
        )
        config = self.get_config(subject, default_to_global=True)
        level = config.compatibility or DEFAULT_LEVEL
        if version is None:
            targets = self._existing_for(level, self._same_group(config, candidate.metadata, live))
        else:
            targets = [
                ExistingVersion(row.version, self.schemas.parsed_by_id(row.schema_id))
                for row in chosen
            ]
        messages = check_compatibility(level, candidate.parsed, targets)
        return CompatibilityResult(not messages, messages)

    def _existing_for(
        self, level: CompatibilityLevel, live: Sequence[StoredVersion]
    ) -> list[ExistingVersion]:
        if level is CompatibilityLevel.NONE or not live:
            return []
        wanted = live if level.transitive else live[-1:]
        return [
            ExistingVersion(row.version, self.schemas.parsed_by_id(row.schema_id)) for row in wanted
        ]

    # -- config --------------------------------------------------------------------------


def _has_defaults_or_overrides(config: ConfigView) -> bool:
    return any(config.options.get(name) is not None for name in _CONTRACT_OPTIONS)
