"""Data-contract rules: the WRITE-mode CONDITION rules of a schema's ``ruleSet.domainRules``.

Confluent's data contracts attach rules to a schema version (``ruleSet``);
Confluent runs them in its client serializers, Charter runs them at the broker
for every client. A ``RuleSet`` is compiled once per schema id (rules, CEL
programs and the fields each CEL_FIELD rule selects by tag) and evaluated for
each decoded record:

- ``type: CEL``: ``expr`` with ``message`` bound to the decoded record;
- ``type: CEL_FIELD``: ``expr`` for every primitive field whose tags meet the
  rule's ``tags`` (every primitive field when the rule has none), with
  ``value``, ``name``, ``fullName``, ``typeName``, ``tags`` and ``message``
  bound, as Confluent's ``CelFieldExecutor`` does. Field tags come from the
  Avro field attribute ``confluent:tags``, JSON Schema's ``confluent:tags``,
  Protobuf's ``(confluent.field_meta).tags`` and ``metadata.tags``
  (``{"Record.field": ["PII"]}``, ``*`` wildcards). For Protobuf, ``schema``
  is the parsed ``ProtobufSchema``; a record's fields are those of the message
  its index array names (``registry.formats.protobuf_fields``), the record a
  ``protobuf_values.MessageView``.

An expression ``guard ; condition`` passes when the guard is false. A rule
fails when its condition is not ``true`` (a runtime error fails it too).
``onFailure`` is ``ERROR`` (the default: the record is refused), ``DLQ`` (the
record goes to ``params["dlq.topic"]``) or ``NONE`` (only recorded); for a
``WRITEREAD`` rule the first of ``"NONE,ERROR"`` applies. Disabled rules, other
kinds (TRANSFORM), modes (READ, UPGRADE, DOWNGRADE) and types are skipped.
"""

from __future__ import annotations

import dataclasses
import enum
import fnmatch
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from governance.cel import CelError, CelProgram, compile_program
from registry.formats.protobuf_fields import file_messages, walk_fields

__all__ = ["FailureAction", "Rule", "RuleFailure", "RuleSet", "compile_rule_set"]

_WRITE_MODES = frozenset({"WRITE", "WRITEREAD"})
_PRIMITIVES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string", "enum", "fixed"}
)
_JSON_PRIMITIVES = frozenset({"string", "number", "integer", "boolean", "null"})


class FailureAction(enum.StrEnum):
    ERROR = "ERROR"
    DLQ = "DLQ"
    NONE = "NONE"


@dataclasses.dataclass(frozen=True, slots=True)
class FieldTarget:
    """A primitive field a CEL_FIELD rule applies to: where it is and what it is."""

    path: tuple[str, ...]  # keys from the record down to the field
    name: str
    full_name: str
    type_name: str
    tags: tuple[str, ...]


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    """One compiled condition rule."""

    name: str
    rule_type: str  # CEL | CEL_FIELD
    guard: CelProgram | None
    condition: CelProgram
    on_failure: FailureAction
    dlq_topic: str | None
    fields: tuple[FieldTarget, ...] = ()
    message_fields: tuple[str, ...] | None = None
    """The only top-level fields of ``message`` the expressions read (None: maybe all)."""
    fields_by_message: Mapping[str, tuple[FieldTarget, ...]] | None = dataclasses.field(
        default=None, compare=False
    )
    """Protobuf: the CEL_FIELD targets of each message of the file, by full name; a record
    (a view with ``message_name``) is checked against its own message's fields."""

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
    if rule.rule_type == "CEL":
        return _check(rule, {"message": rule.message_binding(message)})
    bound = rule.message_binding(message)
    targets = rule.fields
    if rule.fields_by_message is not None:
        name = getattr(message, "message_name", None)
        if name is not None:
            targets = rule.fields_by_message.get(name, ())
    for target in targets:
        found, value = _lookup(message, target.path)
        if not found:
            continue
        reason = _check(
            rule,
            {
                "value": value,
                "name": target.name,
                "fullName": target.full_name,
                "typeName": target.type_name,
                "tags": list(target.tags),
                "message": bound,
            },
        )
        if reason is not None:
            return f"field {target.full_name}: {reason}"
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


def _lookup(message: Any, path: Sequence[str]) -> tuple[bool, Any]:
    value = message
    for key in path:
        if not isinstance(value, Mapping) or key not in value:
            return False, None
        value = value[key]
    return True, value


# -- compiling ------------------------------------------------------------------------------


