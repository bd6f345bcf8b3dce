"""The schema gate on Protobuf values: the message-index array, decoding with the message's
descriptor, CEL and CEL_FIELD rules over the decoded message, refusals with reasons."""

from __future__ import annotations

from typing import Any

import pytest

from governance.gate import ACCEPT, GateConfig, GateContext, GateRecord, Reject, Route
from governance.gate import SubjectNameStrategy as Strategy
from governance.lineage import LineageRecorder
from governance.schema_gate import SchemaGate
from registry.formats import get_format
from registry.formats.base import ParsedSchema, ResolvedReference
from registry.formats.protobuf_values import from_python
from registry.formats.protobuf_wire import write_message_indexes
from registry.store import Reference, StoredSchema
from tests.governance.records import framed

CUSTOMER = """syntax = "proto3";
package acme.common;
import "confluent/meta.proto";

message Customer {
  string name = 1;
  string email = 2 [(confluent.field_meta).tags = "PII"];
}
"""
ORDER = """syntax = "proto3";
package acme;
import "google/protobuf/timestamp.proto";
import "acme/customer.proto";

enum Status { STATUS_UNKNOWN = 0; OPEN = 1; SHIPPED = 2; }

message Order {
  int64 id = 1;
  double amount = 2;
  acme.common.Customer customer = 3;
  Status status = 4;
  google.protobuf.Timestamp placed_at = 5;
  repeated Line lines = 6;
  map<string, int32> quantities = 7;
  optional string note = 8;
  message Line {
    string sku = 1;
  }
}

message Refund {
  int64 order_id = 1;
}
"""
REFERENCES = (ResolvedReference("acme/customer.proto", "customer", 1, CUSTOMER),)


