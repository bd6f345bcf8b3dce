"""The policy engine at the registry's doors (``registry.hooks.RegistryHooks``).

Registered as one hook named ``governance``: a denial reaches the client as
HTTP 422 (error code 42205) ``Denied by governance: policy <name>: <reason>``,
naming the offending field, and is written to the audit log with outcome
``denied``. A registration the registry itself refused (incompatible 409,
invalid schema, wrong mode) is audited with outcome ``rejected`` and the error
code. Successful changes are audited from the registry outbox instead
(``governance.audit.registry_event_entry``), once they have committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.audit import AuditSink
from governance.engine import PolicyEngine
from registry.formats.base import ParsedSchema
from registry.hooks import Actor, Decision, LevelChange

__all__ = ["GovernanceRegistryHooks"]


class GovernanceRegistryHooks:
    name = "governance"

    def __init__(self, engine: PolicyEngine, audit: AuditSink | None = None) -> None:
        self.engine = engine
        self.audit = audit

    def before_register(
        self,
        actor: Actor,
        subject: str,
        parsed_schema: ParsedSchema,
        metadata: Mapping[str, Any] | None,
        rule_set: Mapping[str, Any] | None,
    ) -> Decision:
        decision = self.engine.check_registration(
            actor.principal,
            subject,
            parsed_schema.schema_type,
            parsed_schema.canonical_string,
            metadata,
            rule_set,
            parsed_schema,
        )
        self._audit_denial(decision, actor, "schema.register", f"subject:{subject}")
        return decision

    def before_config_change(
        self,
        actor: Actor,
        subject: str | None,
        compatibility: str | None,
        options: Mapping[str, Any],
        levels: LevelChange,
    ) -> Decision:
        decision = self.engine.check_config_change(
            actor.principal, subject, compatibility, options, levels
        )
        resource = f"subject:{subject}" if subject is not None else "config:global"
        self._audit_denial(decision, actor, "config.change", resource)
        return decision

    def after_register_rejected(
        self, actor: Actor, subject: str, error_code: int, message: str
    ) -> None:
        if self.audit is not None:
            self.audit.record(
                actor.principal,
                "schema.register",
                f"subject:{subject}",
                "rejected",
                f"error {error_code}: {message}",
            )

    def _audit_denial(self, decision: Decision, actor: Actor, action: str, resource: str) -> None:
        if not decision.allowed and self.audit is not None:
            self.audit.record(actor.principal, action, resource, "denied", decision.reason)
