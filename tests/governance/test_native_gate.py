"""The native batch check (``SchemaGate.check_encoded``) against the gate's Python path.

A batch it vouches for is one ``check`` accepts, with the same lineage counts;
everything it does not vouch for is left to ``check`` (None), including
malformed record framing, which the broker then reports as CORRUPT_MESSAGE.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.errors import CorruptRecord
from broker.gate import BrokerGate
from broker.protocol.records import (
    Record,
    build_batch,
    read_batches,
    records_section,
    section_fields,
)
from governance import native_gate
from governance.gate import ACCEPT, GateConfig, GateContext, GateRecord, Reject, Validation
from governance.lineage import LineageRecorder
from governance.schema_gate import SchemaGate
from tests.governance.records import ORDER, PAYMENT, POSITIVE_AMOUNT, avro, framed, order
from tests.governance.test_schema_gate import Lookup

_EXAMPLES = int(os.environ.get("CHARTER_NATIVE_EXAMPLES", "300"))  # more: a longer hunt
pytest.importorskip("governance._gate_native")


def _context(**config: Any) -> GateContext:
    return GateContext("t", 0, "User:alice", "client-1", -1, GateConfig(**config))


def _encoded(
    *values: bytes | None, headers: Any = (), keys: Any = None
) -> tuple[bytes, bytes, Any]:
    """(batch, records section, header) of a batch of ``values`` (keys ``b"k"`` or ``keys``)."""
    keys = keys if keys is not None else [b"k"] * len(values)
    records = [
        Record(i, i, k, v, list(headers)) for i, (k, v) in enumerate(zip(keys, values, strict=True))
    ]
    batch = build_batch(records, timestamp=1_700_000_000_000)
    header = read_batches(batch)[0]
    return batch, records_section(batch, header, 1 << 26), header


def _gate(lookup: Lookup) -> tuple[SchemaGate, LineageRecorder]:
    lineage = LineageRecorder(None)
    return SchemaGate(lookup, lineage=lineage), lineage


def _counts(lineage: LineageRecorder) -> dict[Any, int]:
    return {entry["schema_id"]: entry["count"] for entry in lineage.snapshot()}


def _python_verdict(gate: SchemaGate, section: bytes, header: Any, **config: Any) -> Any:
    fields = section_fields(section, header)
    records = [GateRecord(i, f[2], f[3], tuple(f[4]), 0) for i, f in enumerate(fields)]
    return gate.check(_context(**config), records)


@pytest.fixture
def lookup() -> Lookup:
    table = Lookup()
    table.add(1, "t-value", ORDER, rule_set=POSITIVE_AMOUNT)
    table.add(2, "t-value", PAYMENT)
    table.add(3, "other-value", ORDER)
    table.add(4, "t-key", PAYMENT)
    return table


def test_a_valid_batch_is_vouched_for_with_the_lineage_of_the_python_path(lookup: Lookup) -> None:
    values = [order(1, amount=float(n + 1)) for n in range(5)]
    values.append(framed(2, avro(PAYMENT, {"reference": "r-1"})))
    _, section, header = _encoded(*values, headers=[("trace", b"x"), ("é", None)])
    native, native_lineage = _gate(lookup)
    assert native.check_encoded(_context(), section, header.records_count) is ACCEPT
    python, python_lineage = _gate(lookup)
    assert _python_verdict(python, section, header) is ACCEPT
    assert _counts(native_lineage) == _counts(python_lineage) == {1: 5, 2: 1}


@pytest.mark.parametrize(
    "value",
    [
        b"\x01\x00\x00\x00\x01",  # no framing
        b"\x00\x00\x00",  # too short
        order(9),  # an unknown id
        order(3),  # the id of another subject
        order(1, amount=-1.0),  # a failing rule
        framed(1, avro(ORDER, {"id": 1, "amount": 1.0, "customer": "c"}) + b"\x00"),  # trailing
    ],
)
def test_what_it_cannot_vouch_for_is_left_to_check(lookup: Lookup, value: bytes | None) -> None:
    _, section, header = _encoded(order(1), value)
    gate, lineage = _gate(lookup)
    assert gate.check_encoded(_context(), section, header.records_count) is None
    assert lineage.snapshot() == []


class _Policies:
    """A policy engine with a produce policy enabled."""

    def active(self, hook: Any) -> bool:
        return True


def test_values_not_validated_and_produce_policies_are_left_to_check(lookup: Lookup) -> None:
    _, section, header = _encoded(order(1))
    gate, _ = _gate(lookup)
    assert gate.check_encoded(_context(value_validation=Validation.NONE), section, 1) is None
    gate.engine = _Policies()  # type: ignore[assignment]
    assert gate.check_encoded(_context(), section, 1) is None


_KEY = framed(4, avro(PAYMENT, {"reference": "key"}))


@pytest.mark.parametrize(
    ("config", "values", "keys", "vouched"),
    [
        # validation id: framing and subject, not the payload
        ({"value_validation": Validation.ID}, [framed(1, b"garbage"), order(2)], None, True),
        ({"value_validation": Validation.ID}, [order(3)], None, False),  # another subject
        ({"value_validation": Validation.ID}, [b"unframed"], None, False),
        # tombstones pass, counted under no schema id
        ({}, [None, order(1), None], None, True),
        ({}, [order(1), framed(2, avro(PAYMENT, {"reference": "r"})), None], None, True),
        # keys
        ({"key_validation": Validation.ID}, [order(1), order(1)], [_KEY, None], True),
        ({"key_validation": Validation.ID}, [order(1)], [framed(4, b"garbage")], True),
        ({"key_validation": Validation.ID}, [order(1)], [b"unframed key"], False),
        ({"key_validation": Validation.ID}, [order(1)], [order(1)], False),  # a value schema
        ({"key_validation": Validation.FULL}, [order(1)], [_KEY], True),
        ({"key_validation": Validation.FULL}, [order(1)], [framed(4, b"\x03")], False),
        ({"key_validation": Validation.FULL}, [order(1, amount=-1.0)], [_KEY], False),
    ],
)
def test_validation_modes_and_keys_answer_as_check(
    lookup: Lookup, config: Any, values: Any, keys: Any, vouched: bool
) -> None:
    _, section, header = _encoded(*values, keys=keys)
    native, native_lineage = _gate(lookup)
    verdict = native.check_encoded(_context(**config), section, header.records_count)
    assert (verdict is ACCEPT) == vouched
    python, python_lineage = _gate(lookup)
    expected = _python_verdict(python, section, header, **config)
    if vouched:
        assert expected is ACCEPT
        assert _counts(native_lineage) == _counts(python_lineage)
    else:
        assert native_lineage.snapshot() == []


def test_subject_state_counts_at_once(lookup: Lookup) -> None:
    _, section, header = _encoded(order(1), order(1))
    gate, _ = _gate(lookup)
    assert gate.check_encoded(_context(), section, 2) is ACCEPT
    lookup.rows[1] = (lookup.rows[1][0], "elsewhere-value")  # deleted from t-value
    assert gate.check_encoded(_context(), section, 2) is None
    assert isinstance(_python_verdict(gate, section, header), Reject)
    lookup.rows[1] = (lookup.rows[1][0], "t-value")  # registered again
    assert gate.check_encoded(_context(), section, 2) is ACCEPT


def test_the_broker_skips_decoding_a_vouched_batch(lookup: Lookup) -> None:
    class Counting(SchemaGate):
        checked = 0

        def check(self, context: GateContext, records: Any) -> Any:
            Counting.checked += 1
            return super().check(context, records)

    adapter = BrokerGate(Counting(lookup))
    batch, _, header = _encoded(order(1), order(1, amount=2.0))
    admission = adapter._evaluate(_context(), batch, [header], 1 << 26)
    assert admission.rejection is None and admission.records == batch
    assert Counting.checked == 0
    batch, _, header = _encoded(order(1), order(1, amount=-2.0))
    admission = adapter._evaluate(_context(), batch, [header], 1 << 26)
    assert admission.rejection is not None and "record 1" in admission.rejection.message
    assert Counting.checked == 1


def test_a_batch_with_garbage_records_is_still_corrupt_for_the_broker(lookup: Lookup) -> None:
    adapter = BrokerGate(SchemaGate(lookup))
    batch, _, header = _encoded(order(1), order(1))
    torn = bytearray(batch)
    torn[61] = 0x7F  # the first record's length: -64 (the CRC was checked before the gate)
    with pytest.raises(CorruptRecord):
        adapter._evaluate(_context(), bytes(torn), [header], 1 << 26)


_values = st.lists(
    st.sampled_from(
        [order(1), order(1, amount=3.5), framed(2, avro(PAYMENT, {"reference": "é"})), None]
    ),
    min_size=1,
    max_size=6,
)


_keys = st.sampled_from([None, b"k", _KEY, framed(4, b"\x02")])
_configs = st.fixed_dictionaries(
    {
        "value_validation": st.sampled_from([Validation.ID, Validation.FULL]),
        "key_validation": st.sampled_from(list(Validation)),
    }
)


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_values, _configs, st.data())
def test_a_mutated_section_is_never_vouched_for_wrongly(
    values: list[bytes], config: dict[str, Any], data: Any
) -> None:
    lookup = Lookup()
    lookup.add(1, "t-value", ORDER, rule_set=POSITIVE_AMOUNT)
    lookup.add(2, "t-value", PAYMENT)
    lookup.add(4, "t-key", PAYMENT)
    keys = data.draw(st.lists(_keys, min_size=len(values), max_size=len(values)))
    _, section, header = _encoded(*values, headers=[("h", b"v")], keys=keys)
    mutated = bytearray(section)
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(0, len(mutated) - 1))
        action = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        if action == "flip":
            mutated[at] ^= data.draw(st.integers(1, 255))
        elif action == "cut":
            del mutated[at:]
        elif action == "insert":
            mutated[at:at] = data.draw(st.binary(min_size=1, max_size=3))
        else:
            del mutated[at]
        if not mutated:
            mutated = bytearray(b"\x00")
    count = data.draw(st.sampled_from([len(values), len(values) - 1, len(values) + 1]))
    gate, lineage = _gate(lookup)
    verdict = gate.check_encoded(_context(**config), bytes(mutated), count)
    if verdict is None:
        return
    header = dataclasses.replace(header, records_count=count)
    python, python_lineage = _gate(lookup)
    assert _python_verdict(python, bytes(mutated), header, **config) is ACCEPT
    assert _counts(lineage) == _counts(python_lineage)


def test_a_valid_section_is_vouched_for(lookup: Lookup) -> None:
    _, section, header = _encoded(*[order(1, amount=float(n + 1), order_id=n) for n in range(300)])
    gate, lineage = _gate(lookup)
    assert gate.check_encoded(_context(), section, header.records_count) is ACCEPT
    assert _counts(lineage) == {1: 300}


def test_a_planner_failure_costs_speed_not_the_gate(
    lookup: Lookup, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: Any) -> Any:
        raise AttributeError("a bug in the planner")

    monkeypatch.setattr(native_gate, "build_plan", broken)
    _, section, header = _encoded(order(1))
    gate, _ = _gate(lookup)
    assert gate.check_encoded(_context(), section, header.records_count) is None
    assert _python_verdict(gate, section, header) is ACCEPT
