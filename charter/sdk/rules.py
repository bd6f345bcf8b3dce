"""Client-side data-contract rules: the WRITE-mode rules of a schema version, run before sending.

One small interface, ``compile_write_rules(...) -> ContractRules``, whose
``check(message)`` answers the violations of one decoded value. It is the
integration point with the governance engine: when ``governance.rules``
(the broker gate's rule code) is importable, its ``compile_rule_set`` does the
work, so the SDK and the gate judge a record the same way; until then an
interim evaluator here runs ``CEL`` condition rules (``message`` bound to the
value) with the same CEL runtime.

A rule the client cannot run — a TRANSFORM such as ``ENCRYPT`` for PII fields,
or a rule type it does not know — fails closed with the rule's name (field
encryption is planned): sending the value untransformed would break the contract.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any, Protocol

__all__ = ["ContractRules", "RuleViolation", "compile_write_rules"]

_WRITE_MODES = frozenset({"WRITE", "WRITEREAD"})


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
) -> ContractRules:
    """The write-time rules of a schema version, compiled once (``ValueError`` if one cannot compile)."""
    domain_rules = [
        rule
        for rule in (rule_set or {}).get("domainRules") or ()
        if not rule.get("disabled") and str(rule.get("mode", "WRITEREAD")).upper() in _WRITE_MODES
    ]
    if not domain_rules:
        return NO_RULES
    unsupported = [rule for rule in domain_rules if not _runnable(rule)]
    conditions = [rule for rule in domain_rules if _runnable(rule)]
    return _CompiledRules(
        _engine_rules(schema_type, document, {"domainRules": conditions}, metadata),
        tuple(_unsupported_violation(rule) for rule in unsupported),
    )


def _runnable(rule: Mapping[str, Any]) -> bool:
    kind = str(rule.get("kind", "TRANSFORM")).upper()
    rule_type = str(rule.get("type", "")).upper()
    return kind == "CONDITION" and rule_type in _runnable_types()


def _unsupported_violation(rule: Mapping[str, Any]) -> RuleViolation:
    kind = str(rule.get("kind", "TRANSFORM")).upper()
    return RuleViolation(
        str(rule.get("name") or "unnamed"),
        f"{kind} rule of type {rule.get('type')!r} cannot run client-side yet (planned)",
    )


@functools.cache
def _runnable_types() -> frozenset[str]:
    try:
        import governance.rules  # noqa: F401 - the gate's engine, when present
    except ImportError:
        return frozenset({"CEL"})
    return frozenset({"CEL", "CEL_FIELD"})


def _engine_rules(
    schema_type: str, document: Any, rule_set: Mapping[str, Any], metadata: Any
) -> ContractRules:
    try:
        from governance.rules import compile_rule_set  # type: ignore[import-not-found]
    except ImportError:
        return _InterimCelRules(rule_set["domainRules"])
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


class _InterimCelRules:
    """CEL condition rules (``expr`` over ``message``; ``guard ; condition`` as the gate reads it)."""

    def __init__(self, rules: list[Mapping[str, Any]]) -> None:
        from cel_expr_python import cel

        self._cel = cel
        env = cel.NewEnv(variables={"message": cel.Type.DYN})
        self._rules = []
        for rule in rules:
            expression = str(rule.get("expr") or "true")
            guard, separator, condition = expression.partition(";")
            if not separator:
                guard, condition = "", expression
            try:
                programs = (
                    env.compile(guard.strip()) if guard.strip() else None,
                    env.compile(condition.strip()),
                )
            except Exception as error:
                raise ValueError(f"rule {rule.get('name')!r}: {error}") from None
            action = str(rule.get("onFailure") or "ERROR").split(",")[0].strip().upper()
            dlq_topic = (rule.get("params") or {}).get("dlq.topic")
            if action == "DLQ" and not dlq_topic:
                action = "ERROR"
            self._rules.append(
                (str(rule.get("name") or "unnamed"), condition.strip(), programs, action, dlq_topic)
            )

    def _value(self, program: Any, message: Any) -> tuple[bool, Any]:
        try:
            result = program.eval(data={"message": message})
        except Exception as error:
            return False, f"{type(error).__name__}: {error}"
        if result.type() == self._cel.Type.ERROR:
            return False, str(result.value())
        return True, result.value()

    def check(self, message: Any) -> list[RuleViolation]:
        violations = []
        for name, source, (guard, condition), action, dlq_topic in self._rules:
            if guard is not None:
                ok, value = self._value(guard, message)
                if ok and value is not True:
                    continue
            ok, value = self._value(condition, message)
            if ok and value is True:
                continue
            reason = f"expression {source!r} " + (f"is {value!r}" if ok else f"failed: {value}")
            violations.append(RuleViolation(name, reason, action, dlq_topic))
        return violations
