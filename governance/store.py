"""Governance's tables: policy settings, the audit log, and the governance outbox.

- ``governance_policies``: one row per policy someone configured (name, enabled,
  params as JSON, who and when); a policy without a row is disabled with its
  default params.
- ``governance_audit``: one row per audited action (time, actor, action,
  resource, outcome, detail, count: how many identical actions a row stands for
  when floods are aggregated). ``source``/``source_seq`` identify an entry
  derived from an outbox event, unique, so several processes following the same
  outbox write it once; security's entries (authentication failures,
  authorization denials, permission changes) have ``source`` ``security`` and
  no ``source_seq``.
- ``governance_outbox``: ``policy_changed`` events (``registry.outbox``), so
  every process (HTTP workers, the broker) reloads its policy engine.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import peewee

from registry.outbox import Outbox, outbox_migration

__all__ = [
    "AuditEntry",
    "GovernanceStore",
    "MIGRATIONS",
    "OUTBOX_TABLE",
    "PolicyRow",
    "governance_outbox",
]

OUTBOX_TABLE = "governance_outbox"
_OUTBOX_LOCK_KEY = 0x4348474F  # "CHGO"


def governance_outbox(database: peewee.Database) -> Outbox:
    return Outbox(database, OUTBOX_TABLE, lock_key=_OUTBOX_LOCK_KEY)


@dataclasses.dataclass(frozen=True)
class PolicyRow:
    name: str
    enabled: bool
    params: dict[str, Any]
    updated_at_ms: int
    updated_by: str


@dataclasses.dataclass(frozen=True)
class AuditEntry:
    time_ms: int
    actor: str
    action: str
    resource: str
    outcome: str
    detail: str
    count: int = 1
    source: str | None = None
    source_seq: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "time": _iso(self.time_ms),
            "timeMs": self.time_ms,
            "actor": self.actor,
            "action": self.action,
            "resource": self.resource,
            "outcome": self.outcome,
            "detail": self.detail,
            "count": self.count,
        }


def _iso(time_ms: int) -> str:
    seconds, millis = divmod(time_ms, 1000)
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(seconds)) + f".{millis:03d}Z"


def _models(bound: peewee.Database) -> tuple[type[peewee.Model], type[peewee.Model]]:
    class _Base(peewee.Model):
        class Meta:
            database = bound

    class Policy(_Base):
        name = peewee.CharField(max_length=200, primary_key=True)
        enabled = peewee.BooleanField(default=False)
        params = peewee.TextField(default="{}")
        updated_at_ms = peewee.BigIntegerField()
        updated_by = peewee.CharField(max_length=300)

        class Meta:
            table_name = "governance_policies"

    class Audit(_Base):
        id = peewee.BigAutoField()
        time_ms = peewee.BigIntegerField(index=True)
        actor = peewee.CharField(max_length=300)
        action = peewee.CharField(max_length=100, index=True)
        resource = peewee.CharField(max_length=500, index=True)
        outcome = peewee.CharField(max_length=50)
        detail = peewee.TextField()
        count = peewee.IntegerField(default=1)
        source = peewee.CharField(max_length=100, null=True)
        source_seq = peewee.BigIntegerField(null=True)

        class Meta:
            table_name = "governance_audit"
            indexes = ((("source", "source_seq"), True),)

    return Policy, Audit


def _create_tables(database: peewee.Database) -> None:
    database.create_tables(list(_models(database)))


def _absorb_security_audit(database: peewee.Database) -> None:
    """Move the rows of ``security_audit`` (security's own table before the audit logs were
    joined) into ``governance_audit`` as security's entries, and drop it."""
    if not database.table_exists("security_audit"):
        return
    database.execute_sql(
        "INSERT INTO governance_audit "
        "(time_ms, actor, action, resource, outcome, detail, count, source) "
        "SELECT time_ms, actor, action, resource, outcome, detail, 1, 'security' "
        "FROM security_audit ORDER BY id"
    )
    database.execute_sql("DROP TABLE security_audit")


