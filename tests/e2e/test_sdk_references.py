"""Schema references through the SDK, interoperating with confluent-kafka's serializers.

An Avro record whose field type is a named type of another subject, and a JSON
Schema whose ``$ref`` names another subject, written by the SDK and read by
confluent's deserializers, and written by confluent's serializers and read by
the SDK, against ``charter up``.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import confluent_kafka
import pytest
from confluent_kafka.schema_registry import Schema as ConfluentSchema
from confluent_kafka.schema_registry import SchemaReference
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentRegistry
from confluent_kafka.schema_registry.avro import AvroDeserializer, AvroSerializer
from confluent_kafka.schema_registry.json_schema import JSONDeserializer, JSONSerializer
from confluent_kafka.serialization import MessageField, SerializationContext

from charter import Producer, SchemaRegistryClient, ValidationError
from charter.sdk import Schema
from tests.charter.processes import CharterProcess, running_up
from tests.e2e.test_sdk import consume, raw_records

ADDRESS = {
    "type": "record",
    "name": "Address",
    "namespace": "com.acme",
    "fields": [{"name": "city", "type": "string"}, {"name": "zip", "type": "string"}],
}
CUSTOMER = {
    "type": "record",
    "name": "Customer",
    "namespace": "com.acme",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "home", "type": "com.acme.Address"},
        {"name": "work", "type": ["null", "com.acme.Address"], "default": None},
    ],
}
ADDRESS_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"city": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]+$"}},
    "required": ["city", "zip"],
}
CUSTOMER_JSON = {
    "$schema": "http://json-schema.org/draft-07/schema#",
    "type": "object",
    "properties": {"id": {"type": "integer"}, "home": {"$ref": "address.json"}},
    "required": ["id", "home"],
}


def customer(number: int) -> dict[str, Any]:
    work = {"city": "Paris", "zip": "75001"} if number % 2 else None
    return {"id": number, "home": {"city": "Lyon", "zip": f"6900{number}"}, "work": work}


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("sdk-refs") / "data") as process:
        yield process


@pytest.fixture
def names() -> dict[str, str]:
    token = uuid.uuid4().hex[:8]
    return {"topic": f"refs-{token}", "address": f"address-{token}"}


def _avro_schema(charter: CharterProcess, names: dict[str, str]) -> Schema:
    registry = SchemaRegistryClient(charter.url)
    registry.register(names["address"], Schema(json.dumps(ADDRESS)))
    reference = {"name": "com.acme.Address", "subject": names["address"], "version": 1}
    return Schema(json.dumps(CUSTOMER), "AVRO", references=(reference,))


def test_avro_references_sdk_to_sdk_and_confluent(charter, names):
    topic = names["topic"]
    schema = _avro_schema(charter, names)
    with Producer(charter.bootstrap, charter.url) as producer:
        for number in range(3):
            producer.produce(topic, customer(number), schema=schema)
        with pytest.raises(ValidationError) as refused:
            producer.produce(
                topic, {**customer(9), "home": {"city": "Lyon", "zip": 5}}, schema=schema
            )
        assert refused.value.path == "#/home/zip"
    assert [m.value for m in consume(charter, topic, 3)] == [customer(n) for n in range(3)]

    registered = SchemaRegistryClient(charter.url).get_latest(f"{topic}-value")
    assert [dict(r) for r in registered.schema.references] == [
        {"name": "com.acme.Address", "subject": names["address"], "version": 1}
    ]
    deserialize = AvroDeserializer(ConfluentRegistry({"url": charter.url}))
    context = SerializationContext(topic, MessageField.VALUE)
    decoded = [deserialize(raw.value(), context) for raw in raw_records(charter, topic, 3)]
    assert decoded == [customer(n) for n in range(3)]


def test_avro_references_confluent_to_sdk(charter, names):
    topic = names["topic"]
    _avro_schema(charter, names)
    confluent_schema = ConfluentSchema(
        json.dumps(CUSTOMER),
        "AVRO",
        [SchemaReference("com.acme.Address", names["address"], 1)],
    )
    serialize = AvroSerializer(ConfluentRegistry({"url": charter.url}), confluent_schema)
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    for number in range(2):
        raw.produce(
            topic, serialize(customer(number), SerializationContext(topic, MessageField.VALUE))
        )
    assert raw.flush(30) == 0
    assert [m.value for m in consume(charter, topic, 2)] == [customer(0), customer(1)]


def test_json_schema_references_both_ways(charter, names):
    topic = names["topic"]
    registry = SchemaRegistryClient(charter.url)
    registry.register(names["address"], Schema(json.dumps(ADDRESS_JSON), "JSON"))
    reference = {"name": "address.json", "subject": names["address"], "version": 1}
    schema = Schema(json.dumps(CUSTOMER_JSON), "JSON", references=(reference,))
    value = {"id": 1, "home": {"city": "Lyon", "zip": "69001"}}
    with Producer(charter.bootstrap, charter.url) as producer:
        producer.produce(topic, value, schema=schema)
        with pytest.raises(ValidationError) as refused:
            producer.produce(topic, {"id": 2, "home": {"city": "Lyon", "zip": "x"}}, schema=schema)
        assert refused.value.path == "#/home/zip"

    confluent_registry = ConfluentRegistry({"url": charter.url})
    context = SerializationContext(topic, MessageField.VALUE)
    (written,) = raw_records(charter, topic, 1)
    assert (
        JSONDeserializer(None, schema_registry_client=confluent_registry)(written.value(), context)
        == value
    )

    confluent_schema = ConfluentSchema(
        json.dumps(CUSTOMER_JSON), "JSON", [SchemaReference("address.json", names["address"], 1)]
    )
    serialize = JSONSerializer(confluent_schema, confluent_registry)
    other = {"id": 3, "home": {"city": "Nice", "zip": "06000"}}
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    raw.produce(topic, serialize(other, context))
    assert raw.flush(30) == 0
    assert [m.value for m in consume(charter, topic, 2)] == [value, other]


def test_an_unknown_reference_is_a_validation_error(charter, names):
    reference = {"name": "com.acme.Address", "subject": f"no-{names['address']}", "version": 1}
    schema = Schema(json.dumps(CUSTOMER), "AVRO", references=(reference,))
    with (
        Producer(charter.bootstrap, charter.url) as producer,
        pytest.raises(ValidationError, match="no-address-"),
    ):
        producer.produce(names["topic"], customer(1), schema=schema)
