"""Data contracts (Confluent 7.4+): the shape, normal form and merging of ``metadata`` and ``ruleSet``.

Confluent Schema Registry reads these objects into typed entities
(``Metadata``, ``RuleSet``, ``Rule`` in its client library) and writes them
back in a fixed form: map keys and tag sets sorted, empty collections left out,
a rule's ``kind`` defaulting to ``TRANSFORM`` and ``mode`` to ``WRITEREAD``,
unknown properties dropped. ``normalize_metadata`` and ``normalize_rule_set``
produce exactly that form, so what Charter stores and returns (and what takes
part in a schema's identity) matches what Confluent would. Malformed shapes
raise ``InvalidRequestBody`` (422); the rule-set checks Confluent makes in
``RuleSet.validate()`` raise ``InvalidRuleSet`` (42210) with Confluent's
messages. ``merge_metadata`` / ``merge_rule_sets`` follow Confluent's
``Metadata.mergeMetadata`` and ``RuleSet.mergeRuleSets``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from registry.errors import InvalidRequestBody, InvalidRuleSet

__all__ = [
    "CONFLUENT_VERSION",
    "RULE_KINDS",
    "RULE_MODES",
    "RULE_PHASES",
    "merge_metadata",
    "merge_rule_sets",
    "metadata_properties",
    "normalize_metadata",
    "normalize_rule_set",
]

CONFLUENT_VERSION = "confluent:version"
"""The metadata property Confluent keeps equal to the version number once it is set."""

RULE_KINDS = ("TRANSFORM", "CONDITION")
RULE_MODES = ("UPGRADE", "DOWNGRADE", "UPDOWN", "WRITE", "READ", "WRITEREAD")
_MIGRATION_MODES = frozenset({"UPGRADE", "DOWNGRADE", "UPDOWN"})
_DOMAIN_MODES = frozenset({"WRITE", "READ", "WRITEREAD"})

# Phase field -> (allowed modes, Confluent's message when a rule's mode is not one of them).
RULE_PHASES: dict[str, tuple[frozenset[str], str]] = {
    "migrationRules": (_MIGRATION_MODES, "Migration rules can only be UPGRADE, DOWNGRADE, UPDOWN"),
    "domainRules": (_DOMAIN_MODES, "Domain rules can only be WRITE, READ, WRITEREAD"),
    "encodingRules": (_DOMAIN_MODES, "Encoding rules can only be WRITE, READ, WRITEREAD"),
}


def _fail(where: str, problem: str) -> InvalidRequestBody:
    return InvalidRequestBody(f"Invalid {where}: {problem}")


def _as_text(value: Any, where: str) -> str:
    """A JSON scalar read as a string, as Jackson coerces scalars into ``String`` fields."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise _fail(where, f"expected a string, got {type(value).__name__}")


