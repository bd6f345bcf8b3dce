"""The registry's events: what each change announces, through the registry's outbox.

Every change writes its event in its own write transaction
(``registry.outbox``; table ``registry_outbox``), so other processes learn of
it by following the outbox (``charter.events``) and nothing is announced that
rolled back. Payloads (JSON objects):

- ``schema_registered``: ``subject``, ``version``, ``schema_id``, ``schema_type``
  (only when a new version was created).
- ``version_deleted``: ``subject``, ``version``, ``permanent``.
- ``subject_deleted``: ``subject``, ``versions`` (list), ``permanent``; also
  written per subject when entering IMPORT mode purges soft-deleted versions.
- ``config_changed``: ``subject`` (``None``: global), ``compatibility``, ``options``.
- ``mode_changed``: ``subject`` (``None``: global), ``mode`` (``None``: removed).

A permanent delete (``permanent`` true) is what makes a schema id "not found":
per-process caches of schemas by id drop their entries on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import peewee

from registry.outbox import Event, Outbox

__all__ = [
    "EVENT_NAMES",
    "OUTBOX_TABLE",
    "is_permanent_delete",
    "registry_outbox",
]

EVENT_NAMES = frozenset(
    {"schema_registered", "subject_deleted", "version_deleted", "config_changed", "mode_changed"}
)

OUTBOX_TABLE = "registry_outbox"

WRITE_LOCK_KEY = 0x43485257  # "CHRW"
"""The PostgreSQL advisory lock every registry write transaction takes first
(``registry.store.write_transaction``); it also orders appends to the registry
outbox, so an append inside such a transaction needs no lock of its own."""


class RegistryOutbox(Outbox):
    """The registry's outbox; ``append`` accepts only the registry's event names."""

    def append(
        self, event_name: str, payload: Mapping[str, Any], *, lock_held: bool = False
    ) -> int:
        if event_name not in EVENT_NAMES:
            known = ", ".join(sorted(EVENT_NAMES))
            raise ValueError(f"unknown registry event {event_name!r}; known events: {known}")
        return super().append(event_name, payload, lock_held=lock_held)


def registry_outbox(database: peewee.Database) -> RegistryOutbox:
    """The registry outbox of ``database``."""
    return RegistryOutbox(database, OUTBOX_TABLE, lock_key=WRITE_LOCK_KEY)


def is_permanent_delete(event: Event) -> bool:
    """Whether ``event`` permanently deleted versions (some schema ids may be gone)."""
    return event.name in ("version_deleted", "subject_deleted") and bool(
        event.payload.get("permanent")
    )
