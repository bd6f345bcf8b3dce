"""Data-contract rules: the WRITE-mode CONDITION rules of a schema's ``ruleSet.domainRules``.

Confluent's data contracts attach rules to a schema version (``ruleSet``);
Confluent runs them in its client serializers, Charter runs them at the broker
for every client. A ``RuleSet`` is compiled once per schema id (rules, CEL
programs and the fields each CEL_FIELD rule selects by tag) and evaluated for
each decoded record:

- ``type: CEL``: ``expr`` with ``message`` bound to the decoded record;
- ``type: CEL_FIELD``: ``expr`` for every primitive value of the fields whose
  tags meet the rule's ``tags`` (every field when the rule has none), through
  nested records, arrays, maps and unions, with ``value``, ``name``,
  ``fullName``, ``typeName``, ``tags`` and ``message`` (the containing record)
  bound, as Confluent's ``CelFieldExecutor`` does (``governance.rule_fields``).
  Field tags come from ``confluent:tags`` and ``metadata.tags``
  (``{"Record.field": ["PII"]}``, ``*`` wildcards).

An expression ``guard ; condition`` passes when the guard is false. A rule
fails when its condition is not ``true`` (a runtime error fails it too).
``onFailure`` is ``ERROR`` (the default: the record is refused), ``DLQ`` (the
record goes to ``params["dlq.topic"]``) or ``NONE`` (only recorded); for a
``WRITEREAD`` rule the first of ``"NONE,ERROR"`` applies. Disabled rules, other
kinds (TRANSFORM) and modes (READ, UPGRADE, DOWNGRADE) are skipped. A condition
rule of another type fails every record (its ``onFailure`` applies), as
Confluent's serializers fail a rule they have no executor for.
"""

from __future__ import annotations

import dataclasses
import enum
import json
import re
from collections.abc import Mapping
from typing import Any

from governance.cel import CelError, CelProgram, compile_program
from governance.rule_fields import FieldWalk, compile_field_walk, field_tags

__all__ = [
    "FailureAction",
    "Rule",
    "RuleFailure",
    "RuleSet",
    "check_rule_expressions",
    "compile_rule_set",
    "field_tags",
]

_WRITE_MODES = frozenset({"WRITE", "WRITEREAD"})
_EXECUTED_TYPES = frozenset({"CEL", "CEL_FIELD"})