class Lookup:
    """Protobuf schemas registered under one subject each, by id."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[StoredSchema, str]] = {}

    def add(self, schema_id: int, subject: str, **extra: Any) -> None:
        stored = StoredSchema(
            schema_id,
            "PROTOBUF",
            ORDER,
            (Reference("acme/customer.proto", "customer", 1),),
            extra.get("metadata"),
            extra.get("rule_set"),
        )
        self.rows[schema_id] = (stored, subject)

    def schema(self, schema_id: int) -> StoredSchema | None:
        row = self.rows.get(schema_id)
        return row[0] if row else None

    def parsed(self, schema_id: int) -> ParsedSchema:
        return get_format("PROTOBUF").parse(self.rows[schema_id][0].schema_text, REFERENCES)

    def subject_version(self, subject: str, schema_id: int) -> int | None:
        row = self.rows.get(schema_id)
        return 1 if row and row[1] == subject else None


SCHEMA = get_format("PROTOBUF").parse(ORDER, REFERENCES)


def _order(**fields: Any) -> bytes:
    value = {"id": 1, "amount": 10.0, "customer": {"name": "ada", "email": "ada@example.com"}}
    value.update(fields)
    message = from_python(SCHEMA.payload_validator.message_class([0]), value)
    return framed(1, b"\x00" + message.SerializeToString())


def _context(topic: str = "t", **config: Any) -> GateContext:
    return GateContext(topic, 0, "User:alice", "client-1", -1, GateConfig(**config))


def _records(*values: bytes | None) -> list[GateRecord]:
    return [GateRecord(i, None, v, (), 0) for i, v in enumerate(values)]


def _rule(**fields: Any) -> dict[str, Any]:
    return {"domainRules": [{"name": "r", "kind": "CONDITION", "mode": "WRITE", **fields}]}


def _gate(**extra: Any) -> SchemaGate:
    lookup = Lookup()
    lookup.add(1, "t-value", **extra)
    return SchemaGate(lookup)


def _refusal(gate: SchemaGate, value: bytes) -> str:
    verdict = gate.check(_context(), _records(value))
    assert isinstance(verdict, Reject), verdict
    return verdict.errors[0].message


def test_a_valid_message_passes_and_a_failing_cel_rule_refuses() -> None:
    gate = _gate(rule_set=_rule(type="CEL", expr="message.amount > 0.0"))
    assert gate.check(_context(), _records(_order())) is ACCEPT
    reason = _refusal(gate, _order(amount=-1.0))
    assert "subject t-value version 1: rule 'r' failed" in reason
    assert "message.amount > 0.0" in reason


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (b"\x00\x0a\xff", "is not a valid acme.Order"),  # a length past the end
        (b"\x00\x08", "is not a valid acme.Order"),  # a varint cut short
        (b"\x02\x04", "message index [2] is out of range"),  # only two messages
        (b"\x04\x00\x0a", "message index [0, 5] is out of range in acme.Order"),
        (b"\x02\x80", "the message-index array ends inside a varint"),
        (b"\x7f", "the message-index array claims"),
        (b"\x03", "claims -2 entries"),  # zig-zag -2
    ],
)
def test_malformed_payloads_and_bad_message_indexes_are_refused(
    payload: bytes, expected: str
) -> None:
    reason = _refusal(_gate(), framed(1, payload))
    assert "the value does not decode" in reason and expected in reason


def test_other_messages_of_the_file_by_their_index() -> None:
    gate = _gate()
    refund = get_format("PROTOBUF").parse(ORDER, REFERENCES).payload_validator.message_class([1])
    body = refund(order_id=7).SerializeToString()
    assert gate.check(_context(), _records(framed(1, b"\x02\x02" + body))) is ACCEPT
    line = SCHEMA.payload_validator.message_class([0, 1])  # [0, 0]: the map's entry message
    assert line.DESCRIPTOR.full_name == "acme.Order.Line"
    indexes = write_message_indexes([0, 1])
    line_bytes = line(sku="x").SerializeToString()
    assert gate.check(_context(), _records(framed(1, indexes + line_bytes))) is ACCEPT


def test_enums_are_numbers_timestamps_compare_and_has_follows_presence() -> None:
    rule = _rule(
        type="CEL",
        expr=(
            "message.status == 1 && message.placed_at < timestamp('2030-01-01T00:00:00Z')"
            " && !has(message.note) && size(message.lines) == 0 && message.quantities == {}"
        ),
    )
    gate = _gate(rule_set=rule)
    placed = {"seconds": 1_700_000_000}
    assert gate.check(_context(), _records(_order(status="OPEN", placed_at=placed))) is ACCEPT
    assert isinstance(
        gate.check(_context(), _records(_order(status="SHIPPED", placed_at=placed))), Reject
    )
    with_note = _order(status="OPEN", placed_at=placed, note="")  # optional: set though empty
    assert isinstance(gate.check(_context(), _records(with_note)), Reject)


def test_nested_fields_and_unset_defaults_are_visible_to_rules() -> None:
    rule = _rule(
        type="CEL", expr="message.customer.email.endsWith('@example.com') && message.id != 0"
    )
    gate = _gate(rule_set=rule)
    assert gate.check(_context(), _records(_order())) is ACCEPT
    assert "failed" in _refusal(gate, _order(id=0))  # proto3 default: present as 0
    assert "failed" in _refusal(gate, _order(customer={"email": "x@elsewhere"}))


def test_cel_field_rules_select_fields_by_their_field_meta_tags() -> None:
    rule = _rule(type="CEL_FIELD", tags=["PII"], expr="value.contains('@')")
    gate = _gate(rule_set=rule)
    assert gate.check(_context(), _records(_order())) is ACCEPT
    reason = _refusal(gate, _order(customer={"email": "nobody"}))
    assert "field acme.common.Customer.email" in reason


def test_cel_field_rules_with_metadata_tags_and_type_names() -> None:
    rule = _rule(type="CEL_FIELD", tags=["MONEY"], expr="typeName == 'DOUBLE' && value >= 0.0")
    gate = _gate(rule_set=rule, metadata={"tags": {"acme.Order.amount": ["MONEY"]}})
    assert gate.check(_context(), _records(_order())) is ACCEPT
    assert "field acme.Order.amount" in _refusal(gate, _order(amount=-2.0))


def test_dlq_routing_and_a_rule_that_does_not_compile() -> None:
    dlq = _rule(type="CEL", expr="message.amount > 0.0", onFailure="DLQ", params={"dlq.topic": "d"})
    verdict = _gate(rule_set=dlq).check(_context(), _records(_order(), _order(amount=-1.0)))
    assert isinstance(verdict, Route)
    assert [(letter.index, letter.topic) for letter in verdict.dead_letters] == [(1, "d")]
    broken = _gate(rule_set=_rule(type="CEL", expr="message.amount >"))
    assert "does not compile" in _refusal(broken, _order())


def test_record_name_strategies_use_the_message_each_record_names() -> None:
    lookup = Lookup()
    lookup.add(1, "acme.Refund")  # as Confluent's serializer names a Refund's subject
    gate = SchemaGate(lookup)
    refund_class = SCHEMA.payload_validator.message_class([1])
    refund = framed(1, b"\x02\x02" + refund_class(order_id=3).SerializeToString())
    record = _context(value_subject_strategy=Strategy.RECORD)
    assert gate.check(record, _records(refund)) is ACCEPT
    verdict = gate.check(record, _records(_order()))  # an Order: subject acme.Order
    assert isinstance(verdict, Reject)
    assert "not registered under subject acme.Order" in verdict.errors[0].message
    lookup.add(1, "t-acme.Order")
    topic_record = _context(value_subject_strategy=Strategy.TOPIC_RECORD)
    assert gate.check(topic_record, _records(_order(), _order())) is ACCEPT
    assert isinstance(gate.check(topic_record, _records(refund)), Reject)


def test_a_batch_of_two_schemas_is_counted_per_schema_in_lineage() -> None:
    lookup = Lookup()
    lookup.add(1, "t-value")
    lookup.add(2, "t-value", rule_set=_rule(type="CEL", expr="message.id > 0"))
    lineage = LineageRecorder(None)
    gate = SchemaGate(lookup, lineage=lineage)
    one = _order()
    two = b"\x00\x00\x00\x00\x02" + one[5:]
    assert gate.check(_context(), _records(one, two, two)) is ACCEPT
    assert {(e["schema_id"], e["count"]) for e in lineage.snapshot()} == {(1, 1), (2, 2)}
    # one record failing the rule of schema 2 sends the whole batch the general way
    bad = b"\x00\x00\x00\x00\x02" + _order(id=0)[5:]
    verdict = gate.check(_context(), _records(one, bad))
    assert isinstance(verdict, Reject) and [e.index for e in verdict.errors] == [1]


def test_cel_field_rules_check_the_fields_of_the_message_a_record_carries() -> None:
    rule = _rule(type="CEL_FIELD", tags=["REF"], expr="value > 0")
    gate = _gate(rule_set=rule, metadata={"tags": {"acme.Refund.order_id": ["REF"]}})
    refund_class = SCHEMA.payload_validator.message_class([1])

    def refund(order_id: int) -> bytes:
        return framed(1, b"\x02\x02" + refund_class(order_id=order_id).SerializeToString())

    assert gate.check(_context(), _records(refund(7), _order(id=0))) is ACCEPT
    assert "field acme.Refund.order_id" in _refusal(gate, refund(0))
