"""In-process registry events and the registration hook protocol.

The service emits events after a change is committed (``schema_registered``,
``subject_deleted``, ``version_deleted``, ``config_changed``, ``mode_changed``);
the catalog indexer and the broker's schema cache subscribe. Checks that run
before a change (governance policies) are hooks: ``registry.hooks``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

__all__ = ["EVENT_NAMES", "EventBus"]

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