class FailureAction(enum.StrEnum):
    ERROR = "ERROR"
    DLQ = "DLQ"
    NONE = "NONE"


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One compiled condition rule."""

    name: str
    rule_type: str  # CEL | CEL_FIELD (another type: no executor, every record fails it)
    guard: CelProgram | None
    condition: CelProgram
    on_failure: FailureAction
    dlq_topic: str | None
    fields: FieldWalk | None = None
    """CEL_FIELD: the values of the record the rule runs on."""
    message_fields: tuple[str, ...] | None = None
    """The only top-level fields of ``message`` the expressions read (None: maybe all)."""

    def message_binding(self, message: Any) -> Any:
        """``message`` as the rule sees it: only the fields it reads, when that is known.

        Converting a whole record into CEL values costs more than most rules'
        evaluation; a rule that only selects fields (``message.price > 0.0``)
        gets a dict of those fields, which answers exactly the same.
        """
        if not isinstance(message, Mapping):
            return message
        if self.message_fields is None:  # CEL takes dicts, not lazy mappings (Protobuf's view)
            return message if type(message) is dict else dict(message)
        return {name: message[name] for name in self.message_fields if name in message}


@dataclasses.dataclass(frozen=True, slots=True)
class RuleFailure:
    """Why a record failed ``rule`` (a condition false or an error while evaluating it)."""

    rule: Rule
    reason: str


@dataclasses.dataclass(frozen=True, slots=True)
class RuleSet:
    """The condition rules checked on write for one schema; empty for most schemas."""

    rules: tuple[Rule, ...] = ()

    def evaluate(self, message: Any) -> list[RuleFailure]:
        """Every rule ``message`` (the decoded record) fails, in rule order."""
        failures = []
        for rule in self.rules:
            reason = _failure_of(rule, message)
            if reason is not None:
                failures.append(RuleFailure(rule, reason))
        return failures


EMPTY = RuleSet()


def _failure_of(rule: Rule, message: Any) -> str | None:
    if rule.rule_type not in _EXECUTED_TYPES:
        return f"no executor for rule type {rule.rule_type!r} (CEL and CEL_FIELD are run)"
    if rule.rule_type == "CEL":
        return _check(rule, {"message": rule.message_binding(message)})
    if rule.fields is None:
        return None
    for found in rule.fields.values(message):
        reason = _check(rule, found.bindings(rule.message_binding(found.message)))
        if reason is not None:
            where = f" ({found.location})" if found.location != found.name else ""
            return f"field {found.full_name}{where}: {reason}"
    return None


def _check(rule: Rule, bindings: Mapping[str, Any]) -> str | None:
    try:
        if rule.guard is not None and rule.guard.evaluate(bindings) is not True:
            return None
        result = rule.condition.evaluate(bindings)
    except CelError as error:
        return f"expression {rule.condition.source!r} failed: {error}"
    if result is True:
        return None
    return f"expression {rule.condition.source!r} is {json.dumps(result, default=str)}"


# -- compiling ------------------------------------------------------------------------------


def compile_rule_set(
    schema_type: str,
    schema: Any,
    rule_set: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
) -> RuleSet:
    """The write-time condition rules of a schema (``schema`` is its parsed JSON form).

    Raises ``CelError`` when an expression does not compile (the gate refuses
    records of such a schema rather than skip the rule).
    """
    domain_rules = (rule_set or {}).get("domainRules") or ()
    rules = [_compile_rule(raw, schema_type, schema, metadata) for raw in domain_rules]
    kept = tuple(rule for rule in rules if rule is not None)
    return RuleSet(kept) if kept else EMPTY


def _compile_rule(
    raw: Mapping[str, Any],
    schema_type: str,
    schema: Any,
    metadata: Mapping[str, Any] | None,
) -> Rule | None:
    rule_type = str(raw.get("type", "")).upper()
    if not _executed(raw):
        return None
    expression = str(raw.get("expr") or "true") if rule_type in _EXECUTED_TYPES else "true"
    guard, condition = _programs(raw, expression)
    on_failure = _action(raw.get("onFailure"))
    params = raw.get("params") or {}
    dlq_topic = params.get("dlq.topic") if isinstance(params, Mapping) else None
    if on_failure is FailureAction.DLQ and not dlq_topic:
        on_failure = FailureAction.ERROR  # nowhere to route: refuse rather than lose it
    fields = None
    if rule_type == "CEL_FIELD":
        tags = raw.get("tags") or ()
        fields = compile_field_walk(schema_type, schema, metadata, [str(tag) for tag in tags])
    return Rule(
        str(raw.get("name") or "unnamed"),
        rule_type,
        guard,
        condition,
        on_failure,
        str(dlq_topic) if dlq_topic else None,
        fields,
        selected_fields(expression) if rule_type in _EXECUTED_TYPES else None,
    )


def _executed(raw: Mapping[str, Any]) -> bool:
    """Whether the gate runs ``raw``: an enabled CONDITION rule checked on write."""
    return (
        not raw.get("disabled")
        and str(raw.get("kind", "TRANSFORM")).upper() == "CONDITION"
        and str(raw.get("mode", "")).upper() in _WRITE_MODES
    )


def _programs(raw: Mapping[str, Any], expression: str) -> tuple[CelProgram | None, CelProgram]:
    """The guard (if any) and condition of ``guard ; condition``; ``CelError`` names the rule."""
    guard_text, separator, condition_text = expression.partition(";")
    if not separator:  # no guard
        guard_text, condition_text = "", expression
    try:
        guard = compile_program(guard_text.strip()) if guard_text.strip() else None
        condition = compile_program(condition_text.strip())
    except CelError as error:  # name the rule: a schema may carry many
        raise CelError(f"rule {raw.get('name') or 'unnamed'!r}: {error}") from None
    return guard, condition


def check_rule_expressions(rule_set: Mapping[str, Any] | None) -> None:
    """Compile the CEL of every enabled ``CONDITION`` domain rule of type ``CEL`` or
    ``CEL_FIELD``, whatever its mode (the gate runs WRITE rules, the SDK READ ones too);
    ``CelError`` names the first that does not compile. Checked when a schema or a
    config's rule set is registered, so a rule that could never evaluate is refused then
    rather than failing every record."""
    if not rule_set:
        return
    for raw in rule_set.get("domainRules") or ():
        if (
            isinstance(raw, Mapping)
            and not raw.get("disabled")
            and str(raw.get("kind", "TRANSFORM")).upper() == "CONDITION"
            and str(raw.get("type", "")).upper() in _EXECUTED_TYPES
        ):
            _programs(raw, str(raw.get("expr") or "true"))


_STRING_LITERAL = re.compile(
    "|".join(
        (
            r"[rRbB]{0,2}'{3}[\s\S]*?'{3}",
            r'[rRbB]{0,2}"{3}[\s\S]*?"{3}',
            r"[rRbB]{0,2}'(?:\\.|[^'\\])*'",
            r'[rRbB]{0,2}"(?:\\.|[^"\\])*"',
        )
    )
)
_MESSAGE = re.compile(r"(?<![\w.])message\b")
_FIELD_SELECTION = re.compile(r"message\s*\.\s*([A-Za-z_][A-Za-z0-9_]*)(?!\s*\()")


def selected_fields(expression: str) -> tuple[str, ...] | None:
    """The fields ``expression`` selects from ``message`` when it only ever selects fields
    (``message.a > 0 && has(message.b)``); None when it uses ``message`` otherwise."""
    code = _STRING_LITERAL.sub('""', expression)
    fields = []
    for found in _MESSAGE.finditer(code):
        selection = _FIELD_SELECTION.match(code, found.start())
        if selection is None:
            return None
        fields.append(selection.group(1))
    return tuple(dict.fromkeys(fields))


def _action(on_failure: Any) -> FailureAction:
    text = str(on_failure or "ERROR").split(",")[0].strip().upper()
    try:
        return FailureAction(text)
    except ValueError:
        return FailureAction.ERROR
