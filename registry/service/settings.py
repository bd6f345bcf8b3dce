"""Compatibility config and mode, per subject and global, as Confluent's ``/config`` and ``/mode``."""

from __future__ import annotations

from registry.compatibility import DEFAULT_LEVEL, CompatibilityLevel
from registry.errors import (
    OperationNotPermitted,
    ReferenceExists,
    SubjectCompatibilityNotConfigured,
    SubjectModeNotConfigured,
    SubjectNotFound,
)
from registry.hooks import ANONYMOUS, Actor, LevelChange
from registry.service.base import ServiceBase, check_subject, level_or_none
from registry.service.types import ConfigUpdate, ConfigView, Mode
from registry.store import GLOBAL_SCOPE, translate_store_errors

__all__ = ["Settings"]


class Settings(ServiceBase):
    """``get/set/delete_config`` and ``get/set/delete_mode``."""

    @translate_store_errors
    def get_config(
        self, subject: str | None = None, *, default_to_global: bool = False
    ) -> ConfigView:
        """The subject's (or global) config; 40408 for a subject without one unless defaulting."""
        if subject is None:
            found = self.store.get_config(GLOBAL_SCOPE)
            level, options = found if found else (None, {})
            return ConfigView(level_or_none(level) or DEFAULT_LEVEL, options)
        found = self.store.get_config(subject)
        if found is None:
            if default_to_global:
                return self.get_config(None)
            raise SubjectCompatibilityNotConfigured(
                f"Subject '{subject}' does not have subject-level compatibility configured"
            )
        level, options = level_or_none(found[0]), found[1]
        if default_to_global:
            global_view = self.get_config(None)
            level = level or global_view.compatibility
            options = {**global_view.options, **options}
        return ConfigView(level, options)

    @translate_store_errors
    def set_config(
        self, subject: str | None, update: ConfigUpdate, *, actor: Actor = ANONYMOUS
    ) -> ConfigView:
        """Set the level and options of ``subject`` (``None``: global); unset fields are kept."""
        if subject is not None:
            check_subject(subject)
        self._check_writable(subject)
        level_text = None if update.compatibility is None else update.compatibility.value
        levels = self._level_change(subject, update.compatibility, deleting=False)
        self.hooks.check("before_config_change", actor, subject, level_text, update.options, levels)
        scope = GLOBAL_SCOPE if subject is None else subject
        with self.store.write():
            found = self.store.get_config(scope)
            level, options = found if found else (None, {})
            if update.compatibility is not None:
                level = update.compatibility.value
            elif level is None:
                level = DEFAULT_LEVEL.value if subject is None else None
            options = {**options, **update.options}
            self.store.set_config(scope, level, options)
            self._announce(
                "config_changed",
                subject=subject,
                compatibility=level,
                options=options,
                actor=actor.principal,
            )
        return ConfigView(level_or_none(level), options)

    @translate_store_errors
    def delete_config(self, subject: str | None = None, *, actor: Actor = ANONYMOUS) -> ConfigView:
        """Remove a subject's config (40401 if none) or reset the global one; returns the old one."""
        self._check_writable(subject)
        levels = self._level_change(subject, None, deleting=True)
        self.hooks.check("before_config_change", actor, subject, None, {}, levels)
        with self.store.write():
            if subject is None:
                previous = self.get_config(None)
                self.store.delete_config(GLOBAL_SCOPE)
            else:
                found = self.store.get_config(subject)
                if found is None:
                    raise SubjectNotFound(f"Subject '{subject}' not found.")
                previous = ConfigView(level_or_none(found[0]), found[1])
                self.store.delete_config(subject)
            self._announce(
                "config_changed",
                subject=subject,
                compatibility=None,
                options={},
                actor=actor.principal,
            )
        return previous

    def _level_change(
        self, subject: str | None, new_level: CompatibilityLevel | None, *, deleting: bool
    ) -> LevelChange:
        """The scope's effective level before and after setting ``new_level`` (``None``:
        options only) or deleting its config, as ``defaultToGlobal`` reads it."""
        global_level = self.get_config(None).compatibility or DEFAULT_LEVEL
        if subject is None:
            before = global_level
            after = DEFAULT_LEVEL if deleting else new_level or global_level
        else:
            found = self.store.get_config(subject)
            before = (level_or_none(found[0]) if found else None) or global_level
            after = global_level if deleting else new_level or before
        return LevelChange(before.value, after.value)

    def _normalize_on(self, subject: str) -> bool:
        return bool(self.get_config(subject, default_to_global=True).options.get("normalize"))

    # -- mode ----------------------------------------------------------------------------

    @translate_store_errors
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

    @translate_store_errors
    def set_mode(
        self, subject: str | None, mode: Mode, *, force: bool = False, actor: Actor = ANONYMOUS
    ) -> Mode:
        """Set the mode, as Confluent's ``setMode``.

        Entering IMPORT (from another mode, without ``force``) needs a scope with
        no live version (42205); its soft-deleted versions are then permanently
        deleted, unless something references them (42206).
        """
        if subject is not None:
            check_subject(subject)
        self.hooks.check("before_mode_change", actor, subject, mode.value)
        scope = GLOBAL_SCOPE if subject is None else subject
        purged = False
        with self.store.write():
            if (
                mode is Mode.IMPORT
                and not force
                and self._mode_in_scope(subject) is not Mode.IMPORT
            ):
                if self.store.any_live_version(subject):
                    raise OperationNotPermitted("Cannot import since found existing subjects")
                purged = self._purge_soft_deleted(subject, actor)
            self.store.set_mode(scope, mode.value)
            self._announce("mode_changed", subject=subject, mode=mode.value, actor=actor.principal)
        if purged:
            self._forget_deleted_schemas()
        return mode

    def _purge_soft_deleted(self, subject: str | None, actor: Actor) -> bool:
        """Permanently delete the (soft-deleted) versions in scope; whether there were any."""
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
            self._announce(
                "subject_deleted",
                subject=name,
                versions=numbers,
                permanent=True,
                actor=actor.principal,
            )
        return bool(by_subject)

    @translate_store_errors
    def delete_mode(self, subject: str | None = None, *, actor: Actor = ANONYMOUS) -> Mode:
        """Remove a subject's mode (40401 if none) or reset the global one; returns the old one."""
        self.hooks.check("before_mode_change", actor, subject, None)
        with self.store.write():
            if subject is None:
                previous = self.get_mode(None)
                self.store.delete_mode(GLOBAL_SCOPE)
            else:
                found = self.store.get_mode(subject)
                if found is None:
                    raise SubjectNotFound(f"Subject '{subject}' not found.")
                previous = Mode(found)
                self.store.delete_mode(subject)
            self._announce("mode_changed", subject=subject, mode=None, actor=actor.principal)
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
