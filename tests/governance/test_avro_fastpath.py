"""The gate's Avro fast path: it passes a record only when the full path would, and it does pass
the usual valid record (so the gate's verdicts are the full path's)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.avro_fastpath import RuleCheckedValidator, gate_validator, rule_fields
from governance.rules import compile_rule_set
from registry.formats import get_format
from registry.formats.base import PayloadInvalid
from tests.governance.records import avro

TRADE = {
    "type": "record",
    "name": "Trade",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "price", "type": "double"},
        {"name": "quantity", "type": "int"},
        {"name": "trader", "type": ["null", "string"]},
        {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL"]}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {
            "name": "party",
            "type": {
                "type": "record",
                "name": "Party",
                "fields": [{"name": "country", "type": "string"}],
            },
        },
    ],
}
RULES = {
    "domainRules": [
        {
            "name": "positive",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.price > 0.0 && message.quantity > 0",
        },
        {
            "name": "named_trader",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.trader != null ; size(message.trader) > 1",
            "onFailure": "NONE",
        },
        {
            "name": "known_side",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.side in ['BUY', 'SELL'] && message.party.country != ''",
        },
    ]
}


def _compiled(rule_set: Any = RULES) -> tuple[Any, Any, Any]:
    rules = compile_rule_set("AVRO", TRADE, rule_set, None)
    parsed = get_format("AVRO").parse(json.dumps(TRADE))
    validator = gate_validator(parsed, rules, parsed.payload_validator)
    passes = validator.passes if isinstance(validator, RuleCheckedValidator) else None
    return rules, validator, passes


def _full_path_passes(rules: Any, validator: Any, payload: bytes) -> bool:
    try:
        message = validator(payload)
    except PayloadInvalid:
        return False
    return not rules.evaluate(message)


trades = st.fixed_dictionaries(
    {
        "id": st.integers(-(2**63), 2**63 - 1),
        "price": st.floats(allow_nan=True),
        "quantity": st.integers(-(2**31), 2**31 - 1),
        "trader": st.one_of(st.none(), st.text(max_size=4)),
        "side": st.sampled_from(["BUY", "SELL"]),
        "tags": st.lists(st.text(max_size=3), max_size=2),
        "party": st.fixed_dictionaries({"country": st.text(max_size=2)}),
    }
)
_SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@_SETTINGS
@given(trade=trades, flips=st.lists(st.tuples(st.integers(0, 200), st.integers(1, 255))))
def test_the_fast_path_passes_a_record_only_when_the_full_path_does(trade, flips) -> None:
    rules, validator, passes = _compiled()
    payload = bytearray(avro(TRADE, trade))
    for where, byte in flips:
        payload[where % len(payload)] ^= byte
    if passes(bytes(payload)):
        assert _full_path_passes(rules, validator, bytes(payload))


@_SETTINGS
@given(trade=trades)
def test_the_fast_path_passes_every_valid_record_whose_rules_hold(trade) -> None:
    rules, validator, passes = _compiled()
    payload = avro(TRADE, trade)
    assert passes(payload) == _full_path_passes(rules, validator, payload)


def test_only_the_fields_the_rules_read_are_built() -> None:
    rules, validator, _ = _compiled()
    assert rule_fields(rules) == {"price", "quantity", "trader", "side", "party"}
    trade = {
        "id": 1,
        "price": 2.5,
        "quantity": 3,
        "trader": "ada",
        "side": "SELL",
        "tags": ["x"],
        "party": {"country": "FR"},
    }
    message = validator(avro(TRADE, trade))
    assert message == {k: v for k, v in trade.items() if k not in ("id", "tags")}


def test_rules_reading_the_whole_record_get_the_whole_record() -> None:
    whole = {"domainRules": [{**RULES["domainRules"][0], "expr": "size(message) > 0"}]}
    rules, validator, passes = _compiled(whole)
    assert rule_fields(rules) is None
    assert passes is None  # size(message) is outside the fast path's selection-only rules
    trade = {
        "id": 1,
        "price": 2.5,
        "quantity": 3,
        "trader": None,
        "side": "BUY",
        "tags": [],
        "party": {"country": ""},
    }
    assert validator(avro(TRADE, trade)) == trade


def test_a_schema_without_rules_is_only_checked() -> None:
    rules, validator, passes = _compiled(None)
    assert rule_fields(rules) == frozenset()
    trade = {
        "id": 1,
        "price": 2.5,
        "quantity": 3,
        "trader": None,
        "side": "BUY",
        "tags": [],
        "party": {"country": ""},
    }
    assert validator(avro(TRADE, trade)) == {}
    assert passes(avro(TRADE, trade)) is True
    assert passes(avro(TRADE, trade) + b"\x00") is False
