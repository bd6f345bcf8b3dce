"""The policy engine: every enabled policy, asked at every door, with who is asking.

One engine per process serves the registry hooks (``governance.registry_hooks``),
the broker hooks (``governance.broker_policy``) and the produce gate
(``governance.schema_gate``). It holds the policies (built-ins and entry
points) and their settings, loaded from the governance store and reloaded on
every ``policy_changed`` event of the governance outbox (``apply``), so a
change made through any HTTP worker reaches the broker within the follower's
latency. Checks run from memory: safe on the broker's event loop.

A violation denies with ``policy <name>: <reason>``; a policy that raises
denies too (fail closed) and is logged, never a 500.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from governance.policies import (
    ConfigChangeContext,
    ConsumeContext,
    HookPoint,
    InvalidParams,
    Policy,
    RecordContext,
    RegistrationContext,
    TopicContext,
    Violation,
    load_policies,
)
from governance.store import GovernanceStore
from registry.hooks import ALLOW, Decision, LevelChange
from registry.outbox import Event

__all__ = ["PolicyEngine", "PolicyState", "UnknownPolicy"]

log = logging.getLogger(__name__)


class UnknownPolicy(KeyError):
    """No policy of that name is installed."""


@dataclasses.dataclass(frozen=True)
class PolicyState:
    """A policy with its current settings (``params`` parsed, defaults filled in)."""

    policy: Policy
    enabled: bool
    params: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.policy.name,
            "description": self.policy.description,
            "enabled": self.enabled,
            "params": {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()},
            "paramTypes": [param.describe() for param in self.policy.params],
            "hooks": sorted(hook.value for hook in self.policy.hooks),
        }


class PolicyEngine:
    """Policies and their settings, checked from memory; ``refresh`` reloads the settings."""

    def __init__(
        self, store: GovernanceStore | None = None, policies: Mapping[str, Policy] | None = None
    ) -> None:
        self.store = store
        self.policies = dict(policies if policies is not None else load_policies())
        self._lock = threading.Lock()
        self._states: dict[str, PolicyState] = {}
        self._active: dict[HookPoint, tuple[PolicyState, ...]] = {}
        self.refresh()

    # -- settings ----------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload every policy's settings from the store (defaults when it has none)."""
        stored = self.store.policies() if self.store is not None else {}
        self._install({name: (row.enabled, row.params) for name, row in stored.items()})

    def apply(self, event: Event) -> None:
        """An outbox subscriber: a ``policy_changed`` event reloads the settings."""
        if event.name == "policy_changed":
            self.refresh()

    def set_local(self, name: str, enabled: bool, params: Mapping[str, Any] | None = None) -> None:
        """Change one policy in this engine only (tests, the SDK); not persisted."""
        state = self.state(name)
        parsed = state.policy.parse_params(params) if params is not None else state.params
        with self._lock:
            settings = {n: (s.enabled, dict(s.params)) for n, s in self._states.items()}
        settings[name] = (enabled, dict(parsed))
        self._install(settings)

    def _install(self, settings: Mapping[str, tuple[bool, Mapping[str, Any]]]) -> None:
        states = {}
        for name, policy in self.policies.items():
            enabled, raw = settings.get(name, (False, {}))
            try:
                params = policy.parse_params(raw)
            except InvalidParams as error:  # stored by an older version: keep it off, say why
                log.error("policy %s has invalid stored params (%s); disabled", name, error)
                enabled, params = False, policy.default_params()
            states[name] = PolicyState(policy, enabled, params)
        active = {
            hook: tuple(s for s in states.values() if s.enabled and hook in s.policy.hooks)
            for hook in HookPoint
        }
        with self._lock:
            self._states, self._active = states, active

    def states(self) -> list[PolicyState]:
        with self._lock:
            return list(self._states.values())

    def state(self, name: str) -> PolicyState:
        with self._lock:
            state = self._states.get(name)
        if state is None:
            raise UnknownPolicy(name)
        return state

    def active(self, hook: HookPoint) -> bool:
        """Whether any enabled policy checks ``hook``."""
        return bool(self._active.get(hook))

    # -- checks ------------------------------------------------------------------------------

    def _run(self, hook: HookPoint, call: Callable[[PolicyState], Violation | None]) -> Decision:
        for state in self._active.get(hook, ()):
            try:
                violation = call(state)
            except Exception as exc:
                log.exception("policy %s failed at %s; denying", state.policy.name, hook.value)
                return Decision.deny(
                    f"policy {state.policy.name} failed ({type(exc).__name__}: {exc}), so the "
                    "change is refused"
                )
            if violation is not None:
                if not isinstance(violation, Violation):
                    return Decision.deny(
                        f"policy {state.policy.name} answered {violation!r}, not a Violation"
                    )
                return Decision.deny(f"policy {state.policy.name}: {violation.message}")
        return ALLOW

    def check_registration(
        self,
        principal: str,
        subject: str,
        schema_type: str,
        schema_text: str,
        metadata: Mapping[str, Any] | None,
        rule_set: Mapping[str, Any] | None,
        parsed: Any = None,
    ) -> Decision:
        if not self.active(HookPoint.REGISTER):
            return ALLOW
        try:
            schema = json.loads(schema_text)
        except ValueError:
            schema = schema_text  # PROTOBUF: fields are read from ``parsed``
        context = RegistrationContext(
            principal, subject, schema_type, schema, metadata or {}, rule_set or {}, parsed
        )
        return self._run(HookPoint.REGISTER, lambda s: s.policy.check_register(context, s.params))

    def check_config_change(
        self,
        principal: str,
        subject: str | None,
        compatibility: str | None,
        options: Mapping[str, Any],
        levels: LevelChange,
    ) -> Decision:
        context = ConfigChangeContext(
            principal, subject, compatibility, options, levels.before, levels.after
        )
        return self._run(
            HookPoint.CONFIG_CHANGE, lambda s: s.policy.check_config_change(context, s.params)
        )

    def check_topic(
        self,
        principal: str,
        topic: str,
        configs: Mapping[str, str],
        *,
        creating: bool,
        defaults: Mapping[str, str] | None = None,
    ) -> Decision:
        """``defaults``: the broker's value of each topic config a topic does not set."""
        hook = HookPoint.TOPIC_CREATE if creating else HookPoint.TOPIC_CONFIG
        context = TopicContext(principal, topic, configs, creating, defaults or {})
        return self._run(hook, lambda s: s.policy.check_topic(context, s.params))

    def check_record(self, context: RecordContext) -> Decision:
        return self._run(HookPoint.PRODUCE, lambda s: s.policy.check_record(context, s.params))

    def check_consume(
        self,
        principal: str,
        topic: str,
        client_id: str | None = None,
        fields: Callable[[str], Mapping[str, tuple[str, ...]]] | None = None,
    ) -> Decision:
        """May ``principal`` read ``topic``? ``fields`` answers a topic's tagged schema fields."""
        if not self.active(HookPoint.CONSUME):
            return ALLOW
        context = ConsumeContext(principal, topic, client_id, fields)
        return self._run(HookPoint.CONSUME, lambda s: s.policy.check_consume(context, s.params))
