"""Deleting versions and subjects: soft first, then permanently, as Confluent does."""

from __future__ import annotations

from registry.errors import (
    ReferenceExists,
    SchemaVersionNotSoftDeleted,
    SchemaVersionSoftDeleted,
    SubjectNotFound,
    SubjectNotSoftDeleted,
    SubjectSoftDeleted,
    VersionNotFound,
)
from registry.hooks import ANONYMOUS, Actor
from registry.service.base import ServiceBase
from registry.service.types import LATEST
from registry.store import translate_store_errors

__all__ = ["Deleting"]


class Deleting(ServiceBase):
    """``delete_version`` and ``delete_subject``."""

    @translate_store_errors
    def delete_version(
        self, subject: str, version: int, *, permanent: bool = False, actor: Actor = ANONYMOUS
    ) -> int:
        """Soft-delete a version, or permanently delete a soft-deleted one; returns its number."""
        self._check_writable(subject)
        self.hooks.check("before_delete", actor, subject, version, permanent)
        with self.store.write():
            deleted = self._delete_version_locked(subject, version, permanent)
            self._announce(
                "version_deleted",
                subject=subject,
                version=deleted,
                permanent=permanent,
                actor=actor.principal,
            )
        if permanent:
            self._forget_deleted_schemas()
        return deleted

    def _delete_version_locked(self, subject: str, version: int, permanent: bool) -> int:
        store = self.store
        rows = store.versions(subject, include_deleted=True)
        if not rows:
            raise SubjectNotFound(f"Subject '{subject}' not found.")
        if version == LATEST:
            # The newest live version, as Confluent resolves ``latest``: so a permanent delete
            # of ``latest`` is refused (40407) rather than reaching a soft-deleted version.
            live = [row for row in rows if not row.deleted]
            if not live:
                raise VersionNotFound(f"Version {version} not found.")
            target = live[-1]
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

    @translate_store_errors
    def delete_subject(
        self, subject: str, *, permanent: bool = False, actor: Actor = ANONYMOUS
    ) -> list[int]:
        """Soft-delete every live version, or permanently delete a soft-deleted subject."""
        self._check_writable(subject)
        self.hooks.check("before_delete", actor, subject, None, permanent)
        with self.store.write():
            deleted = self._delete_subject_locked(subject, permanent)
            self._announce(
                "subject_deleted",
                subject=subject,
                versions=deleted,
                permanent=permanent,
                actor=actor.principal,
            )
        if permanent:
            self._forget_deleted_schemas()
        return deleted

    def _delete_subject_locked(self, subject: str, permanent: bool) -> list[int]:
        store = self.store
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
