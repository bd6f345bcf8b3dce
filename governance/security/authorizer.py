"""The one authorizer: may principal P do action A on resource T:name? Both doors ask it.

It answers from an in-memory snapshot of the role bindings (``ROLE_ACTIONS``
decides what a role allows) and of the Kafka ACL entries no role expresses
(``acl_entries``), so the broker can ask on its event loop. As Kafka's
StandardAuthorizer: a DENY entry that applies wins over every grant (role
bindings included); otherwise a role binding or an ALLOW entry allows. Entries
may name ``User:*`` (everyone) and a host (the client's IP address, which the
caller passes as ``host``; an unknown host matches only ``*`` entries). Topic
creation is also allowed by CREATE on the cluster, as Kafka's CreateTopics. A daemon
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

from governance.security.acl_entries import (
    WILDCARD_PRINCIPAL,
    AclEntry,
    AclPermission,
    PatternType,
)
from governance.security.audit import AuditSink, NoAudit
from governance.security.model import CLUSTER_NAME, Action, ResourceType, role_allows
from governance.security.store import Binding, SecurityStore

__all__ = ["AllowEverything", "Authorizer", "RoleBindingAuthorizer"]

log = logging.getLogger(__name__)

_MEMO_LIMIT = 100_000


class Authorizer(Protocol):
    def authorize(
        self,
        principal: str,
        action: Action,
        kind: ResourceType,
        name: str,
        detail: str = "",
        *,
        host: str | None = None,
    ) -> bool:
        """Whether allowed (``host``: the client's IP address, when known); a denial is
        audited."""
        ...

    def allows(
        self,
        principal: str,
        action: Action,
        kind: ResourceType,
        name: str,
        *,
        host: str | None = None,
    ) -> bool:
        """Whether allowed, without auditing (filtering lists)."""
        ...

    def allows_some(
        self, principal: str, action: Action, kind: ResourceType, *, host: str | None = None
    ) -> bool:
        """Whether ``action`` is allowed on some resource of ``kind`` (Kafka's
        authorizeByResourceType: some grant not wholly covered by a DENY)."""
        ...


class AllowEverything:
    def authorize(
        self,
        principal: str,
        action: Action,
        kind: ResourceType,
        name: str,
        detail: str = "",
        *,
        host: str | None = None,
    ) -> bool:
        return True

    def allows(
        self,
        principal: str,
        action: Action,
        kind: ResourceType,
        name: str,
        *,
        host: str | None = None,
    ) -> bool:
        return True

    def allows_some(
        self, principal: str, action: Action, kind: ResourceType, *, host: str | None = None
    ) -> bool:
        return True


class RoleBindingAuthorizer:
    """Role bindings and ACL entries from ``store``, cached; denials to ``audit``."""

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
        # ACL entries by principal (``User:*`` under its own key); whether any names a host
        self._entries: Mapping[str, tuple[AclEntry, ...]] = {}
        self._host_specific = False
        self._memo: dict[tuple[str, Action, ResourceType, str, str | None], bool] = {}
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- asking -------------------------------------------------------------------------------

    def authorize(
        self,
        principal: str,
        action: Action,
        kind: ResourceType,
        name: str,
        detail: str = "",
        *,
        host: str | None = None,
    ) -> bool:
        allowed = self.allows(principal, action, kind, name, host=host)
        if not allowed:
            self.audit.record(
                principal,
                f"{kind.value.lower()}.{action.value}",
                f"{kind}:{name}",
                "denied",
                detail or "no role binding or ACL allows it",
            )
        return allowed

    def allows(
        self,
        principal: str,
        action: Action,
        kind: ResourceType,
        name: str,
        *,
        host: str | None = None,
    ) -> bool:
        self._ensure_loaded()
        # the memo before the flag: ``refresh`` sets the flag before the new memo, so a memo is
        # never keyed with an older flag than its own snapshot's
        memo = self._memo
        # str enums: hashed and compared as their values; the host only when some entry names one
        key = (principal, action, kind, name, host if self._host_specific else None)
        answer = memo.get(key)
        if answer is None:
            answer = self._decide(principal, action, kind, name, host)
            if action is Action.CREATE and kind is ResourceType.TOPIC and not answer:
                # Kafka's CreateTopics (and Metadata's auto-creation): CREATE on the cluster
                # allows any topic, else CREATE on the topic
                answer = self._decide(principal, action, ResourceType.CLUSTER, CLUSTER_NAME, host)
            if len(memo) >= _MEMO_LIMIT:
                memo.clear()
            memo[key] = answer
        return answer

    def _decide(
        self, principal: str, action: Action, kind: ResourceType, name: str, host: str | None
    ) -> bool:
        entries = self._applicable(principal)
        if entries and any(
            entry.permission is AclPermission.DENY
            and entry.denies(action)
            and entry.applies(principal, kind, name, host)
            for entry in entries
        ):
            return False
        if any(
            binding.resource.matches(kind, name) and role_allows(binding.role, kind, action)
            for binding in self._bindings.get(principal, ())
        ):
            return True
        return any(
            entry.permission is AclPermission.ALLOW
            and entry.grants(action)
            and entry.applies(principal, kind, name, host)
            for entry in entries
        )

    def _applicable(self, principal: str) -> tuple[AclEntry, ...]:
        return self._entries.get(principal, ()) + self._entries.get(WILDCARD_PRINCIPAL, ())

    def allows_some(
        self, principal: str, action: Action, kind: ResourceType, *, host: str | None = None
    ) -> bool:
        self._ensure_loaded()
        # no resource name holds NUL
        memo = self._memo  # before the flag, as in ``allows``
        key = (principal, action, kind, "\0some", host if self._host_specific else None)
        answer = memo.get(key)
        if answer is None:
            answer = self._some(principal, action, kind, host)
            memo[key] = answer
        return answer

    def _some(self, principal: str, action: Action, kind: ResourceType, host: str | None) -> bool:
        """Kafka's authorizeByResourceType: some grant whose names no DENY covers wholly."""
        entries = [
            entry
            for entry in self._applicable(principal)
            if entry.kind is kind and (entry.host == "*" or entry.host == host)
        ]
        denied = [e for e in entries if e.permission is AclPermission.DENY and e.denies(action)]
        granted: list[tuple[str, bool]] = [  # (name, prefix); ("", True) is every name
            (binding.resource.name, binding.resource.prefix)
            if binding.resource.kind is kind
            else ("", True)
            for binding in self._bindings.get(principal, ())
            if binding.resource.kind in (kind, ResourceType.CLUSTER)
            and role_allows(binding.role, kind, action)
        ]
        granted += [
            _names(entry)
            for entry in entries
            if entry.permission is AclPermission.ALLOW and entry.grants(action)
        ]
        return any(
            not any(_covers(deny, name, prefix) for deny in denied) for name, prefix in granted
        )

    # -- keeping the snapshot current ---------------------------------------------------------

    @property
    def generation(self) -> int:
        """The store generation of the loaded snapshot (-1 before the first load)."""
        return self._generation

    def refresh(self) -> None:
        """Reload bindings and entries if the store's generation moved (or on first use)."""
        generation = self.store.generation()
        if generation == self._generation:
            return
        by_principal: dict[str, list[Binding]] = {}
        for binding in self.store.bindings():
            by_principal.setdefault(binding.principal, []).append(binding)
        entries: dict[str, list[AclEntry]] = {}
        for entry in self.store.acl_entries():
            entries.setdefault(entry.principal, []).append(entry)
        with self._lock:
            self._bindings = {p: tuple(b) for p, b in by_principal.items()}
            self._entries = {p: tuple(e) for p, e in entries.items()}
            self._host_specific = any(e.host_specific for es in entries.values() for e in es)
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


def _names(entry: AclEntry) -> tuple[str, bool]:
    """An entry's resource names as ``(name, prefix)``; ``("", True)`` is every name."""
    if entry.kind is ResourceType.CLUSTER or (
        entry.pattern_type is PatternType.LITERAL and entry.name == "*"
    ):
        return "", True
    return entry.name, entry.pattern_type is PatternType.PREFIXED


def _covers(deny: AclEntry, name: str, prefix: bool) -> bool:
    """Whether a DENY entry denies every name of the grant ``(name, prefix)``."""
    deny_name, deny_prefix = _names(deny)
    if deny_prefix:
        return name.startswith(deny_name)
    return not prefix and name == deny_name