def compile_rule_set(
    schema_type: str,
    schema: Any,
    rule_set: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
) -> RuleSet:
    """The write-time condition rules of a schema (``schema`` is its parsed JSON form;
    for PROTOBUF the parsed ``ProtobufSchema``).

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
    if (
        raw.get("disabled")
        or str(raw.get("kind", "TRANSFORM")).upper() != "CONDITION"
        or str(raw.get("mode", "")).upper() not in _WRITE_MODES
        or rule_type not in ("CEL", "CEL_FIELD")
    ):
        return None
    expression = str(raw.get("expr") or "true")
    guard_text, separator, condition_text = expression.partition(";")
    if not separator:  # no guard
        guard_text, condition_text = "", expression
    try:
        guard = compile_program(guard_text.strip()) if guard_text.strip() else None
        condition = compile_program(condition_text.strip())
    except CelError as error:  # name the rule: a schema may carry many
        raise CelError(f"rule {raw.get('name') or 'unnamed'!r}: {error}") from None
    on_failure = _action(raw.get("onFailure"))
    params = raw.get("params") or {}
    dlq_topic = params.get("dlq.topic") if isinstance(params, Mapping) else None
    if on_failure is FailureAction.DLQ and not dlq_topic:
        on_failure = FailureAction.ERROR  # nowhere to route: refuse rather than lose it
    fields: tuple[FieldTarget, ...] = ()
    by_message: dict[str, tuple[FieldTarget, ...]] | None = None
    if rule_type == "CEL_FIELD":
        wanted = set(raw.get("tags") or ())

        def chosen(targets: Iterator[FieldTarget]) -> tuple[FieldTarget, ...]:
            return tuple(t for t in targets if not wanted or wanted & set(t.tags))

        fields = chosen(_field_targets(schema_type, schema, metadata))
        if schema_type.upper() == "PROTOBUF" and schema is not None:
            by_message = {
                name: chosen(_protobuf_targets(schema, metadata, name))
                for name in file_messages(schema)
            }
    return Rule(
        str(raw.get("name") or "unnamed"),
        rule_type,
        guard,
        condition,
        on_failure,
        str(dlq_topic) if dlq_topic else None,
        fields,
        selected_fields(expression),
        by_message,
    )


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


def _metadata_tags(metadata: Mapping[str, Any] | None) -> Mapping[str, Sequence[str]]:
    tags = (metadata or {}).get("tags") or {}
    return tags if isinstance(tags, Mapping) else {}


def field_tags(
    full_name: str, inline: Sequence[str], metadata: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """A field's tags: its own (``confluent:tags``) plus ``metadata.tags`` entries matching it."""
    tags = list(inline)
    for pattern, extra in _metadata_tags(metadata).items():
        if fnmatch.fnmatchcase(full_name, pattern):
            tags.extend(str(tag) for tag in extra)
    return tuple(dict.fromkeys(tags))


def _field_targets(
    schema_type: str, schema: Any, metadata: Mapping[str, Any] | None
) -> Iterator[FieldTarget]:
    if schema_type.upper() == "JSON":
        yield from _json_targets(schema, (), "", metadata)
    elif schema_type.upper() == "PROTOBUF":
        yield from _protobuf_targets(schema, metadata)
    else:
        yield from _avro_targets(schema, (), metadata, None, set())


def _avro_targets(
    schema: Any,
    path: tuple[str, ...],
    metadata: Mapping[str, Any] | None,
    namespace: str | None,
    seen: set[str],
) -> Iterator[FieldTarget]:
    """The primitive fields of an Avro record, through nested records (not arrays or maps)."""
    if not isinstance(schema, Mapping) or schema.get("type") != "record":
        return
    name = str(schema.get("name", ""))
    namespace = schema.get("namespace", namespace)
    full = name if "." in name or not namespace else f"{namespace}.{name}"
    if full in seen:
        return
    seen = seen | {full}
    for field in schema.get("fields", ()):
        field_name = str(field["name"])
        field_type = field["type"]
        branches = field_type if isinstance(field_type, list) else [field_type]
        concrete = [b for b in branches if b != "null"]
        target_type = concrete[0] if len(concrete) == 1 else field_type
        if isinstance(target_type, Mapping) and target_type.get("type") == "record":
            yield from _avro_targets(target_type, (*path, field_name), metadata, namespace, seen)
            continue
        type_name = _avro_type_name(target_type)
        if type_name is None:
            continue
        full_name = f"{full}.{field_name}"
        tags = field_tags(full_name, field.get("confluent:tags") or (), metadata)
        yield FieldTarget((*path, field_name), field_name, full_name, type_name, tags)


def _avro_type_name(schema: Any) -> str | None:
    if isinstance(schema, str):
        return schema.upper() if schema in _PRIMITIVES else None
    if isinstance(schema, Mapping):
        kind = schema.get("type")
        if kind in _PRIMITIVES:
            return str(kind).upper()
    return None


def _protobuf_targets(
    schema: Any, metadata: Mapping[str, Any] | None, message: str | None = None
) -> Iterator[FieldTarget]:
    """The primitive fields of ``message`` (default: the schema's first message), through
    singular nested messages."""
    if schema is None:
        return
    for field in walk_fields(schema, message):
        if field.singular and field.primitive:
            tags = field_tags(field.full_name, field.tags, metadata)
            yield FieldTarget(field.path, field.name, field.full_name, field.kind, tags)


def _json_targets(
    schema: Any, path: tuple[str, ...], prefix: str, metadata: Mapping[str, Any] | None
) -> Iterator[FieldTarget]:
    """The primitive properties of a JSON Schema object, through nested objects."""
    if not isinstance(schema, Mapping):
        return
    title = prefix or str(schema.get("title", ""))
    for prop, sub in (schema.get("properties") or {}).items():
        if not isinstance(sub, Mapping):
            continue
        full_name = f"{title}.{prop}" if title else str(prop)
        kind = sub.get("type")
        if kind == "object":
            yield from _json_targets(sub, (*path, prop), full_name, metadata)
            continue
        if isinstance(kind, str) and kind in _JSON_PRIMITIVES:
            tags = field_tags(full_name, sub.get("confluent:tags") or (), metadata)
            yield FieldTarget((*path, prop), str(prop), full_name, kind.upper(), tags)
