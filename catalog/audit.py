"""Where catalog edits are recorded until governance's audit log is wired in by ``charter``.

``catalog.model.AuditSink`` is the interface; ``LoggingAuditSink`` writes one
log line per edit (logger ``charter.catalog.audit``) and is the default.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any

__all__ = ["LoggingAuditSink", "MemoryAuditSink"]

log = logging.getLogger("charter.catalog.audit")


class LoggingAuditSink:
    def record(self, *, actor: str, action: str, target: str, detail: Mapping[str, Any]) -> None:
        log.info(
            "catalog edit: actor=%s action=%s target=%s detail=%s",
            actor,
            action,
            target,
            json.dumps(dict(detail), sort_keys=True, default=str),
        )


class MemoryAuditSink:
    """Keeps the entries in a list (tests; a process-local view)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def record(self, *, actor: str, action: str, target: str, detail: Mapping[str, Any]) -> None:
        self.entries.append(
            {"actor": actor, "action": action, "target": target, "detail": dict(detail)}
        )
