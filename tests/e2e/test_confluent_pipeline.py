"""The Confluent pipeline against ``charter up``: serializers registering in Charter's registry,
records through Charter's broker, read back by every client, and topic admin with configs.

Consumers use manual assignment and ``enable.auto.commit=False``: the broker has
no group coordinator yet (a librdkafka consumer that auto-commits waits
``session.timeout.ms`` in ``close()`` for one).
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import Iterator
from typing import Any

import aiokafka
import pytest
import requests
from confluent_kafka import (
    Consumer,
    DeserializingConsumer,
    KafkaException,
    SerializingProducer,
    TopicCollection,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, ConfigResource, ConfigSource, NewTopic
from confluent_kafka.schema_registry import SchemaRegistryClient
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import (
    MessageField,
    SerializationContext,
    StringDeserializer,
    StringSerializer,
)
from kafka import KafkaProducer

from tests.charter.processes import CharterProcess, running_up

PAYMENT_AVRO = json.dumps(
    {
        "type": "record",
        "name": "Payment",
        "namespace": "e2e",
        "fields": [{"name": "id", "type": "string"}, {"name": "amount", "type": "double"}],
    }
)
ORDER_JSON = json.dumps(
    {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "title": "Order",
        "type": "object",
        "properties": {"id": {"type": "integer"}, "item": {"type": "string"}},
        "required": ["id", "item"],
        "additionalProperties": False,
    }
)


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("pipeline") / "data") as process:
        yield process


@pytest.fixture(scope="module")
def registry(charter: CharterProcess) -> SchemaRegistryClient:
    return SchemaRegistryClient({"url": charter.url})


def _admin(charter: CharterProcess) -> AdminClient:
    return AdminClient({"bootstrap.servers": charter.bootstrap})


def _create(charter: CharterProcess, name: str, partitions: int = 1, **configs: str) -> None:
    admin = _admin(charter)  # kept alive until the future resolves
    futures = admin.create_topics(
        [NewTopic(name, partitions, config=configs)], operation_timeout=20
    )
    futures[name].result(timeout=30)


def _consume(consumer: Any, topic: str, count: int) -> list[Any]:
    consumer.assign([TopicPartition(topic, 0, 0)])
    messages = []
    while len(messages) < count:
        message = consumer.poll(10)
        assert message is not None, f"only {len(messages)} of {count} consumed"
        assert message.error() is None, message.error()
        messages.append(message)
    consumer.close()
    return messages


def _wire_schema_id(value: bytes) -> int:
    magic, schema_id = struct.unpack_from(">bI", value)
    assert magic == 0
    return schema_id


def test_avro_pipeline_with_every_client(
    charter: CharterProcess, registry: SchemaRegistryClient
) -> None:
    _create(charter, "payments", **{"charter.value.schema.validation": "full"})
    producer = SerializingProducer(
        {
            "bootstrap.servers": charter.bootstrap,
            "key.serializer": StringSerializer(),
            "value.serializer": AvroSerializer(registry, PAYMENT_AVRO),  # auto.register.schemas
            "enable.idempotence": True,
        }
    )
    for index in range(3):
        producer.produce(
            "payments", key=f"k{index}", value={"id": f"p{index}", "amount": index / 2}
        )
    assert producer.flush(20) == 0

    # The serializer registered the schema in Charter's registry under <topic>-value.
    response = requests.get(f"{charter.url}/subjects/payments-value/versions/latest", timeout=10)
    assert response.status_code == 200
    schema_id = response.json()["id"]

    # kafka-python produces the same Confluent framing to the same topic.
    serializer = AvroSerializer(registry, PAYMENT_AVRO)
    context = SerializationContext("payments", MessageField.VALUE)
    kafka_python = KafkaProducer(bootstrap_servers=charter.bootstrap, acks="all")
    kafka_python.send(
        "payments", key=b"k3", value=serializer({"id": "p3", "amount": 9.5}, context)
    ).get(timeout=20)
    kafka_python.close()

    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": charter.bootstrap,
            "group.id": "e2e-avro",
            "enable.auto.commit": False,
            "key.deserializer": StringDeserializer(),
            "value.deserializer": AvroDeserializer(registry),
        }
    )
    messages = _consume(consumer, "payments", 4)
    assert [(m.key(), m.value(), m.offset()) for m in messages] == [
        ("k0", {"id": "p0", "amount": 0.0}, 0),
        ("k1", {"id": "p1", "amount": 0.5}, 1),
        ("k2", {"id": "p2", "amount": 1.0}, 2),
        ("k3", {"id": "p3", "amount": 9.5}, 3),
    ]

    async def read_with_aiokafka() -> list[bytes]:
        reader = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=charter.bootstrap, enable_auto_commit=False
        )
        await reader.start()
        try:
            partition = aiokafka.TopicPartition("payments", 0)
            reader.assign([partition])
            await reader.seek_to_beginning(partition)
            values: list[bytes] = []
            while len(values) < 4:
                batch = await reader.getmany(partition, timeout_ms=5000)
                assert batch, f"only {len(values)} consumed"
                values += [message.value for message in batch[partition]]
            return values
        finally:
            await reader.stop()

    raw_values = asyncio.run(read_with_aiokafka())
    assert {_wire_schema_id(value) for value in raw_values} == {schema_id}
    deserializer = AvroDeserializer(registry)
    assert [deserializer(value, context)["id"] for value in raw_values] == ["p0", "p1", "p2", "p3"]


def test_json_schema_pipeline(charter: CharterProcess, registry: SchemaRegistryClient) -> None:
    _create(charter, "orders")
    producer = SerializingProducer(
        {
            "bootstrap.servers": charter.bootstrap,
            "value.serializer": JSONSerializer(ORDER_JSON, registry),
        }
    )
    orders = [{"id": index, "item": f"item-{index}"} for index in range(3)]
    for order in orders:
        producer.produce("orders", value=order)
    assert producer.flush(20) == 0
    latest = registry.get_latest_version("orders-value")
    assert latest.schema.schema_type == "JSON"

    consumer = DeserializingConsumer(
        {
            "bootstrap.servers": charter.bootstrap,
            "group.id": "e2e-json",
            "enable.auto.commit": False,
            "value.deserializer": JSONDeserializer(ORDER_JSON, schema_registry_client=registry),
        }
    )
    assert [message.value() for message in _consume(consumer, "orders", 3)] == orders

    # A plain Consumer sees Confluent's framing: magic 0, the registry's id, JSON text.
    plain = Consumer(
        {"bootstrap.servers": charter.bootstrap, "group.id": "e2e-raw", "enable.auto.commit": False}
    )
    raw = _consume(plain, "orders", 3)
    assert {_wire_schema_id(message.value()) for message in raw} == {latest.schema_id}
    assert [json.loads(message.value()[5:]) for message in raw] == orders


def test_admin_topic_configs_including_charter_ones(charter: CharterProcess) -> None:
    admin = _admin(charter)
    _create(
        charter,
        "governed",
        3,
        **{
            "charter.value.schema.validation": "id",
            "charter.key.schema.validation": "full",
            "cleanup.policy": "compact",
        },
    )
    resource = ConfigResource(ConfigResource.Type.TOPIC, "governed")
    entries = admin.describe_configs([resource])[resource].result(timeout=20)
    assert entries["charter.value.schema.validation"].value == "id"
    assert entries["charter.key.schema.validation"].value == "full"
    assert entries["cleanup.policy"].value == "compact"
    assert entries["cleanup.policy"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert entries["charter.value.subject.name.strategy"].value == "topic"
    assert entries["charter.value.subject.name.strategy"].is_default

    described = admin.describe_topics(TopicCollection(["governed"]))["governed"].result(timeout=20)
    assert described.name == "governed"
    assert [partition.id for partition in described.partitions] == [0, 1, 2]

    for key, value in [
        ("charter.value.schema.validation", "bogus"),
        ("cleanup.policy", "shred"),
        ("charter.value.subject.name.strategy", "nope"),
    ]:
        futures = admin.create_topics([NewTopic("rejected", 1, config={key: value})])
        with pytest.raises(KafkaException) as info:
            futures["rejected"].result(timeout=20)
        assert info.value.args[0].name() == "INVALID_CONFIG", (key, info.value)
    assert "rejected" not in admin.list_topics(timeout=20).topics

    # Confluent's own switch is accepted and read as "id".
    _create(charter, "confluent-switch", **{"confluent.value.schema.validation": "true"})
    resource = ConfigResource(ConfigResource.Type.TOPIC, "confluent-switch")
    entries = admin.describe_configs([resource])[resource].result(timeout=20)
    assert entries["confluent.value.schema.validation"].value == "true"
