"""The SDK against ``charter up``: round trips SDK→SDK, SDK→Confluent deserializers and back,
validation before sending, client-side rules, undecodable records, governed topics.

Most consumers use assignment (no group id); one test subscribes with a group,
commits, and resumes from the committed position in a second consumer.
"""

from __future__ import annotations

import dataclasses
import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import confluent_kafka
import pytest
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentRegistry
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from charter import Consumer, Producer, SchemaRegistryClient, ValidationError
from charter.sdk import RecordErrorRaised, Schema, create_governed_topic
from charter.sdk.admin import describe_topic
from tests.charter.processes import CharterProcess, running_up

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "sdk",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "tags", "type": {"type": "array", "items": "string"}, "default": []},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [{"name": "city", "type": "string"}],
            },
        },
    ],
}
ITEM_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "title": "Item",
    "type": "object",
    "properties": {"sku": {"type": "string"}, "count": {"type": "integer", "minimum": 0}},
    "required": ["sku", "count"],
}


def order(number: int) -> dict[str, Any]:
    return {
        "id": number,
        "customer": f"c{number}",
        "amount": number * 1.5,
        "tags": ["t"],
        "address": {"city": "Lyon"},
    }


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("sdk") / "data") as process:
        yield process


@pytest.fixture
def topic() -> str:
    return f"sdk-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def producer(charter: CharterProcess) -> Iterator[Producer]:
    with Producer(charter.bootstrap, charter.url) as sdk_producer:
        yield sdk_producer


def consume(charter: CharterProcess, topic: str, count: int, **options: Any) -> list[Any]:
    with Consumer(
        charter.bootstrap, charter.url, topics=[topic], auto_offset_reset="earliest", **options
    ) as consumer:
        messages: list[Any] = []
        deadline = time.monotonic() + 30
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None:
                messages.append(message)
        return messages


def raw_records(charter: CharterProcess, topic: str, count: int) -> list[confluent_kafka.Message]:
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": charter.bootstrap, "group.id": "raw", "enable.auto.commit": False}
    )
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    found: list[confluent_kafka.Message] = []
    deadline = time.monotonic() + 30
    try:
        while len(found) < count and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None and message.error() is None:
                found.append(message)
    finally:
        consumer.close()
    return found


def test_sdk_to_sdk_avro(charter, producer, topic):
    for number in range(5):
        producer.produce(topic, order(number), key=f"k{number}", schema=ORDER, headers={"h": "v"})
    assert producer.flush(30) == 0
    messages = consume(charter, topic, 5)
    assert [m.value for m in messages] == [order(n) for n in range(5)]
    assert [m.key for m in messages] == [f"k{n}" for n in range(5)]
    assert [m.offset for m in messages] == list(range(5))
    first = messages[0]
    assert first.topic == topic and first.partition == 0 and first.headers == [("h", b"v")]
    assert first.timestamp is not None
    registered = SchemaRegistryClient(charter.url).get_latest(f"{topic}-value")
    assert first.schema_id == registered.schema_id


def test_group_consumer_commits_and_a_new_member_resumes(charter, producer, topic):
    for number in range(6):
        producer.produce(topic, order(number), schema=ORDER)
    assert producer.flush(30) == 0
    first = consume(charter, topic, 4, group_id=f"{topic}-readers")
    assert [m.value["id"] for m in first][:4] == [order(n)["id"] for n in range(4)]
    with Consumer(
        charter.bootstrap,
        charter.url,
        topics=[topic],
        group_id=f"{topic}-group",
        auto_offset_reset="earliest",
    ) as consumer:
        seen: list[Any] = []
        deadline = time.monotonic() + 30
        while len(seen) < 3 and time.monotonic() < deadline:
            message = consumer.poll(1.0)
            if message is not None:
                seen.append(message)
        consumer.commit()
    assert [m.offset for m in seen[:3]] == [0, 1, 2]
    resumed = consume(charter, topic, 1, group_id=f"{topic}-group")
    assert resumed and resumed[0].offset == seen[-1].offset + 1


def test_sdk_to_sdk_json_schema_and_latest_version(charter, producer, topic):
    producer.produce(topic, {"sku": "a", "count": 1}, schema=ITEM_JSON)
    producer.produce(topic, {"sku": "b", "count": 2})  # schema omitted: the latest version
    producer.flush(30)
    assert [m.value for m in consume(charter, topic, 2)] == [
        {"sku": "a", "count": 1},
        {"sku": "b", "count": 2},
    ]
    with pytest.raises(ValidationError) as raised:
        producer.produce(topic, {"sku": "c", "count": -1})
    assert raised.value.path == "#/count"


def test_a_bad_value_raises_and_nothing_is_sent(charter, producer, topic):
    with pytest.raises(ValidationError) as raised:
        producer.produce(topic, {**order(1), "address": {"city": 7}}, schema=ORDER)
    assert raised.value.path == "#/address/city"
    assert "expected string, got int 7" in str(raised.value)
    producer.produce(topic, order(2), schema=ORDER)
    producer.flush(30)
    (message,) = consume(charter, topic, 1)
    assert message.offset == 0 and message.value == order(2)


