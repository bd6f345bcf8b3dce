"""The one authorizer: may principal P do action A on resource T:name? Both doors ask it.

It answers from an in-memory snapshot of the role bindings (``ROLE_ACTIONS``
decides what a role allows), so the broker can ask on its event loop. A daemon
thread reloads the snapshot when the store's generation moves (another process
changed a binding; within ``refresh_interval_s``), and the security service
calls ``refresh()`` right after its own changes. Decisions are memoised per
snapshot. A denial is recorded in the audit sink (outcome ``denied``) by
``authorize``; ``allows`` only asks.

``AllowEverything`` is the authorizer when auth is off.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Protocol

from governance.security.audit import AuditSink, NoAudit
from governance.security.model import Action, ResourceType, role_allows
from governance.security.store import Binding, SecurityStore

__all__ = ["AllowEverything", "Authorizer", "RoleBindingAuthorizer"]

log = logging.getLogger(__name__)

_MEMO_LIMIT = 100_000


class Authorizer(Protocol):
    def authorize(
        self, principal: str, action: Action, kind: ResourceType, name: str, detail: str = ""
    ) -> bool:
        """Whether allowed; a denial is audited."""
        ...

    def allows(self, principal: str, action: Action, kind: ResourceType, name: str) -> bool:
        """Whether allowed, without auditing (filtering lists)."""
        ...

    def allows_some(self, principal: str, action: Action, kind: ResourceType) -> bool:
        """Whether some binding allows ``action`` on some resource of ``kind``."""
        ...


class AllowEverything:
    def authorize(
        self, principal: str, action: Action, kind: ResourceType, name: str, detail: str = ""
    ) -> bool:
        return True

    def allows(self, principal: str, action: Action, kind: ResourceType, name: str) -> bool:
        return True

    def allows_some(self, principal: str, action: Action, kind: ResourceType) -> bool:
        return True


class RoleBindingAuthorizer:
    """Role bindings from ``store``, cached; denials to ``audit``."""

    def __init__(
        self,
        store: SecurityStore,
        audit: AuditSink | None = None,
        *,
        refresh_interval_s: float = 1.0,
    ) -> None:
        self.store = store
        self.audit = audit or NoAudit()
        self.refresh_interval_s = refresh_interval_s
        self._lock = threading.Lock()
        self._generation = -1
        self._bindings: Mapping[str, tuple[Binding, ...]] = {}
        self._memo: dict[tuple[str, Action, ResourceType, str], bool] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- asking -------------------------------------------------------------------------------

    def authorize(
        self, principal: str, action: Action, kind: ResourceType, name: str, detail: str = ""
    ) -> bool:
        allowed = self.allows(principal, action, kind, name)
        if not allowed:
            self.audit.record(
                principal,
                f"{kind.value.lower()}.{action.value}",
                f"{kind}:{name}",
                "denied",
                detail or "no role binding allows it",
            )
        return allowed

    def allows(self, principal: str, action: Action, kind: ResourceType, name: str) -> bool:
        self._ensure_loaded()
        key = (principal, action, kind, name)  # str enums: hashed and compared as their values
        memo = self._memo
        answer = memo.get(key)
        if answer is None:
            answer = any(
                binding.resource.matches(kind, name) and role_allows(binding.role, kind, action)
                for binding in self._bindings.get(principal, ())
            )
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = answer
        return answer

    def allows_some(self, principal: str, action: Action, kind: ResourceType) -> bool:
        self._ensure_loaded()
        key = (principal, action, kind, "\0some")  # no resource name holds NUL
        answer = self._memo.get(key)
        if answer is None:
            answer = any(
                (binding.resource.kind in (kind, ResourceType.CLUSTER))
                and role_allows(binding.role, kind, action)
                for binding in self._bindings.get(principal, ())
            )
            self._memo[key] = answer
        return answer

    # -- keeping the snapshot current ---------------------------------------------------------

    @property
    def generation(self) -> int:
        """The store generation of the loaded snapshot (-1 before the first load)."""
        return self._generation

    def refresh(self) -> None:
        """Reload the bindings if the store's generation moved (or on first use)."""
        generation = self.store.generation()
        if generation == self._generation:
            return
        by_principal: dict[str, list[Binding]] = {}
        for binding in self.store.bindings():
            by_principal.setdefault(binding.principal, []).append(binding)
        with self._lock:
            self._bindings = {p: tuple(b) for p, b in by_principal.items()}
            self._memo = {}
            self._generation = generation

    def _ensure_loaded(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="charter-authorizer", daemon=True
                    )
                    self._thread.start()
        if self._generation < 0:
            self.refresh()

    def _run(self) -> None:
        while not self._stop.wait(self.refresh_interval_s):
            try:
                self.refresh()
            except Exception:  # keep the last snapshot; try again next interval
                log.warning("could not reload role bindings", exc_info=True)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
