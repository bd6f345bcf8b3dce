"""The broker's view of the registry: schemas by id and each subject's latest live version.

The registry runs in other processes; the broker learns of its changes by
following the registry outbox (``charter`` wires ``SchemaState.apply`` as the
subscriber). Lookups load lazily from the shared database and are then served
from memory: a registration sets the subject's latest version, a delete drops
the subject's entry (reloaded on the next lookup), and a permanent delete
empties the schemas by id (ids are immutable, but a permanent delete can make
one "not found"). The produce gate reads it.
"""

from __future__ import annotations

import dataclasses
import threading
import time

import peewee

from registry.events import is_permanent_delete
from registry.formats.base import ParsedSchema
from registry.outbox import Event
from registry.service.schemas import SchemaResolver
from registry.store import Store, StoredSchema

__all__ = ["LatestVersion", "SchemaState"]

MISS_RECHECK_SECONDS = 0.5
"""A schema id not among a subject's cached versions is looked up in the database again
at most this often (per subject and id): it may have been registered a moment ago,
before the follower applied the event."""
_MISSES_KEPT = 10_000


@dataclasses.dataclass(frozen=True, slots=True)
class LatestVersion:
    """A subject's latest live version and the id of its schema."""

    version: int
    schema_id: int


class SchemaState:
    """Schemas by id and subjects' latest versions, kept current by registry events.

    ``apply`` runs on the follower's thread, lookups on the broker's event loop;
    an entry loaded while an event was being applied is not kept.
    """

    def __init__(self, database: peewee.Database) -> None:
        self._store = Store(database)
        self._latest: dict[str, LatestVersion | None] = {}
        self._versions: dict[str, dict[int, int]] = {}  # subject -> live schema id -> version
        self._resolver = SchemaResolver(self._store)
        self._lock = threading.Lock()
        self._epoch = 0  # raised by every applied event that changes a subject
        self._misses: dict[tuple[str, int], float] = {}  # (subject, id) -> last recheck
        self.last_seq = 0
        """The ``seq`` of the last registry event applied."""

    def schema(self, schema_id: int) -> StoredSchema | None:
        """The schema with this id, if some subject version still uses it."""
        return self._store.schema_by_id(schema_id)

    def parsed(self, schema_id: int) -> ParsedSchema:
        """The schema with this id, parsed with its references (the formats cache parses)."""
        return self._resolver.parsed_by_id(schema_id)

    def subject_version(self, subject: str, schema_id: int) -> int | None:
        """The live version of ``subject`` whose schema is ``schema_id`` (the newest), if any.

        A miss in the cached versions reloads them (at most every ``MISS_RECHECK_SECONDS``
        per subject and id), so a version registered a moment ago is found before the
        follower has applied its event."""
        with self._lock:
            known = self._versions.get(subject)
            if known is not None:
                found = known.get(schema_id)
                if found is not None or not self._recheck_due(subject, schema_id):
                    return found
            epoch = self._epoch
        rows = self._store.versions(subject, include_deleted=False)
        loaded = {row.schema_id: row.version for row in rows}
        with self._lock:
            if epoch == self._epoch:
                self._versions[subject] = loaded
        return loaded.get(schema_id)

    def _recheck_due(self, subject: str, schema_id: int) -> bool:
        """Whether a cached miss of ``schema_id`` under ``subject`` is to be checked again
        (called with the lock held)."""
        now = time.monotonic()
        key = (subject, schema_id)
        last = self._misses.get(key)
        if last is not None and now - last < MISS_RECHECK_SECONDS:
            return False
        if len(self._misses) >= _MISSES_KEPT:
            self._misses.clear()
        self._misses[key] = now
        return True

    def latest(self, subject: str) -> LatestVersion | None:
        """The latest live version of ``subject`` (``None``: no live version)."""
        with self._lock:
            if subject in self._latest:
                return self._latest[subject]
            epoch = self._epoch
        rows = self._store.versions(subject, include_deleted=False)
        found = LatestVersion(rows[-1].version, rows[-1].schema_id) if rows else None
        with self._lock:
            if epoch == self._epoch:
                self._latest[subject] = found
        return found

    def apply(self, event: Event) -> None:
        """Take one registry event into account (the subscriber ``charter`` wires)."""
        payload = event.payload
        with self._lock:
            if event.name == "schema_registered":
                self._epoch += 1
                subject = str(payload["subject"])
                version = int(payload["version"])
                # A subject not loaded yet is loaded on its first lookup (an IMPORT-mode
                # registration may add a version below the latest one).
                if subject in self._latest:
                    known = self._latest[subject]
                    if known is None or known.version < version:
                        self._latest[subject] = LatestVersion(version, int(payload["schema_id"]))
                self._versions.pop(subject, None)  # reloaded on its next lookup
            elif event.name in ("version_deleted", "subject_deleted"):
                self._epoch += 1
                self._latest.pop(str(payload["subject"]), None)
                self._versions.pop(str(payload["subject"]), None)
            self.last_seq = event.seq
        if is_permanent_delete(event):
            self._store.schema_cache.invalidate()
