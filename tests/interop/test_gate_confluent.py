"""The produce gate through an unmodified confluent-kafka producer sending raw bytes.

A whole Charter runs in this process (``tests.governance.stack``): the registry
over HTTP and the composed broker with the schema gate. Every rejection path,
DLQ routing, id-only mode, the record-name strategy and Confluent's own
serializers' output.
"""

from __future__ import annotations

import json
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kio.schema.errors import ErrorCode

from tests.broker.test_server_handlers import _batch, _Client, _produce
from tests.governance.records import (
    ORDER,
    PAYMENT,
    POSITIVE_AMOUNT,
    avro,
    dlq_rules,
    framed,
    order,
)
from tests.governance.stack import Stack, start_stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(tmp_path / "data")
    yield running
    running.stop()


def _send(stack: Stack, topic: str, values: list[bytes], **config: Any) -> list[Any]:
    """Produce ``values`` in one batch; each record's delivery error (None when delivered)."""
    producer = Producer(
        {"bootstrap.servers": stack.bootstrap, "linger.ms": 100, "retries": 0, **config}
    )
    errors: list[Any] = [None] * len(values)
    for index, value in enumerate(values):
        producer.produce(
            topic,
            value=value,
            on_delivery=lambda err, msg, index=index: errors.__setitem__(index, err),
        )
    assert producer.flush(30) == 0
    return errors


def _codes(errors: list[Any]) -> list[Any]:
    return [error.code() if error is not None else None for error in errors]


def _wire(stack: Stack, topic: str, values: list[bytes]) -> Any:
    client = _Client(types.SimpleNamespace(port=stack.broker.port))
    try:
        return _produce(client, topic, _batch(values))
    finally:
        client.close()


def _consume(stack: Stack, topic: str, count: int) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": stack.bootstrap, "group.id": "unused", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    messages: list[Any] = []
    deadline = time.monotonic() + 30
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                messages.append(message)
    finally:
        consumer.close()
    return messages


def _high_watermark(stack: Stack, topic: str) -> int:
    consumer = Consumer({"bootstrap.servers": stack.bootstrap, "group.id": "unused"})
    try:
        return consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)[1]
    finally:
        consumer.close()


def test_every_rejection_path(stack: Stack) -> None:
    stack.create_topic("orders")  # server default: charter.value.schema.validation=full
    stack.create_topic("payments")
    order_id = stack.schema_id("orders-value", ORDER, rule_set=POSITIVE_AMOUNT)
    payment_id = stack.schema_id("payments-value", PAYMENT)

    assert _send(stack, "orders", [order(order_id)]) == [None]

    refused = {
        "no framing": b'{"id": 1}',
        "unknown id": framed(9999, b"\x02"),
        "another subject's id": framed(payment_id, avro(PAYMENT, {"reference": "r"})),
        "bad payload": framed(order_id, b"\x02\x00"),
        "failing rule": order(order_id, amount=-5.0),
    }
    for name, value in refused.items():
        assert _codes(_send(stack, "orders", [value])) == [KafkaError.INVALID_RECORD], name

    # the wire answer names the record, the subject/version and what is wrong
    messages = {name: _wire(stack, "orders", [value]) for name, value in refused.items()}
    assert all(m.error_code == ErrorCode.invalid_record for m in messages.values())
    texts = {name: m.record_errors[0].batch_index_error_message for name, m in messages.items()}
    assert "record 0: the value has no schema framing" in texts["no framing"]
    assert "schema id 9999 is not registered" in texts["unknown id"]
    assert (
        f"schema id {payment_id} is not registered under subject orders-value"
        in texts["another subject's id"]
    )
    assert "subject orders-value version 1: the value does not decode" in texts["bad payload"]
    assert "rule 'positive_amount' failed" in texts["failing rule"]
    assert "message.amount > 0.0" in texts["failing rule"]

    # a mixed batch is refused whole: per-record errors for the bad ones, nothing appended
    before = _high_watermark(stack, "orders")
    answer = _wire(stack, "orders", [order(order_id), b"junk", order(order_id, amount=-1.0)])
    assert answer.error_code == ErrorCode.invalid_record
    assert [e.batch_index for e in answer.record_errors] == [1, 2]
    assert answer.error_message.startswith("2 of 3 record(s) refused by the gate; record 1:")
    mixed = [order(order_id), b"junk", order(order_id, amount=-1.0)]
    # librdkafka reports the good record as failed because of another one in its batch
    assert _codes(_send(stack, "orders", mixed)) == [
        KafkaError._INVALID_DIFFERENT_RECORD,
        KafkaError.INVALID_RECORD,
        KafkaError.INVALID_RECORD,
    ]
    assert _high_watermark(stack, "orders") == before

    rejected = stack.wait_audit(action="produce", resource="topic:orders")
    assert rejected[0]["outcome"] == "rejected"
    assert sum(entry["count"] for entry in rejected) >= 1


