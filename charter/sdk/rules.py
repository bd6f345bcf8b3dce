"""Client-side data-contract rules: WRITE-mode rules before sending, READ-mode rules on consume.

One small interface, ``compile_write_rules(...) -> ContractRules``, whose
``check(message)`` answers the violations of one decoded value. The work is
done by the governance engine's rule code (``governance.rules``, what the
broker's gate runs), so the SDK and the gate judge a record the same way:
``CEL`` and ``CEL_FIELD`` condition rules.

A rule the client cannot run — a TRANSFORM it does not know, or ``ENCRYPT``
where the caller does not run encryption (``charter.sdk.encryption``) — fails
closed with the rule's name: sending the value untransformed would break the
contract.

``compile_read_rules`` does the same for the ``READ`` and ``WRITEREAD`` rules a
consumer runs on a decoded value. The governance engine compiles write-time
rules, so each read rule is handed to it as a write rule carrying its read
action (for ``WRITEREAD``, the second of ``onFailure: "ERROR,NONE"``, as
Confluent reads it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Collection, Mapping
from typing import Any, Protocol

from charter.sdk.encryption import is_encrypt_rule
from governance.rules import compile_rule_set

__all__ = [
    "READ_MODES",
    "WRITE_MODES",
    "ContractRules",
    "RuleViolation",
    "compile_read_rules",
    "compile_write_rules",
]

WRITE_MODES = frozenset({"WRITE", "WRITEREAD"})
READ_MODES = frozenset({"READ", "WRITEREAD"})


@dataclasses.dataclass(frozen=True)
class RuleViolation:
    """``rule`` failed for a value; ``action`` is ERROR (refuse), DLQ (route) or NONE (note only)."""

    rule: str
    reason: str
    action: str = "ERROR"
    dlq_topic: str | None = None


class ContractRules(Protocol):
    def check(self, message: Any) -> list[RuleViolation]:
        """Every violation of ``message`` (the value as Python data), in rule order."""
        ...


@dataclasses.dataclass(frozen=True)
class _NoRules:
    def check(self, message: Any) -> list[RuleViolation]:
        return []


NO_RULES: ContractRules = _NoRules()


def compile_write_rules(
    schema_type: str,
    document: Any,
    rule_set: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    *,
    encryption_handled: bool = False,
) -> ContractRules:
    """The write-time rules of a schema version, compiled once (``ValueError`` if one cannot compile).

    ``encryption_handled``: the ENCRYPT rules run in ``charter.sdk.encryption``, so they are
    left out here instead of failing closed.
    """
    return _compile(
        schema_type, document, rule_set, metadata, WRITE_MODES, encryption_handled, _same_rule
    )


def compile_read_rules(
    schema_type: str,
    document: Any,
    rule_set: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    *,
    encryption_handled: bool = False,
) -> ContractRules:
    """The read-time rules of a schema version, compiled once (``ValueError`` if one cannot)."""
    return _compile(
        schema_type, document, rule_set, metadata, READ_MODES, encryption_handled, _as_write_rule
    )


def _same_rule(rule: Mapping[str, Any]) -> Mapping[str, Any]:
    return rule


def _compile(
    schema_type: str,
    document: Any,
    rule_set: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    modes: Collection[str],
    encryption_handled: bool,
    as_engine_rule: Callable[[Mapping[str, Any]], Mapping[str, Any]],
) -> ContractRules:
    """The enabled domain rules of ``modes``, the runnable ones (as ``as_engine_rule`` gives
    them to the governance engine) compiled, the others reported as unsupported."""
    domain_rules = [
        rule
        for rule in (rule_set or {}).get("domainRules") or ()
        if not rule.get("disabled")
        and str(rule.get("mode", "WRITEREAD")).upper() in modes
        and not (encryption_handled and is_encrypt_rule(rule))
    ]
    if not domain_rules:
        return NO_RULES
    unsupported = [rule for rule in domain_rules if not _runnable(rule)]
    conditions = [as_engine_rule(rule) for rule in domain_rules if _runnable(rule)]
    return _CompiledRules(
        _engine_rules(schema_type, document, {"domainRules": conditions}, metadata),
        tuple(_unsupported_violation(rule) for rule in unsupported),
    )


def _read_action(rule: Mapping[str, Any], key: str) -> str | None:
    """The read half of ``onFailure``/``onSuccess``: ``"A,B"`` is write A, read B."""
    text = rule.get(key)
    if text is None:
        return None
    parts = [part.strip() for part in str(text).split(",")]
    if str(rule.get("mode", "WRITEREAD")).upper() == "WRITEREAD" and len(parts) > 1:
        return parts[1]
    return parts[0]


def _as_write_rule(rule: Mapping[str, Any]) -> dict[str, Any]:
    relabelled = {**rule, "mode": "WRITE"}
    for key in ("onFailure", "onSuccess"):
        action = _read_action(rule, key)
        if action is not None:
            relabelled[key] = action
    return relabelled


def _runnable(rule: Mapping[str, Any]) -> bool:
    kind = str(rule.get("kind", "TRANSFORM")).upper()
    rule_type = str(rule.get("type", "")).upper()
    return kind == "CONDITION" and rule_type in _RUNNABLE_TYPES


def _unsupported_violation(rule: Mapping[str, Any]) -> RuleViolation:
    kind = str(rule.get("kind", "TRANSFORM")).upper()
    return RuleViolation(
        str(rule.get("name") or "unnamed"),
        f"{kind} rule of type {rule.get('type')!r} cannot run client-side yet (planned)",
    )


_RUNNABLE_TYPES = frozenset({"CEL", "CEL_FIELD"})


def _engine_rules(
    schema_type: str, document: Any, rule_set: Mapping[str, Any], metadata: Any
) -> ContractRules:
    # A rule that does not compile raises ``governance.cel.CelError``, a ``ValueError``.
    return _GovernanceRules(compile_rule_set(schema_type, document, rule_set, metadata))


@dataclasses.dataclass(frozen=True)
class _CompiledRules:
    conditions: ContractRules
    refusals: tuple[RuleViolation, ...]

    def check(self, message: Any) -> list[RuleViolation]:
        return [*self.refusals, *self.conditions.check(message)]


@dataclasses.dataclass(frozen=True)
class _GovernanceRules:
    """Adapter over ``governance.rules.RuleSet`` (``evaluate`` -> ``RuleFailure``s)."""

    rule_set: Any

    def check(self, message: Any) -> list[RuleViolation]:
        return [
            RuleViolation(
                failure.rule.name,
                failure.reason,
                str(failure.rule.on_failure),
                failure.rule.dlq_topic,
            )
            for failure in self.rule_set.evaluate(message)
        ]
