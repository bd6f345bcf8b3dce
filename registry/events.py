"""In-process registry events and the registration hook protocol.

The service emits events after a change is committed (``schema_registered``,
``subject_deleted``, ``version_deleted``, ``config_changed``, ``mode_changed``);
the catalog indexer and the broker's schema cache subscribe. Registration hooks
(governance policies) run before the compatibility check and may veto a
registration by raising a ``registry.errors.RegistryError``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from registry.formats.base import ParsedSchema

__all__ = ["EVENT_NAMES", "EventBus", "RegistrationHook"]

log = logging.getLogger(__name__)

EVENT_NAMES = frozenset(
    {"schema_registered", "subject_deleted", "version_deleted", "config_changed", "mode_changed"}
)

Callback = Callable[..., None]


class EventBus:
    """Synchronous publish/subscribe by event name; a failing subscriber never fails the caller."""

    def __init__(self) -> None:
        self._subscribers: dict[str, list[Callback]] = defaultdict(list)

    def subscribe(self, event_name: str, callback: Callback) -> None:
        """Call ``callback(**payload)`` on every ``emit(event_name, **payload)``."""
        if event_name not in EVENT_NAMES:
            known = ", ".join(sorted(EVENT_NAMES))
            raise ValueError(f"unknown registry event {event_name!r}; known events: {known}")
        self._subscribers[event_name].append(callback)

    def unsubscribe(self, event_name: str, callback: Callback) -> None:
        callbacks = self._subscribers.get(event_name, [])
        if callback in callbacks:
            callbacks.remove(callback)

    def emit(self, event_name: str, **payload: Any) -> None:
        """Deliver an event to its subscribers, in subscription order."""
        if event_name not in EVENT_NAMES:
            raise ValueError(f"unknown registry event {event_name!r}")
        for callback in list(self._subscribers.get(event_name, ())):
            try:
                callback(**payload)
            except Exception:  # the change is committed; a subscriber bug must not undo the reply
                log.exception("subscriber %r failed on registry event %s", callback, event_name)


@runtime_checkable
class RegistrationHook(Protocol):
    """Checks a schema before it is registered (implemented by governance policies)."""

    def before_register(
        self,
        subject: str,
        parsed_schema: ParsedSchema,
        metadata: Mapping[str, Any] | None,
        rule_set: Mapping[str, Any] | None,
    ) -> None:
        """Return to allow; raise a ``registry.errors.RegistryError`` to veto the registration."""
