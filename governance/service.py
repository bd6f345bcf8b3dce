"""Policy settings and the audit log, as the governance API offers them (no Flask here)."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

from governance.engine import PolicyEngine, PolicyState, UnknownPolicy
from governance.errors import InvalidPolicyRequest, PolicyNotFound
from governance.policies import InvalidParams
from governance.store import AuditEntry, GovernanceStore

__all__ = ["GovernanceService", "MAX_AUDIT_LIMIT"]

MAX_AUDIT_LIMIT = 1000

AUDIT_OUTCOMES = ("success", "denied", "rejected")
"""The outcomes an audit entry has (``GET /governance/v1/audit?outcome=``)."""


class GovernanceService:
    def __init__(self, store: GovernanceStore, engine: PolicyEngine) -> None:
        self.store = store
        self.engine = engine

    def policies(self) -> list[PolicyState]:
        return self.engine.states()

    def policy(self, name: str) -> PolicyState:
        try:
            return self.engine.state(name)
        except UnknownPolicy:
            known = ", ".join(state.policy.name for state in self.engine.states())
            raise PolicyNotFound(f"Policy {name!r} not found; known policies: {known}") from None

    def update(self, name: str, body: Any, *, actor: str) -> PolicyState:
        """Enable/disable a policy and set its params (missing params take their defaults)."""
        current = self.policy(name)
        if not isinstance(body, Mapping):
            raise InvalidPolicyRequest('the body must be a JSON object {"enabled", "params"}')
        unknown = sorted(set(body) - {"enabled", "params"})
        if unknown:
            raise InvalidPolicyRequest(
                f"unknown field(s) {', '.join(unknown)}; expected enabled and params"
            )
        enabled = body.get("enabled", current.enabled)
        if not isinstance(enabled, bool):
            raise InvalidPolicyRequest(f"enabled must be true or false, got {json.dumps(enabled)}")
        raw_params = body.get("params", None)
        if raw_params is not None and not isinstance(raw_params, Mapping):
            raise InvalidPolicyRequest("params must be a JSON object")
        try:
            params = current.policy.parse_params(
                raw_params if raw_params is not None else current.params
            )
        except InvalidParams as error:
            raise InvalidPolicyRequest(f"policy {name}: {error}") from None
        shown = {k: list(v) if isinstance(v, tuple) else v for k, v in params.items()}
        detail = f"enabled={str(enabled).lower()} params={json.dumps(shown, sort_keys=True)}"
        audit = AuditEntry(
            int(time.time() * 1000), actor, "policy.change", f"policy:{name}", "success", detail
        )
        self.store.save_policy(name, enabled, shown, actor=actor, audit=audit)
        self.engine.refresh()
        return self.engine.state(name)

    def audit(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        resource: str | None = None,
        outcome: str | None = None,
    ) -> list[AuditEntry]:
        if not 1 <= limit <= MAX_AUDIT_LIMIT:
            raise InvalidPolicyRequest(f"limit must be between 1 and {MAX_AUDIT_LIMIT}")
        if outcome is not None and outcome not in AUDIT_OUTCOMES:
            raise InvalidPolicyRequest(
                f"outcome must be one of {', '.join(AUDIT_OUTCOMES)}, got {outcome!r}"
            )
        return self.store.audit(limit=limit, action=action, resource=resource, outcome=outcome)