def _text_set(value: Any, where: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(where, f"expected an array of strings, got {type(value).__name__}")
    return sorted({_as_text(item, where) for item in value})


def _text_map(value: Any, where: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    return {str(key): _as_text(value[key], f"{where}.{key}") for key in sorted(value)}


def normalize_metadata(value: Any, where: str = "metadata") -> dict[str, Any] | None:
    """``metadata`` in Confluent's form (``tags``, ``properties``, ``sensitive``), or ``None``."""
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    normal: dict[str, Any] = {}
    raw_tags = value.get("tags")
    if raw_tags is not None:
        if not isinstance(raw_tags, Mapping):
            raise _fail(f"{where}.tags", f"expected an object, got {type(raw_tags).__name__}")
        tags = {
            str(path): _text_set(raw_tags[path], f"{where}.tags.{path}")
            for path in sorted(raw_tags)
        }
        if tags:
            normal["tags"] = tags
    properties = _text_map(value.get("properties"), f"{where}.properties")
    if properties:
        normal["properties"] = properties
    sensitive = _text_set(value.get("sensitive"), f"{where}.sensitive")
    if sensitive:
        normal["sensitive"] = sensitive
    return normal


def _normalize_rule(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected a rule object, got {type(value).__name__}")
    # Field order of Confluent's Rule entity: name, doc, kind, mode, type, tags, params,
    # expr, onSuccess, onFailure, disabled (``disabled`` is a primitive, so always written).
    rule: dict[str, Any] = {}
    name = value.get("name")
    if name is not None:
        rule["name"] = _as_text(name, f"{where}.name")
    if value.get("doc") is not None:
        rule["doc"] = _as_text(value["doc"], f"{where}.doc")
    for field, allowed, default in (
        ("kind", RULE_KINDS, "TRANSFORM"),
        ("mode", RULE_MODES, "WRITEREAD"),
    ):
        raw = value.get(field)
        if raw is None:
            rule[field] = default
        elif isinstance(raw, str) and raw.upper() in allowed:
            rule[field] = raw.upper()
        else:
            raise _fail(f"{where}.{field}", f"{raw!r} is not one of {', '.join(allowed)}")
    if value.get("type") is not None:
        rule["type"] = _as_text(value["type"], f"{where}.type")
    tags = _text_set(value.get("tags"), f"{where}.tags")
    if tags:
        rule["tags"] = tags
    params = _text_map(value.get("params"), f"{where}.params")
    if params:
        rule["params"] = params
    for field in ("expr", "onSuccess", "onFailure"):
        if value.get(field) is not None:
            rule[field] = _as_text(value[field], f"{where}.{field}")
    disabled = value.get("disabled", False)
    if disabled is None:
        disabled = False
    if not isinstance(disabled, bool):
        raise _fail(f"{where}.disabled", f"expected a boolean, got {type(disabled).__name__}")
    rule["disabled"] = disabled
    return rule


def _check_rule_name(name: str | None) -> None:
    """Confluent's ``Rule.validateName``: a letter or ``_``, then letters, digits or ``_``."""
    if name is None:
        raise InvalidRuleSet("Missing rule name")
    if not name:
        raise InvalidRuleSet("Empty rule name")
    if not (name[0].isalpha() or name[0] == "_"):
        raise InvalidRuleSet(f"Illegal initial character in rule name: {name}")
    if any(not (char.isalnum() or char == "_") for char in name[1:]):
        raise InvalidRuleSet(f"Illegal character in rule name: {name}")


def normalize_rule_set(
    value: Any, where: str = "ruleSet", *, validate: bool = True
) -> dict[str, Any] | None:
    """``ruleSet`` in Confluent's form, or ``None``; with ``validate``, Confluent's 42210 checks.

    Rule names are unique across all phases of one rule set, every rule needs a
    ``type``, and each phase allows only its modes (``RuleSet.validate()``).
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise _fail(where, f"expected an object, got {type(value).__name__}")
    normal: dict[str, Any] = {}
    for phase in RULE_PHASES:
        raw_rules = value.get(phase)
        if raw_rules is None:
            continue
        if not isinstance(raw_rules, list):
            raise _fail(f"{where}.{phase}", f"expected an array, got {type(raw_rules).__name__}")
        rules = [
            _normalize_rule(item, f"{where}.{phase}[{index}]")
            for index, item in enumerate(raw_rules)
        ]
        if rules:
            normal[phase] = rules
    if validate:
        _validate_rule_set(normal)
    return normal


def _validate_rule_set(rule_set: Mapping[str, Any]) -> None:
    names: set[str | None] = set()
    for phase, (modes, message) in RULE_PHASES.items():
        for rule in rule_set.get(phase, ()):
            name = rule.get("name")
            if name in names:
                raise InvalidRuleSet(f"Found rule with duplicate name '{name}'")
            names.add(name)
            _check_rule_name(name)
            if rule.get("type") is None:
                raise InvalidRuleSet("Missing rule type")
            if rule["mode"] not in modes:
                raise InvalidRuleSet(message)


def metadata_properties(metadata: Mapping[str, Any] | None) -> dict[str, str]:
    """The ``properties`` of a (normalized or stored) metadata object; empty when absent."""
    if not metadata:
        return {}
    properties = metadata.get("properties")
    return dict(properties) if isinstance(properties, Mapping) else {}


def merge_metadata(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Confluent's ``mergeMetadata``: ``new`` wins key by key; tags and sensitive sets are unioned per key."""
    if old is None:
        return None if new is None else dict(new)
    if new is None:
        return dict(old)
    merged: dict[str, Any] = {}
    for field in ("tags", "properties"):
        old_map, new_map = old.get(field) or {}, new.get(field) or {}
        combined = {**old_map, **new_map}
        if combined:
            merged[field] = {key: combined[key] for key in sorted(combined)}
    sensitive = sorted({*(old.get("sensitive") or ()), *(new.get("sensitive") or ())})
    if sensitive:
        merged["sensitive"] = sensitive
    return merged


def merge_rule_sets(
    old: Mapping[str, Any] | None, new: Mapping[str, Any] | None
) -> dict[str, Any] | None:
    """Confluent's ``mergeRuleSets``: per phase, old rules named like a new rule are replaced."""
    if old is None:
        return None if new is None else dict(new)
    if new is None:
        return dict(old)
    merged: dict[str, Any] = {}
    for phase in RULE_PHASES:
        old_rules, new_rules = list(old.get(phase) or ()), list(new.get(phase) or ())
        if not old_rules:
            rules = new_rules
        elif not new_rules:
            rules = old_rules
        else:
            new_names = {rule.get("name") for rule in new_rules}
            rules = [rule for rule in old_rules if rule.get("name") not in new_names] + new_rules
        if rules:
            merged[phase] = rules
    return merged
