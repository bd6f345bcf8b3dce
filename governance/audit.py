"""The audit log: who did what to which resource, and how it ended.

Entries come from three places (docs/governance.md, "Audit log"):

- registry changes (registration, deletion, config and mode changes) are read
  from the registry outbox by ``registry_event_entry`` (the HTTP processes
  follow it; the entry is keyed by the event's ``seq``, so it is written once
  however many processes follow, and none is lost across restarts);
- denials (a registration or config change refused by a policy, a topic
  creation refused, a produce rejected by the gate) are recorded where they
  happen, through an ``AuditSink``;
- policy changes are written with the change itself (``GovernanceStore.save_policy``).

``AuditBuffer`` is the sink for hot paths (the broker's event loop, the gate,
security's authentication and authorization checks): ``record`` only queues;
a thread writes every ``flush_interval_s`` and folds identical entries (same
actor, action, resource, outcome, detail) of one interval into one row with a
``count``, so a flood of rejected produces or failed logins is a few rows, not
one per record. A buffer built with ``source`` (security's: ``"security"``)
marks its rows, so a view of one kind of entry is a filter on one table.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from typing import Any, Protocol

from governance.store import AuditEntry, GovernanceStore
from registry.outbox import Event

__all__ = [
    "AuditBuffer",
    "AuditSink",
    "DirectAudit",
    "registry_event_entry",
]

log = logging.getLogger(__name__)

_MAX_PENDING = 10_000
"""Distinct entries queued at most per interval; a flood beyond it is counted and dropped."""


class AuditSink(Protocol):
    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None: ...


class DirectAudit:
    """Writes each entry at once (HTTP request threads; outside any write transaction)."""

    def __init__(self, store: GovernanceStore) -> None:
        self.store = store

    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        entry = AuditEntry(_now_ms(), actor, action, resource, outcome, detail)
        try:
            self.store.append_audit([entry])
        except Exception:  # the audit never turns an answer into a 500
            log.exception("could not write the audit entry %s %s", action, resource)


class AuditBuffer:
    """Queues entries and writes them, aggregated, from a background thread."""

    def __init__(
        self,
        store: GovernanceStore,
        *,
        flush_interval_s: float = 0.5,
        source: str | None = None,
    ) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self.source = source
        self._lock = threading.Lock()
        self._pending: dict[tuple[str, str, str, str, str], list[int]] = {}
        self._dropped = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        now = _now_ms()
        key = (actor, action, resource, outcome, detail)
        with self._lock:
            slot = self._pending.get(key)
            if slot is not None:
                slot[1] += 1
            elif len(self._pending) < _MAX_PENDING:
                self._pending[key] = [now, 1]
            else:  # a flood of distinct entries must not exhaust memory
                self._dropped += 1
        if self._thread is None:
            self._start()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.warning("audit: %d distinct entries dropped under load", dropped)
        if not pending:
            return
        entries = [
            AuditEntry(first_ms, *key, count=count, source=self.source)
            for key, (first_ms, count) in pending.items()
        ]
        try:
            self.store.append_audit(entries)
        except Exception:
            log.exception("could not write %d audit entries", len(entries))
        finally:
            if not self.store.database.is_closed():
                self.store.database.close()  # this thread's connection

    def _start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name="charter-audit", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self.flush()
        self.flush()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
            self._thread = None


def _now_ms() -> int:
    return int(time.time() * 1000)


# -- registry events as audit entries ---------------------------------------------------------


def _subject_resource(payload: Mapping[str, Any]) -> str:
    subject = payload.get("subject")
    return f"subject:{subject}" if subject is not None else "config:global"


def registry_event_entry(event: Event) -> AuditEntry | None:
    """The audit entry for a registry outbox event (None for events not audited)."""
    payload = event.payload
    actor = str(payload.get("actor") or "User:ANONYMOUS")
    resource = _subject_resource(payload)
    if event.name == "schema_registered":
        action = "schema.register"
        detail = (
            f"version {payload.get('version')}, schema id {payload.get('schema_id')} "
            f"({payload.get('schema_type')})"
        )
    elif event.name == "version_deleted":
        action = "schema.delete"
        kind = "permanently" if payload.get("permanent") else "soft"
        detail = f"version {payload.get('version')} deleted ({kind})"
    elif event.name == "subject_deleted":
        action = "subject.delete"
        kind = "permanently" if payload.get("permanent") else "soft"
        detail = f"versions {payload.get('versions')} deleted ({kind})"
    elif event.name == "config_changed":
        action = "config.change"
        resource = resource if payload.get("subject") is not None else "config:global"
        if payload.get("compatibility") is None and not payload.get("options"):
            detail = "config deleted"
        else:
            detail = f"compatibility {payload.get('compatibility')}"
        if payload.get("options"):
            detail += f", options {dict(payload['options'])}"
    elif event.name == "mode_changed":
        action = "mode.change"
        resource = f"mode:{payload['subject']}" if payload.get("subject") else "mode:global"
        mode = payload.get("mode")
        detail = f"mode {mode}" if mode is not None else "mode deleted"
    else:
        return None
    return AuditEntry(
        event.created_at_ms, actor, action, resource, "success", detail, 1, event.source, event.seq
    )
