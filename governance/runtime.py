"""One process's governance: store, policy engine, audit sinks, lineage, built once per database.

``charter.compose`` builds it and hands its parts to the registry hooks, the
broker hooks, the produce gate and the governance API; ``close`` flushes the
aggregated audit entries and lineage and stops their threads.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import peewee

from governance.audit import AuditBuffer, DirectAudit
from governance.engine import PolicyEngine
from governance.lineage import LineageRecorder
from governance.service import GovernanceService
from governance.store import GovernanceStore

__all__ = ["Governance"]


class Governance:
    def __init__(
        self,
        database: peewee.Database,
        *,
        lineage_sink: Callable[[Sequence[dict[str, Any]]], None] | None = None,
        lineage_interval_s: float = 5.0,
    ) -> None:
        self.database = database
        self.store = GovernanceStore(database)
        self.engine = PolicyEngine(self.store)
        self.direct_audit = DirectAudit(self.store)  # request threads
        self.buffered_audit = AuditBuffer(self.store)  # the event loop and the gate
        self.lineage = LineageRecorder(lineage_sink, interval_s=lineage_interval_s)
        self.service = GovernanceService(self.store, self.engine)

    def close(self) -> None:
        self.lineage.stop()
        self.buffered_audit.stop()
