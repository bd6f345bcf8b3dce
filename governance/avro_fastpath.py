"""The gate's Avro fast path: the whole payload checked, only the fields its rules read built.

A data-contract rule such as ``message.price > 0.0 && message.quantity > 0``
reads two fields of a record that may have dozens; building every field's
Python value (and handing them to CEL) is most of a record's cost. Rules that
use ``message`` only as ``message.<field>`` (``Rule.message_fields``) get a
decoder (``registry.formats.avro_decode``) that checks every byte of the
payload and builds just those top-level fields: the rules see the same
values, since ``Rule.message_binding`` would keep only those fields anyway.
A schema without rules is only checked. Any other rule (``CEL_FIELD``, a
rule reading ``message`` whole) keeps the whole record.

``RuleCheckedValidator.passes`` fuses decoding and the rules' CEL fast
functions (``governance.cel_fast``) into one call answering "this record
passes": true only when the payload decodes and every rule's fast function
says its condition holds. Anything else (a bad payload, a failing or
undecided rule) answers false and the gate takes its full path, which finds
the reason; so verdicts are the full path's, reached in fewer steps for the
usual record.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from governance.rules import RuleSet
from registry.formats.avro import AvroSchema
from registry.formats.avro_payload import AvroPayloadValidator
from registry.formats.base import ParsedSchema, PayloadValidator

__all__ = ["RuleCheckedValidator", "gate_validator", "rule_fields"]


class RuleCheckedValidator:
    """A payload validator that also answers, in one call, whether a payload passes the rules."""

    __slots__ = ("_validator", "passes")

    def __init__(self, validator: PayloadValidator, passes: Callable[[bytes], bool]) -> None:
        self._validator = validator
        self.passes = passes
        """True when the payload surely decodes and passes every rule; False: ask the full path."""

    @property
    def validator(self) -> PayloadValidator:
        """The payload validator it decodes with."""
        return self._validator

    def __call__(self, payload: bytes) -> Any:
        return self._validator(payload)


def rule_fields(rules: RuleSet) -> frozenset[str] | None:
    """The top-level fields of ``message`` that ``rules`` read; None when they may read any."""
    fields: set[str] = set()
    for rule in rules.rules:
        if rule.rule_type != "CEL" or rule.message_fields is None:
            return None
        fields.update(rule.message_fields)
    return frozenset(fields)


def gate_validator(
    parsed: ParsedSchema, rules: RuleSet, validator: PayloadValidator
) -> PayloadValidator:
    """The validator the gate runs for records of ``parsed`` checked by (compiled) ``rules``.

    ``validator`` (the schema's own) when the fast path does not apply.
    """
    fields = rule_fields(rules)
    if not isinstance(parsed, AvroSchema) or fields is None:
        return validator
    partial = AvroPayloadValidator(parsed.standalone, fields)
    passes = _passes(partial, rules)
    return partial if passes is None else RuleCheckedValidator(partial, passes)


def _passes(validator: AvroPayloadValidator, rules: RuleSet) -> Callable[[bytes], bool] | None:
    decode = validator.decode
    if decode is None:
        return None
    conditions: list[tuple[Any, Any]] = []
    for rule in rules.rules:
        guard = rule.guard.fast if rule.guard is not None else None
        if rule.condition.fast is None or (rule.guard is not None and guard is None):
            return None
        conditions.append((guard, rule.condition.fast))
    return _fused(decode, tuple(conditions))


def _fused(
    decode: Callable[[bytes], Any], conditions: tuple[tuple[Any, Any], ...]
) -> Callable[[bytes], bool]:
    def passes(payload: bytes) -> bool:
        try:
            message = decode(payload)
        except Exception:  # the full path explains it
            return False
        bindings = {"message": message}
        for guard, condition in conditions:
            if guard is not None:
                applies = guard(bindings)
                if applies is False:
                    continue
                if applies is not True:
                    return False
            if condition(bindings) is not True:
                return False
        return True

    return passes
