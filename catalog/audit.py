"""Where catalog edits are recorded until ``charter`` wires in governance's audit log.

``catalog.model.AuditSink`` is the interface (governance's shape);
``LoggingAuditSink`` writes one log line per edit (logger
``charter.catalog.audit``) and is the default; ``MemoryAuditSink`` keeps them.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["LoggingAuditSink", "MemoryAuditSink"]

log = logging.getLogger("charter.catalog.audit")


class LoggingAuditSink:
    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        log.info(
            "catalog edit: actor=%s action=%s resource=%s outcome=%s detail=%s",
            actor,
            action,
            resource,
            outcome,
            detail,
        )


class MemoryAuditSink:
    """Keeps the entries in a list (tests; a process-local view)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        self.entries.append(
            {
                "actor": actor,
                "action": action,
                "resource": resource,
                "outcome": outcome,
                "detail": detail,
            }
        )