MIGRATIONS: list[Callable[[peewee.Database], None]] = [
    _create_tables,
    outbox_migration(OUTBOX_TABLE),
    _absorb_security_audit,
]


class GovernanceStore:
    """Queries over governance's tables (one instance per database, thread-safe)."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self._policy, self._audit = _models(database)
        self.outbox = governance_outbox(database)

    # -- policies ------------------------------------------------------------------------------

    def policies(self) -> dict[str, PolicyRow]:
        return {
            row.name: PolicyRow(
                row.name,
                bool(row.enabled),
                json.loads(row.params),
                row.updated_at_ms,
                row.updated_by,
            )
            for row in self._policy.select()
        }

    def save_policy(
        self, name: str, enabled: bool, params: Mapping[str, Any], *, actor: str, audit: AuditEntry
    ) -> None:
        """Store a policy's settings, its audit entry and its ``policy_changed`` event, atomically.

        The event is appended first: its lock (the outbox's, held to the commit) orders
        concurrent policy changes from every process, so the audit entries (timed and
        numbered under the lock), the outbox events and the stored settings all follow the
        one commit order, and the last event always carries the settings that stay.
        """
        text = json.dumps(dict(params), sort_keys=True, default=list)
        with self.database.atomic():
            self.outbox.append(
                "policy_changed",
                {"name": name, "enabled": enabled, "params": json.loads(text), "actor": actor},
            )
            now_ms = int(time.time() * 1000)
            self._policy.insert(
                name=name, enabled=enabled, params=text, updated_at_ms=now_ms, updated_by=actor
            ).on_conflict(
                conflict_target=[self._policy.name],
                update={
                    self._policy.enabled: enabled,
                    self._policy.params: text,
                    self._policy.updated_at_ms: now_ms,
                    self._policy.updated_by: actor,
                },
            ).execute()
            self._insert_audit([dataclasses.replace(audit, time_ms=now_ms)])

    # -- audit -------------------------------------------------------------------------------

    def append_audit(self, entries: Iterable[AuditEntry]) -> None:
        """Write entries; one derived from an outbox event already written is skipped."""
        entries = list(entries)
        if entries:
            with self.database.atomic():
                self._insert_audit(entries)

    def _insert_audit(self, entries: list[AuditEntry]) -> None:
        rows = [
            {
                "time_ms": e.time_ms,
                "actor": e.actor[:300],
                "action": e.action,
                "resource": e.resource[:500],
                "outcome": e.outcome,
                "detail": e.detail,
                "count": e.count,
                "source": e.source,
                "source_seq": e.source_seq,
            }
            for e in entries
        ]
        self._audit.insert_many(rows).on_conflict_ignore().execute()

    def audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        resource: str | None = None,
        outcome: str | None = None,
        source: str | None = None,
    ) -> list[AuditEntry]:
        """Newest first; ``resource`` matches exactly or as a prefix ending in ``*``."""
        table = self._audit
        query = table.select().order_by(table.time_ms.desc(), table.id.desc()).limit(limit)
        if action:
            query = query.where(table.action == action)
        if outcome:
            query = query.where(table.outcome == outcome)
        if source:
            query = query.where(table.source == source)
        if resource:
            if resource.endswith("*"):
                # substr, not LIKE: a prefix is matched case-sensitively, as exact names are
                # (subjects Orders-value and orders-value differ), and % or _ are literal.
                prefix = resource[:-1]
                query = query.where(peewee.fn.SUBSTR(table.resource, 1, len(prefix)) == prefix)
            else:
                query = query.where(table.resource == resource)
        return [
            AuditEntry(
                row.time_ms,
                row.actor,
                row.action,
                row.resource,
                row.outcome,
                row.detail,
                row.count,
                row.source,
                row.source_seq,
            )
            for row in query
        ]

    def last_source_seq(self, source: str) -> int | None:
        """The highest ``source_seq`` audited from ``source`` (None: nothing yet)."""
        table = self._audit
        value = table.select(peewee.fn.MAX(table.source_seq)).where(table.source == source).scalar()
        return None if value is None else int(value)