def test_sdk_records_decode_with_confluent_deserializers(charter, producer, topic):
    producer.produce(topic, order(1), schema=ORDER)
    producer.produce(f"{topic}-json", {"sku": "x", "count": 3}, schema=ITEM_JSON)
    producer.flush(30)
    registry = ConfluentRegistry({"url": charter.url})
    (avro_raw,) = raw_records(charter, topic, 1)
    avro = AvroDeserializer(registry)(
        avro_raw.value(), SerializationContext(topic, MessageField.VALUE)
    )
    assert avro == order(1)
    (json_raw,) = raw_records(charter, f"{topic}-json", 1)
    decoded = JSONDeserializer(json.dumps(ITEM_JSON), schema_registry_client=registry)(
        json_raw.value(), SerializationContext(f"{topic}-json", MessageField.VALUE)
    )
    assert decoded == {"sku": "x", "count": 3}


def test_confluent_serializers_to_sdk(charter, topic):
    registry = ConfluentRegistry({"url": charter.url})
    avro = AvroSerializer(registry, json.dumps(ORDER))
    as_json = JSONSerializer(json.dumps(ITEM_JSON), registry)
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    raw.produce(topic, avro(order(3), SerializationContext(topic, MessageField.VALUE)))
    json_topic = f"{topic}-json"
    value = as_json({"sku": "y", "count": 4}, SerializationContext(json_topic, MessageField.VALUE))
    raw.produce(json_topic, value)
    assert raw.flush(30) == 0
    assert consume(charter, topic, 1)[0].value == order(3)
    assert consume(charter, json_topic, 1)[0].value == {"sku": "y", "count": 4}


def test_contract_rules_run_client_side(charter, producer, topic):
    rule_set = {
        "domainRules": [
            {
                "name": "positive",
                "kind": "CONDITION",
                "mode": "WRITE",
                "type": "CEL",
                "expr": "message.amount > 0.0",
            },
            {
                "name": "small",
                "kind": "CONDITION",
                "mode": "WRITE",
                "type": "CEL",
                "expr": "message.amount < 1000.0",
                "onFailure": "DLQ",
                "params": {"dlq.topic": f"{topic}-dlq"},
            },
        ]
    }
    schema = Schema(json.dumps(ORDER), "AVRO", rule_set=rule_set)
    SchemaRegistryClient(charter.url).register(f"{topic}-value", schema)
    with pytest.raises(ValidationError) as raised:
        producer.produce(topic, {**order(1), "amount": -5.0})
    assert raised.value.rule == "positive"
    producer.produce(topic, {**order(2), "amount": 5000.0})  # routed to the DLQ topic
    producer.produce(topic, order(3))
    producer.flush(30)
    (kept,) = consume(charter, topic, 1)
    assert kept.value == order(3) and kept.offset == 0
    (dead,) = raw_records(charter, f"{topic}-dlq", 1)
    assert json.loads(dead.value())["amount"] == 5000.0
    assert ("charter.dlq.rule", b"small") in dead.headers()


def test_undecodable_records_follow_the_policy(charter, producer, topic):
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    raw.produce(topic, b"not framed")
    raw.produce(topic, b"\x00\x00\x00\x27\x0fwhatever")  # schema id 9999 does not exist
    raw.flush(30)
    producer.produce(topic, order(1), schema=ORDER)
    producer.flush(30)

    with (
        Consumer(charter.bootstrap, charter.url, topics=[topic], auto_offset_reset="earliest") as c,
        pytest.raises(RecordErrorRaised) as raised,
    ):
        for _ in range(30):
            c.poll(1.0)
    assert raised.value.error.offset == 0 and "magic byte" in raised.value.error.reason

    (good,) = consume(charter, topic, 1, on_error="skip")
    assert good.value == order(1) and good.offset == 2

    consume(charter, topic, 1, on_error="dlq", dlq_topic=f"{topic}-dlq")
    dead = raw_records(charter, f"{topic}-dlq", 2)
    assert [m.value() for m in dead] == [b"not framed", b"\x00\x00\x00\x27\x0fwhatever"]
    reasons = [dict(m.headers())["charter.dlq.reason"].decode() for m in dead]
    assert "9999" in reasons[1] or "not found" in reasons[1].lower()


@dataclasses.dataclass
class Reading:
    sensor: str
    celsius: float
    note: str | None = None


def test_typed_records_and_governed_topic(charter, producer, topic):
    schema_id = create_governed_topic(
        charter.bootstrap, charter.url, topic, Reading, validation="full", partitions=2
    )
    info = describe_topic(charter.bootstrap, topic)
    assert info.partitions == 2 and info.validation == "full"
    producer.produce(topic, Reading("s1", 21.5), partition=0)
    producer.flush(30)
    (message,) = consume(charter, topic, 1)
    assert message.value == {"sensor": "s1", "celsius": 21.5, "note": None}
    assert message.schema_id == schema_id
