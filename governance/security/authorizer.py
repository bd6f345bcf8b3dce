"""The one authorizer: may principal P do action A on resource T:name? Both doors ask it.

It answers from an in-memory snapshot of the role bindings (``ROLE_ACTIONS``
decides what a role allows), so the broker can ask on its event loop. A daemon
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

from governance.security.audit import AuditSink, NoAudit
from governance.security.model import Action, ResourceType, role_allows
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

    def read_patterns(
        self, principal: str, action: Action = Action.READ
    ) -> Mapping[ResourceType, ReadPatterns]:
        """Per resource type (Topic, Subject, Group, TransactionalId), the names on which
        ``principal`` may do ``action``, as patterns (``ReadPatterns``); nothing is audited."""
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

    def read_patterns(
        self, principal: str, action: Action = Action.READ
    ) -> Mapping[ResourceType, ReadPatterns]:
        return dict.fromkeys(_LISTED_KINDS, EVERYTHING)


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
        self._patterns: dict[tuple[str, Action], tuple[int, dict[ResourceType, ReadPatterns]]]
        self._patterns = {}
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

    def read_patterns(
        self, principal: str, action: Action = Action.READ
    ) -> Mapping[ResourceType, ReadPatterns]:
        """Memoised per snapshot generation. Bindings only grant, so every answer is exact
        today; entries that take away (DENY) are to mark the types they touch ``exact=False``
        so that callers post-filter with ``allows``."""
        self._ensure_loaded()
        generation = self._generation
        key = (principal, action)
        remembered = self._patterns.get(key)
        if remembered is not None and remembered[0] == generation:
            return remembered[1]
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