def test_size_is_checked_before_the_gate_reads_records(stack: Stack) -> None:
    """As Kafka checks a batch's size before its records: an oversized batch is
    MESSAGE_TOO_LARGE, not the gate's INVALID_RECORD, even when its records would fail."""
    stack.create_topic("sized", **{"max.message.bytes": "2000"})
    stack.schema_id("sized-value", ORDER)
    assert _codes(_send(stack, "sized", [b"unframed" * 500])) == [KafkaError.MSG_SIZE_TOO_LARGE]
    assert _codes(_send(stack, "sized", [b"unframed"])) == [KafkaError.INVALID_RECORD]


def test_dlq_routes_failing_records_and_appends_the_rest(stack: Stack) -> None:
    stack.create_topic("checkout")
    stack.create_topic("checkout-dlq", charter__value__schema__validation="none")
    schema_id = stack.schema_id("checkout-value", ORDER, rule_set=dlq_rules("checkout-dlq"))
    values = [order(schema_id, 1.0, 1), order(schema_id, -2.0, 2), order(schema_id, 3.0, 3)]
    assert _send(stack, "checkout", values) == [None] * 3

    kept = _consume(stack, "checkout", 2)
    assert [m.value() for m in kept] == [values[0], values[2]]
    assert [m.offset() for m in kept] == [0, 1]
    (letter,) = _consume(stack, "checkout-dlq", 1)
    assert letter.value() == values[1]
    headers = dict(letter.headers())
    assert headers["charter.dlq.rule"] == b"positive_amount"
    assert headers["charter.dlq.subject"] == b"checkout-value"
    assert headers["charter.dlq.version"] == b"1"
    assert headers["charter.dlq.source.topic"] == b"checkout"
    assert headers["charter.dlq.source.partition"] == b"0"
    assert b"positive_amount" in headers["charter.dlq.reason"]


def test_id_only_mode_checks_the_id_not_the_payload(stack: Stack) -> None:
    stack.create_topic("ids", charter__value__schema__validation="id")
    schema_id = stack.schema_id("ids-value", ORDER, rule_set=POSITIVE_AMOUNT)
    assert _send(stack, "ids", [framed(schema_id, b"not avro at all")]) == [None]
    assert _send(stack, "ids", [order(schema_id, amount=-1.0)]) == [None]  # rules not run
    assert _codes(_send(stack, "ids", [b"unframed"])) == [KafkaError.INVALID_RECORD]
    assert _codes(_send(stack, "ids", [framed(schema_id + 50, b"")])) == [KafkaError.INVALID_RECORD]


def test_confluent_validation_true_is_read_as_id(stack: Stack) -> None:
    stack.create_topic("legacy", confluent__value__schema__validation="true")
    schema_id = stack.schema_id("legacy-value", ORDER)
    assert _send(stack, "legacy", [framed(schema_id, b"anything")]) == [None]
    assert _codes(_send(stack, "legacy", [b"unframed"])) == [KafkaError.INVALID_RECORD]


def test_record_name_strategies(stack: Stack) -> None:
    stack.create_topic("by-record", charter__value__subject__name__strategy="record")
    stack.create_topic("by-topic-record", charter__value__subject__name__strategy="topic_record")
    record_id = stack.schema_id("com.acme.Order", ORDER)
    assert _send(stack, "by-record", [order(record_id)]) == [None]
    # the same schema under <topic>-<record name>
    topic_record_id = stack.schema_id("by-topic-record-com.acme.Order", ORDER)
    assert topic_record_id == record_id
    assert _send(stack, "by-topic-record", [order(record_id)]) == [None]
    # a schema registered only under <topic>-value does not satisfy the record strategy
    payment_id = stack.schema_id("by-record-value", PAYMENT)
    payment = framed(payment_id, avro(PAYMENT, {"reference": "x"}))
    assert _codes(_send(stack, "by-record", [payment])) == [KafkaError.INVALID_RECORD]


