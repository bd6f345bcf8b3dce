"""Where security's audit entries go: an ``AuditSink``, and a database-backed default.

Every authentication failure, authorization denial (outcome ``denied``) and
permission change (outcome ``success``) is recorded with the principal, the
action and the resource; never a secret. ``AuditSink`` has the same shape as
the governance audit log's sink (``record(actor, action, resource, outcome,
detail)``), so composition can hand security that log's sink instead of
``BufferedAudit``, which writes to ``security_audit`` until the two are joined.

``BufferedAudit`` only queues on the caller's thread (the broker's event loop
records denials too) and writes from a background thread every
``flush_interval_s``.
"""

from __future__ import annotations

import logging
import threading
import time

from governance.audit import AuditSink
from governance.security.store import AuditRow, SecurityStore

__all__ = ["AuditSink", "BufferedAudit", "NoAudit"]

log = logging.getLogger(__name__)

_MAX_PENDING = 10_000


class NoAudit:
    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        return None


class BufferedAudit:
    """Queues entries; a daemon thread writes them to ``security_audit``."""

    def __init__(self, store: SecurityStore, *, flush_interval_s: float = 0.2) -> None:
        self.store = store
        self.flush_interval_s = flush_interval_s
        self._lock = threading.Lock()
        self._pending: list[AuditRow] = []
        self._dropped = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def record(
        self, actor: str, action: str, resource: str, outcome: str, detail: str = ""
    ) -> None:
        row = AuditRow(int(time.time() * 1000), actor, action, resource, outcome, detail[:1000])
        with self._lock:
            if len(self._pending) >= _MAX_PENDING:  # a flood must not exhaust memory
                self._dropped += 1
                return
            self._pending.append(row)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="charter-security-audit", daemon=True
                )
                self._thread.start()

    def flush(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            dropped, self._dropped = self._dropped, 0
        if dropped:
            log.warning("security audit: %d entries dropped under load", dropped)
        if not pending:
            return
        try:
            self.store.append_audit(pending)
        except Exception:  # the audit never turns an answer into an error
            log.exception("could not write %d security audit entries", len(pending))

    def _run(self) -> None:
        while not self._stop.wait(self.flush_interval_s):
            self.flush()
        self.flush()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(10)
        self.flush()
