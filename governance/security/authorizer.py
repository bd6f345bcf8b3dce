"""The one authorizer: may principal P do action A on resource T:name? Both doors ask it.

It answers from an in-memory snapshot of the role bindings (``ROLE_ACTIONS``
decides what a role allows) and of the Kafka ACL entries no role expresses
(``acl_entries``), so the broker can ask on its event loop. As Kafka's
StandardAuthorizer: a DENY entry that applies wins over every grant (role
bindings included); otherwise a role binding or an ALLOW entry allows. Entries
may name ``User:*`` (everyone) and a host (the client's IP address, which the
caller passes as ``host``; an unknown host matches only ``*`` entries). Topic
creation is also allowed by CREATE on the cluster, as Kafka's CreateTopics. Super
users (Kafka's ``super.users``) may do everything, whatever entry or binding
says, and are not audited as denied since they never are. A daemon
thread reloads the snapshot when the store's generation moves (another process
changed a binding; within ``refresh_interval_s``), and the security service
calls ``refresh()`` right after its own changes. Decisions are memoised per
snapshot. A denial is recorded in the audit sink (outcome ``denied``) by
``authorize``; ``allows`` only asks.

``read_patterns`` answers the other way round, for lists too long to ask about
name by name (the catalog's search): which names of each resource type a
principal may read, as the literal names and prefixes of its bindings.

``AllowEverything`` is the authorizer when auth is off.
"""

from __future__ import annotations

import dataclasses
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

__all__ = [
    "EVERYTHING",
    "AllowEverything",
    "Authorizer",
    "ReadPatterns",
    "RoleBindingAuthorizer",
    "patterns_of",
]

log = logging.getLogger(__name__)

_MEMO_LIMIT = 100_000


_LISTED_KINDS = (
    ResourceType.TOPIC,
    ResourceType.SUBJECT,
    ResourceType.GROUP,
    ResourceType.TRANSACTIONAL_ID,
)


@dataclasses.dataclass(frozen=True, slots=True)
class ReadPatterns:
    """The names of one resource type a principal may act on, as its bindings' patterns.

    ``everything``: a binding covers every name (a ``Cluster`` binding, a bare ``*`` prefix);
    else a name is covered when it is one of ``literals`` or starts with one of ``prefixes``.
    ``exact`` False says the patterns are only an upper bound: some entry may narrow them (a
    DENY entry, which ``allows`` honours), so a caller must still ask ``allows`` about each
    name it keeps. Every answer is exact until such entries exist.
    """

    everything: bool = False
    literals: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()
    exact: bool = True

    def covers(self, name: str) -> bool:
        return self.everything or name in self.literals or name.startswith(self.prefixes)


EVERYTHING = ReadPatterns(everything=True)
_EVERYTHING_UNCHECKED = ReadPatterns(everything=True, exact=False)
"""An upper bound only: each name must still be asked of ``allows``."""


def patterns_of(bindings: tuple[Binding, ...], action: Action) -> dict[ResourceType, ReadPatterns]:
    """What ``bindings`` allow ``action`` on, per resource type (the logic of ``allows``,
    turned into patterns: a binding counts when its role allows ``action`` on the type)."""
    answer: dict[ResourceType, ReadPatterns] = {}
    for kind in _LISTED_KINDS:
        everything = False
        literals: set[str] = set()
        prefixes: set[str] = set()
        for binding in bindings:
            pattern = binding.resource
            if not role_allows(binding.role, kind, action):
                continue
            if pattern.kind is ResourceType.CLUSTER or (
                pattern.kind is kind and pattern.prefix and not pattern.name
            ):
                everything = True
            elif pattern.kind is kind and pattern.prefix:
                prefixes.add(pattern.name)
            elif pattern.kind is kind:
                literals.add(pattern.name)
        if everything:
            answer[kind] = EVERYTHING
        else:
            kept = tuple(sorted(p for p in prefixes if not p.startswith(tuple(prefixes - {p}))))
            answer[kind] = ReadPatterns(
                literals=frozenset(n for n in literals if not n.startswith(kept)),
                prefixes=kept,
            )
    return answer


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

    def read_patterns(
        self, principal: str, action: Action = Action.READ
    ) -> Mapping[ResourceType, ReadPatterns]:
        """Per resource type (Topic, Subject, Group, TransactionalId), the names on which
        ``principal`` may do ``action``, as patterns (``ReadPatterns``); nothing is audited."""
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

    def read_patterns(
        self, principal: str, action: Action = Action.READ
    ) -> Mapping[ResourceType, ReadPatterns]:
        return dict.fromkeys(_LISTED_KINDS, EVERYTHING)


class RoleBindingAuthorizer:
    """Role bindings and ACL entries from ``store``, cached; denials to ``audit``."""

    def __init__(
        self,
        store: SecurityStore,
        audit: AuditSink | None = None,
        *,
        refresh_interval_s: float = 1.0,
        super_users: frozenset[str] = frozenset(),
    ) -> None:
        self.store = store
        self.audit = audit or NoAudit()
        self.super_users = super_users
        self.refresh_interval_s = refresh_interval_s
        self._lock = threading.Lock()
        self._generation = -1
        self._bindings: Mapping[str, tuple[Binding, ...]] = {}
        # ACL entries by principal (``User:*`` under its own key); whether any names a host
        self._entries: Mapping[str, tuple[AclEntry, ...]] = {}
        self._host_specific = False
        self._memo: dict[tuple[str, Action, ResourceType, str, str | None], bool] = {}
        self._patterns: dict[tuple[str, Action], tuple[int, dict[ResourceType, ReadPatterns]]]
        self._patterns = {}
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
        if principal in self.super_users:
            return True
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
        if principal in self.super_users:
            return True
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

    def read_patterns(
        self, principal: str, action: Action = Action.READ
    ) -> Mapping[ResourceType, ReadPatterns]:
        """Memoised per snapshot generation. From role bindings alone the answer is exact; when
        ACL entries apply to ``principal`` (its own or ``User:*``: a DENY may take names away,
        an operation-level ALLOW may add some) every type answers "everything, not exact", so
        callers ask ``allows`` about each name they keep."""
        self._ensure_loaded()
        generation = self._generation
        key = (principal, action)
        remembered = self._patterns.get(key)
        if remembered is not None and remembered[0] == generation:
            return remembered[1]
        if principal in self.super_users:
            answer = dict.fromkeys(_LISTED_KINDS, EVERYTHING)
        elif self._applicable(principal):
            answer = dict.fromkeys(_LISTED_KINDS, _EVERYTHING_UNCHECKED)
        else:
            answer = patterns_of(self._bindings.get(principal, ()), action)
        if len(self._patterns) >= _MEMO_LIMIT:
            self._patterns.clear()
        self._patterns[key] = (generation, answer)
        return answer

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
