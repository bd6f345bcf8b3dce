"""Where security's audit entries go: the governance audit log, marked ``source=security``.

Every authentication failure, authorization denial (outcome ``denied``) and
permission change (outcome ``success``) is recorded with the principal, the
action and the resource; never a secret. They go through the governance audit
log's sink (``governance.audit.AuditBuffer``) into ``governance_audit``, so
``GET /governance/v1/audit`` shows them with every other entry, and
``GET /security/v1/audit`` is the view of the rows whose ``source`` is
``security``. The buffer only queues on the caller's thread (the broker's
event loop records denials too), writes from a background thread and folds
identical entries of one interval (a flood of failed logins) into one row with
a ``count``.
"""

from __future__ import annotations

import peewee

from governance.audit import AuditBuffer, AuditSink
from governance.store import AuditEntry, GovernanceStore

__all__ = ["SECURITY_SOURCE", "AuditSink", "NoAudit", "security_audit", "security_entries"]

SECURITY_SOURCE = "security"


class NoAudit:
    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        return None


def security_audit(database: peewee.Database, *, flush_interval_s: float = 0.2) -> AuditBuffer:
    """The sink security records to: the governance audit log, marked as security's."""
    return AuditBuffer(
        GovernanceStore(database), flush_interval_s=flush_interval_s, source=SECURITY_SOURCE
    )


def security_entries(
    database: peewee.Database, *, limit: int = 100, outcome: str | None = None
) -> list[AuditEntry]:
    """Security's entries of the governance audit log, newest first."""
    return GovernanceStore(database).audit(limit=limit, outcome=outcome, source=SECURITY_SOURCE)
