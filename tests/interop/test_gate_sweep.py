"""Acceptance sweep of the gate and governance with real clients, over one shared stack.

What ``test_gate_confluent.py`` does not already show: the codecs through the
gate (refusal and DLQ re-framing), an idempotent producer that keeps going
after routed records, Avro references, keys under ``full``, disabled and
WRITEREAD rules, and ``consume-access`` over a Protobuf topic's tags.
"""

from __future__ import annotations

import json
import time
import types
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import fastavro
import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition
from confluent_kafka.schema_registry import Schema, SchemaReference, SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroSerializer
from confluent_kafka.serialization import MessageField, SerializationContext
from kio.schema.errors import ErrorCode

from tests.broker.test_server_handlers import _batch, _Client, _produce
from tests.governance.records import ORDER, POSITIVE_AMOUNT, avro, dlq_rules, framed, order
from tests.governance.stack import Stack, start_stack

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(Path(tmp_path_factory.mktemp("sweep")) / "data")
    yield running
    running.stop()


def _send(
    stack: Stack, topic: str, values: list[Any], keys: list[Any] | None = None, **config: Any
) -> list[Any]:
    """Produce ``values`` in one batch; each record's delivery error code (None when delivered)."""
    producer = Producer(
        {"bootstrap.servers": stack.bootstrap, "linger.ms": 50, "retries": 0, **config}
    )
    codes: list[Any] = [None] * len(values)

    def report(index: int) -> Any:
        return lambda err, msg: codes.__setitem__(index, err.code() if err else None)

    for index, value in enumerate(values):
        key = keys[index] if keys else None
        producer.produce(topic, value=value, key=key, on_delivery=report(index))
    assert producer.flush(30) == 0
    return codes


