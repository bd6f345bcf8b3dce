"""The gate's Avro validator: the whole payload checked, only the fields its rules read built.

A data-contract rule such as ``message.price > 0.0 && message.quantity > 0``
reads two fields of a record that may have dozens; building every field's
Python value (and handing them to CEL) is most of a record's cost. Rules that
use ``message`` only as ``message.<field>`` (``Rule.message_fields``) get a
decoder (``registry.formats.avro_decode``) that checks every byte of the
payload and builds just those top-level fields: the rules see the same
values, since ``Rule.message_binding`` would keep only those fields anyway.
A schema without rules is only checked. Any other rule (``CEL_FIELD``, a
rule reading ``message`` whole) gets the whole record.
"""

from __future__ import annotations

from governance.rules import RuleSet
from registry.formats.avro import AvroSchema
from registry.formats.avro_payload import AvroPayloadValidator
from registry.formats.base import ParsedSchema, PayloadValidator

__all__ = ["payload_validator", "rule_fields"]


def rule_fields(rules: RuleSet) -> frozenset[str] | None:
    """The top-level fields of ``message`` that ``rules`` read; None when they may read any."""
    fields: set[str] = set()
    for rule in rules.rules:
        if rule.rule_type != "CEL" or rule.message_fields is None:
            return None
        fields.update(rule.message_fields)
    return frozenset(fields)


def payload_validator(parsed: ParsedSchema, rules: RuleSet) -> PayloadValidator:
    """The validator the gate runs for records of ``parsed`` checked by ``rules``."""
    if isinstance(parsed, AvroSchema):
        fields = rule_fields(rules)
        if fields is not None:
            return AvroPayloadValidator(parsed.standalone, fields)
    return parsed.payload_validator