def test_confluent_serializers_output_is_accepted(stack: Stack) -> None:
    stack.create_topic("avro-orders")
    stack.create_topic("json-orders")
    client = SchemaRegistryClient({"url": stack.registry_url})
    avro_serializer = AvroSerializer(client, json.dumps(ORDER))
    json_schema = {
        "type": "object",
        "title": "Order",
        "properties": {"id": {"type": "integer"}, "customer": {"type": "string"}},
        "required": ["id"],
    }
    json_serializer = JSONSerializer(json.dumps(json_schema), client)
    avro_value = avro_serializer(
        {"id": 7, "amount": 1.5, "customer": "ada"},
        SerializationContext("avro-orders", MessageField.VALUE),
    )
    json_value = json_serializer(
        {"id": 8, "customer": "bob"}, SerializationContext("json-orders", MessageField.VALUE)
    )
    stack.settle()
    assert _send(stack, "avro-orders", [avro_value]) == [None]
    assert _send(stack, "json-orders", [json_value]) == [None]
    # a JSON payload that breaks its schema is refused
    bad_json = json_value[:5] + b'{"customer": 5}'
    assert _codes(_send(stack, "json-orders", [bad_json])) == [KafkaError.INVALID_RECORD]


def test_a_schema_registered_or_deleted_a_moment_ago_is_enforced(stack: Stack) -> None:
    stack.create_topic("fresh")
    first = stack.schema_id("fresh-value", ORDER)
    assert _send(stack, "fresh", [order(first)]) == [None]
    import requests

    response = requests.delete(f"{stack.registry_url}/subjects/fresh-value/versions/1", timeout=30)
    assert response.status_code == 200, response.text
    stack.settle()
    assert _codes(_send(stack, "fresh", [order(first)])) == [KafkaError.INVALID_RECORD]
    second = stack.schema_id("fresh-value", ORDER)  # registered again: a new version
    assert second == first
    assert _send(stack, "fresh", [order(first)]) == [None]


def test_keys_are_checked_when_key_validation_is_set(stack: Stack) -> None:
    stack.create_topic(
        "keyed",
        charter__key__schema__validation="id",
        charter__value__schema__validation="none",
    )
    key_id = stack.schema_id("keyed-key", {"type": "string"})
    producer = Producer({"bootstrap.servers": stack.bootstrap, "retries": 0})
    results: list[Any] = []
    for key in (framed(key_id, b"\x02a"), b"plain"):  # one batch each
        producer.produce(
            "keyed", key=key, value=b"free", on_delivery=lambda e, m: results.append(e)
        )
        assert producer.flush(30) == 0
    assert _codes(results) == [None, KafkaError.INVALID_RECORD]


def test_a_refused_record_in_a_transaction_fails_it_and_the_client_aborts(stack: Stack) -> None:
    stack.create_topic("txn-orders")
    schema_id = stack.schema_id("txn-orders-value", ORDER, rule_set=POSITIVE_AMOUNT)
    producer = Producer(
        {"bootstrap.servers": stack.bootstrap, "transactional.id": "gate-txn", "linger.ms": 50}
    )
    producer.init_transactions(30)
    producer.begin_transaction()
    errors: list[Any] = []
    for value in (order(schema_id), order(schema_id, amount=-1.0)):
        producer.produce("txn-orders", value=value, on_delivery=lambda e, m: errors.append(e))
    producer.flush(30)
    assert KafkaError.INVALID_RECORD in _codes(errors)
    with pytest.raises(KafkaException):
        producer.commit_transaction(30)
    producer.abort_transaction(30)

    producer.begin_transaction()
    producer.produce("txn-orders", value=order(schema_id, amount=2.0))
    producer.commit_transaction(30)
    consumer = Consumer(
        {
            "bootstrap.servers": stack.bootstrap,
            "group.id": "txn-reader",
            "isolation.level": "read_committed",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition("txn-orders", 0, OFFSET_BEGINNING)])
    seen: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while not seen and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                seen.append(message.value())
    finally:
        consumer.close()
    assert seen == [order(schema_id, amount=2.0)]  # nothing of the refused transaction
