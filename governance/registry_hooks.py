"""The policy engine at the registry's doors (``registry.hooks.RegistryHooks``).

Registered as one hook named ``governance``: a denial reaches the client as
HTTP 422 (error code 42205) ``Denied by governance: policy <name>: <reason>``,
naming the offending field, and is written to the audit log with outcome
``denied``. A registration the registry itself refused (incompatible 409,
invalid schema, wrong mode) is audited with outcome ``rejected`` and the error
code. A rule set with a data-contract rule Charter runs (an enabled
``CONDITION`` domain rule of type ``CEL`` or ``CEL_FIELD``: WRITE ones at the
gate, READ ones in the SDK) whose expression does not compile is refused with 42210 (Confluent's invalid rule
set) naming the rule and the compile error, at registration and in a config's
``defaultRuleSet``/``overrideRuleSet``: otherwise every record would fail it.
Successful changes are audited from the registry outbox instead
(``governance.audit.registry_event_entry``), once they have committed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from governance.audit import AuditSink
from governance.cel import CelError
from governance.engine import PolicyEngine
from governance.rules import check_rule_expressions
from registry.errors import InvalidRuleSet
from registry.formats.base import ParsedSchema
from registry.hooks import Actor, Decision, LevelChange

__all__ = ["GovernanceRegistryHooks"]

_CONFIG_RULE_SETS = ("defaultRuleSet", "overrideRuleSet")


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
        _check_compiles(rule_set, "ruleSet")  # the registry audits it as a rejection
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
        resource = f"subject:{subject}" if subject is not None else "config:global"
        try:
            for name in _CONFIG_RULE_SETS:
                _check_compiles(options.get(name), name)
        except InvalidRuleSet as error:
            if self.audit is not None:
                self.audit.record(
                    actor.principal,
                    "config.change",
                    resource,
                    "rejected",
                    f"error {error.error_code}: {error.message}",
                )
            raise
        decision = self.engine.check_config_change(
            actor.principal, subject, compatibility, options, levels
        )
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


def _check_compiles(rule_set: Mapping[str, Any] | None, where: str) -> None:
    """``InvalidRuleSet`` (42210) naming the rule whose CEL expression does not compile."""
    try:
        check_rule_expressions(rule_set)
    except CelError as error:
        raise InvalidRuleSet(
            f"Invalid {where}: {error} (Charter runs CEL condition rules, so they must compile)"
        ) from None