def _consume(stack: Stack, topic: str, count: int) -> list[Any]:
    consumer = Consumer(
        {"bootstrap.servers": stack.bootstrap, "group.id": "sweep", "enable.auto.commit": False}
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    messages: list[Any] = []
    deadline = time.monotonic() + 20
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None and not message.error():
                messages.append(message)
    finally:
        consumer.close()
    return messages


def _wire_message(stack: Stack, topic: str, values: list[bytes]) -> str:
    client = _Client(types.SimpleNamespace(port=stack.broker.port))
    try:
        answer = _produce(client, topic, _batch(values))
    finally:
        client.close()
    assert answer.error_code == ErrorCode.invalid_record
    return str(answer.error_message)


@pytest.mark.parametrize("codec", ["gzip", "snappy", "lz4", "zstd"])
def test_compressed_batches_are_gated_and_dead_letters_reframed(stack: Stack, codec: str) -> None:
    topic, dlq = f"zip-{codec}", f"zip-{codec}-dlq"
    stack.create_topic(topic)
    stack.create_topic(dlq, charter__value__schema__validation="none")
    schema_id = stack.schema_id(f"{topic}-value", ORDER, rule_set=dlq_rules(dlq))
    good = [order(schema_id, 1.0, 1), order(schema_id, 2.0, 2)]
    config = {"compression.type": codec}
    # one refused record: librdkafka gives every record of the batch the partition's error
    refused = _send(stack, topic, [good[0], b"unframed"], **config)
    assert refused == [KafkaError.INVALID_RECORD] * 2
    assert (
        _send(stack, topic, [good[0], order(schema_id, -1.0, 9), good[1]], **config) == [None] * 3
    )
    assert [m.value() for m in _consume(stack, topic, 2)] == good
    assert [m.value() for m in _consume(stack, dlq, 1)] == [order(schema_id, -1.0, 9)]


def test_an_idempotent_producer_keeps_going_after_routed_records(stack: Stack) -> None:
    stack.create_topic("idem")
    stack.create_topic("idem-dlq", charter__value__schema__validation="none")
    schema_id = stack.schema_id("idem-value", ORDER, rule_set=dlq_rules("idem-dlq"))
    producer = Producer(
        {"bootstrap.servers": stack.bootstrap, "enable.idempotence": True, "linger.ms": 20}
    )
    errors: list[Any] = []
    rounds = [[-1.0, -2.0], [1.0, -1.0, 2.0], [3.0, 4.0]]  # all routed, mixed, all kept
    for amounts in rounds:
        for number, amount in enumerate(amounts):
            producer.produce(
                "idem",
                value=order(schema_id, amount, number),
                on_delivery=lambda e, m: errors.append(e),
            )
        assert producer.flush(30) == 0
    assert errors == [None] * 7
    assert len(_consume(stack, "idem", 4)) == 4
    assert len(_consume(stack, "idem-dlq", 3)) == 3


def test_avro_with_references_is_decoded_against_the_referenced_types(stack: Stack) -> None:
    client = SchemaRegistryClient({"url": stack.registry_url})
    address = {
        "type": "record",
        "name": "Address",
        "namespace": "com.acme",
        "fields": [{"name": "city", "type": "string"}],
    }
    customer = {
        "type": "record",
        "name": "Customer",
        "namespace": "com.acme",
        "fields": [
            {"name": "name", "type": "string"},
            {"name": "home", "type": "com.acme.Address"},
        ],
    }
    client.register_schema("address", Schema(json.dumps(address), "AVRO"))
    reference = SchemaReference("com.acme.Address", "address", 1)
    stack.create_topic("customers")
    schema = Schema(json.dumps(customer), "AVRO", [reference])
    schema_id = client.register_schema("customers-value", schema)
    stack.settle()
    serializer = AvroSerializer(
        client, schema, conf={"auto.register.schemas": False, "use.latest.version": True}
    )
    value = serializer(
        {"name": "ada", "home": {"city": "x"}},
        SerializationContext("customers", MessageField.VALUE),
    )
    assert _send(stack, "customers", [value]) == [None]
    named: dict[str, Any] = {}
    fastavro.parse_schema(address, named_schemas=named)
    payload = avro(
        fastavro.parse_schema(customer, named_schemas=named), {"name": "a", "home": {"city": "y"}}
    )
    message = _wire_message(stack, "customers", [framed(schema_id, payload[:-1])])
    assert "subject customers-value version 1: the value does not decode: #/home/city" in message


def test_keys_under_full_validation_and_a_wrong_magic_byte(stack: Stack) -> None:
    stack.create_topic(
        "keyed-full",
        charter__key__schema__validation="full",
        charter__value__schema__validation="none",
    )
    key_id = stack.schema_id("keyed-full-key", {"type": "string"})
    keys = [framed(key_id, avro("string", "k")), framed(key_id, b"\x09"), None]
    assert _send(stack, "keyed-full", [b"v"], keys=keys[1:2]) == [KafkaError.INVALID_RECORD]
    assert _send(stack, "keyed-full", [b"v", b"v"], keys=[keys[0], None]) == [None, None]
    stack.create_topic("magic")
    schema_id = stack.schema_id("magic-value", ORDER)
    assert "record 0: the value has no schema framing" in _wire_message(
        stack, "magic", [b"\x01" + order(schema_id)[1:]]
    )


def test_disabled_rules_are_skipped_and_writeread_rules_run_on_write(stack: Stack) -> None:
    stack.create_topic("rules")
    stack.create_topic("rules-dlq", charter__value__schema__validation="none")
    disabled = dict(POSITIVE_AMOUNT["domainRules"][0], disabled=True)
    schema_id = stack.schema_id("rules-value", ORDER, rule_set={"domainRules": [disabled]})
    assert _send(stack, "rules", [order(schema_id, -1.0)]) == [None]
    write_read = dict(
        dlq_rules("rules-dlq")["domainRules"][0], mode="WRITEREAD", onFailure="DLQ,NONE"
    )
    second = {**ORDER, "doc": "v2"}
    schema_id = stack.schema_id("rules-value", second, rule_set={"domainRules": [write_read]})
    assert _send(stack, "rules", [order(schema_id, -1.0)]) == [None]
    assert [m.value() for m in _consume(stack, "rules-dlq", 1)] == [order(schema_id, -1.0)]


PROTO_PERSON = """syntax = "proto3";
package hr;
import "confluent/meta.proto";
message Person {
  string name = 1;
  string ssn = 2 [(confluent.field_meta).tags = "PII"];
}
"""


def _first_read(stack: Stack, topic: str) -> Any:
    """The first record's value of ``topic`` or the consumer error it gets."""
    consumer = Consumer(
        {
            "bootstrap.servers": stack.bootstrap,
            "group.id": f"r-{topic}",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is not None:
                return message.error() if message.error() else message.value()
    finally:
        consumer.close()
    raise AssertionError(f"nothing read from {topic}")


def test_consume_access_restricts_a_protobuf_topic_by_its_field_meta_tags(stack: Stack) -> None:
    stack.create_topic("hr-people", charter__value__schema__validation="none")
    stack.schema_id("hr-people-value", PROTO_PERSON, schema_type="PROTOBUF")
    assert _send(stack, "hr-people", [b"raw"]) == [None]
    assert stack.put_policy("consume-access", params={"principals": ["User:hr"]}).ok
    try:
        denied = _first_read(stack, "hr-people")
        assert isinstance(denied, KafkaError), denied
        assert denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    finally:
        assert stack.put_policy("consume-access", enabled=False).ok
    assert _first_read(stack, "hr-people") == b"raw"


def test_a_dlq_rule_pointing_at_its_own_topic_refuses_the_record(stack: Stack) -> None:
    stack.create_topic("loop")
    schema_id = stack.schema_id("loop-value", ORDER, rule_set=dlq_rules("loop"))
    assert _send(stack, "loop", [order(schema_id, -1.0)]) == [KafkaError.INVALID_RECORD]
    message = _wire_message(stack, "loop", [order(schema_id, -1.0)])
    assert "rule 'positive_amount' failed" in message
    assert "its dlq.topic is this topic" in message
    assert _send(stack, "loop", [order(schema_id, 1.0)]) == [None]
    assert [m.value() for m in _consume(stack, "loop", 1)] == [order(schema_id, 1.0)]


def test_confluent_servers_strategy_config_is_honoured(stack: Stack) -> None:
    strategy = "io.confluent.kafka.serializers.subject.RecordNameStrategy"
    stack.create_topic(
        "migrated",
        confluent__value__schema__validation="true",
        confluent__value__subject__name__strategy=strategy,
    )
    record_id = stack.schema_id("com.acme.Order", ORDER)
    assert _send(stack, "migrated", [framed(record_id, b"id mode: not decoded")]) == [None]
    assert _send(stack, "migrated", [b"unframed"]) == [KafkaError.INVALID_RECORD]


def test_a_new_version_auto_registered_by_the_serializer_is_accepted_at_once(
    stack: Stack,
) -> None:
    stack.create_topic("evolving")
    client = SchemaRegistryClient({"url": stack.registry_url})
    context = SerializationContext("evolving", MessageField.VALUE)
    first = AvroSerializer(client, json.dumps(ORDER))
    assert _send(
        stack, "evolving", [first({"id": 1, "amount": 1.0, "customer": "a"}, context)]
    ) == [None]
    for number in range(3):  # each registers a new version, then sends without waiting
        fields = [*ORDER["fields"], {"name": f"note{number}", "type": "string", "default": ""}]
        serializer = AvroSerializer(client, json.dumps({**ORDER, "fields": fields}))
        value = serializer({"id": 2, "amount": 1.0, "customer": "b"}, context)
        assert _send(stack, "evolving", [value]) == [None], number


CONTACT = {
    "type": "record",
    "name": "Contact",
    "namespace": "com.acme",
    "fields": [{"name": "email", "type": "string"}, {"name": "id", "type": "string"}],
}


def test_confluents_cel_validators_run_at_the_gate(stack: Stack) -> None:
    """A rule written for Confluent's executors (``isEmail()``, ``isUuid()``) registers and
    is enforced for every client."""
    stack.create_topic("contacts")
    rule = {
        "name": "valid_contact",
        "kind": "CONDITION",
        "mode": "WRITE",
        "type": "CEL",
        "expr": "message.email.isEmail() && message.id.isUuid()",
    }
    schema_id = stack.schema_id("contacts-value", CONTACT, rule_set={"domainRules": [rule]})

    def contact(email: str, contact_id: str) -> bytes:
        return framed(schema_id, avro(CONTACT, {"email": email, "id": contact_id}))

    good = contact("ada@example.com", "123e4567-e89b-12d3-a456-426614174000")
    assert _send(stack, "contacts", [good]) == [None]
    for bad in (
        contact("not-an-email", "123e4567-e89b-12d3-a456-426614174000"),
        contact("ada@example.com", "42"),
    ):
        assert _send(stack, "contacts", [bad]) == [KafkaError.INVALID_RECORD]
