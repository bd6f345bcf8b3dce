"""The policy engine at the broker's doors (``governance.broker_hooks.BrokerHooks``).

Topic creation and config changes are checked by the policies of those hook
points (``topic-naming``, ``retention-limits``, third-party ones), given the
topic's overrides and the broker's defaults for the rest (``topic_defaults``:
a topic without ``retention.ms`` keeps data for ``log.retention.ms``); Fetch by
those of ``consume`` (``consume-access``), which may ask for the tagged fields
of the topic's schemas (``topic_fields``, cached by schema id). Checks run from
the engine's memory, on the event loop; denials are queued to the audit log
(``AuditBuffer``: no I/O on the loop).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from governance.audit import AuditSink
from governance.engine import PolicyEngine
from registry.hooks import ALLOW, Decision

__all__ = ["GovernanceBrokerHooks"]


class GovernanceBrokerHooks:
    def __init__(
        self,
        engine: PolicyEngine,
        audit: AuditSink | None = None,
        topic_fields: Callable[[str], Mapping[str, tuple[str, ...]]] | None = None,
        topic_defaults: Mapping[str, str] | None = None,
    ) -> None:
        self.engine = engine
        self.audit = audit
        self.topic_fields = topic_fields
        self.topic_defaults = dict(topic_defaults or {})
        """The broker's value of every topic config a topic does not set (its settings)."""

    def before_create_topic(
        self, principal: str, topic: str, partitions: int, configs: Mapping[str, str]
    ) -> Decision:
        decision = self.engine.check_topic(
            principal, topic, configs, creating=True, defaults=self.topic_defaults
        )
        return self._audited(decision, principal, "topic.create", topic)

    def before_alter_config(
        self, principal: str, topic: str, configs: Mapping[str, str]
    ) -> Decision:
        decision = self.engine.check_topic(
            principal, topic, configs, creating=False, defaults=self.topic_defaults
        )
        return self._audited(decision, principal, "topic.config", topic)

    def before_produce(self, principal: str, topic: str, client_id: str | None) -> Decision:
        return ALLOW  # records are checked one by one in the gate (``schema_gate``)

    def before_fetch(self, principal: str, topic: str, client_id: str | None) -> Decision:
        decision = self.engine.check_consume(principal, topic, client_id, self.topic_fields)
        return self._audited(decision, principal, "topic.consume", topic)

    def _audited(self, decision: Decision, principal: str, action: str, topic: str) -> Decision:
        if not decision.allowed and self.audit is not None:
            self.audit.record(principal, action, f"topic:{topic}", "denied", decision.reason)
        return decision
