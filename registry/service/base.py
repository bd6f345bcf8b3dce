"""What every part of the registry service shares: the store, the schema resolver, hooks, events.

Subject-name helpers live here too; every concern module (registering,
reading, deleting, settings) extends ``ServiceBase``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import peewee

from registry.compatibility import CompatibilityLevel
from registry.errors import InvalidSubject
from registry.hooks import HookRunner
from registry.service.schemas import SchemaResolver
from registry.store import Store

__all__ = ["ServiceBase", "check_subject", "context_of", "level_or_none", "qualified_subject"]


class ServiceBase:
    """Registry operations over one database; safe to share between threads of one process."""

    def __init__(
        self,
        database: peewee.Database,
        *,
        hooks: Iterable[object] = (),
    ) -> None:
        self.store = Store(database)
        self.schemas = SchemaResolver(self.store)
        self.hooks = HookRunner(list(hooks))

    def _announce(self, event_name: str, **payload: Any) -> None:
        """Write the change's event (``registry.events``) in its open write transaction."""
        self.store.announce(event_name, payload)

    def _forget_deleted_schemas(self) -> None:
        """After a permanent delete commits: this process's schema-by-id cache starts afresh.

        Other processes do the same when their outbox follower delivers the event.
        """
        self.store.schema_cache.invalidate()

    def add_hook(self, hook: object) -> None:
        """Run ``hook``'s checks (``registry.hooks.RegistryHooks``) before every later change."""
        self.hooks.add(hook)


def check_subject(subject: str) -> None:
    if not subject or any(ord(char) < 32 or 127 <= ord(char) < 160 for char in subject):
        raise InvalidSubject(f"The specified subject {subject!r} is not a valid subject")


def qualified_subject(subject: str) -> str:
    """Confluent's ``QualifiedSubject.normalize``: ``:.:name`` (the default context) is ``name``."""
    if subject.startswith(":.:"):
        return subject[3:]
    return subject


def context_of(subject: str) -> str | None:
    """The context of a qualified subject ``:.ctx:name`` (``.ctx``), or ``None``."""
    if not subject.startswith(":."):
        return None
    end = subject.find(":", 2)
    return subject[1:] if end < 0 else subject[1:end]


def level_or_none(text: str | None) -> CompatibilityLevel | None:
    if text is None:
        return None
    try:
        return CompatibilityLevel(text)
    except ValueError:
        return None
