"""Charter's SDK with Protobuf, both ways against confluent-kafka's Protobuf serdes.

Generated classes (protoc in the setup) and dicts with ``.proto`` text go out
through ``charter.Producer``; confluent-kafka's ``ProtobufDeserializer`` reads
them, and ``charter.Consumer`` reads what ``ProtobufSerializer`` wrote. A whole
Charter runs in this process (``tests.governance.stack``); its gate checks every
record (``full`` validation, the server default).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import confluent_kafka
import pytest
import requests
from confluent_kafka.schema_registry import SchemaRegistryClient as ConfluentRegistry
from confluent_kafka.schema_registry.protobuf import ProtobufDeserializer, ProtobufSerializer

from charter import Consumer, Producer, ValidationError
from charter.sdk import Schema
from tests.governance.stack import CONTENT_TYPE, Stack, start_stack
from tests.interop.protoc import compiled
from tests.registry.confluent_helpers import value_context, wire_schema_id

pytestmark = pytest.mark.slow

FILES = {
    "sdk_interop/customer.proto": """syntax = "proto3";
package sdk.interop;

message Customer {
  string name = 1;
  string email = 2;
}
""",
    "sdk_interop/order.proto": """syntax = "proto3";
package sdk.interop;

import "google/protobuf/timestamp.proto";
import "sdk_interop/customer.proto";

enum Status {
  STATUS_UNKNOWN = 0;
  OPEN = 1;
  SHIPPED = 2;
}

message Order {
  int64 id = 1;
  Customer customer = 2;
  google.protobuf.Timestamp placed_at = 3;
  map<string, int32> quantities = 4;
  oneof payment {
    string card = 5;
    bytes token = 6;
  }
  message Line {
    string sku = 1;
    double price = 2;
  }
  repeated Line lines = 7;
  Status status = 8;
}
""",
}
STANDALONE = """syntax = "proto3";
package sdk.interop.flat;

message Reading {
  string sensor = 1;
  double celsius = 2;
  repeated int32 samples = 3;
}
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ModuleType]:
    with compiled(tmp_path_factory.mktemp("sdk-protos"), FILES, "sdk_interop.order_pb2") as module:
        yield module


@pytest.fixture(scope="module")
def reading_class(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    files = {"sdk_flat/reading.proto": STANDALONE}
    with compiled(tmp_path_factory.mktemp("flat"), files, "sdk_flat.reading_pb2") as module:
        yield module.Reading


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("sdk-proto") / "data")
    yield running
    running.stop()


@pytest.fixture
def topic(stack: Stack) -> str:
    name = f"sdkpb-{uuid.uuid4().hex[:8]}"
    stack.create_topic(name)
    return name


def _order(generated: ModuleType) -> Any:
    order = generated.Order(id=42, card="4111", status=generated.OPEN)
    order.customer.name, order.customer.email = "Ada", "ada@example.com"
    order.placed_at.seconds = 1_700_000_000
    order.quantities["apple"] = 3
    order.lines.add(sku="a-1", price=2.5)
    return order


def _raw_values(stack: Stack, topic: str, count: int) -> list[bytes]:
    consumer = confluent_kafka.Consumer(
        {"bootstrap.servers": stack.bootstrap, "group.id": "raw", "enable.auto.commit": False}
    )
    consumer.assign([confluent_kafka.TopicPartition(topic, 0, confluent_kafka.OFFSET_BEGINNING)])
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                values.append(message.value())
    finally:
        consumer.close()
    return values


def _sdk_messages(stack: Stack, topic: str, count: int) -> list[Any]:
    with Consumer(
        stack.bootstrap, stack.registry_url, topics=[topic], auto_offset_reset="earliest"
    ) as consumer:
        messages: list[Any] = []
        deadline = time.monotonic() + 30
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None:
                messages.append(message)
    return messages


def test_a_generated_message_registers_its_file_with_references(
    stack: Stack, topic: str, generated: ModuleType
) -> None:
    order = _order(generated)
    with Producer(stack.bootstrap, stack.registry_url) as producer:
        producer.produce(topic, order)
        producer.produce(topic, generated.Order.Line(sku="b-2", price=1.0))  # a nested message
    first, line = _raw_values(stack, topic, 2)
    assert first[5:6] == b"\x00" and line[5:8] == b"\x04\x00\x02"  # [0] and [0, 1]

    registry = ConfluentRegistry({"url": stack.registry_url})
    stored = registry.get_schema(wire_schema_id(first))
    assert stored.schema_type == "PROTOBUF" and "message Order {" in stored.schema_str
    assert [(r.name, r.subject) for r in stored.references] == [
        ("sdk_interop/customer.proto", "sdk_interop/customer.proto")
    ]
    assert (
        "message Customer {"
        in registry.get_latest_version("sdk_interop/customer.proto").schema.schema_str
    )

    context = value_context(topic)
    assert (
        ProtobufDeserializer(generated.Order, {"use.deprecated.format": False})(first, context)
        == order
    )
    assert ProtobufDeserializer(generated.Order.Line)(line, context).sku == "b-2"

    # a Confluent serializer with a fresh client finds the same schema id
    serializer = ProtobufSerializer(generated.Order, registry, {"auto.register.schemas": False})
    assert wire_schema_id(serializer(order, context)) == wire_schema_id(first)


def test_the_consumer_decodes_confluent_records_to_dicts(
    stack: Stack, topic: str, generated: ModuleType
) -> None:
    registry = ConfluentRegistry({"url": stack.registry_url})
    payload = ProtobufSerializer(generated.Order, registry)(_order(generated), value_context(topic))
    producer = confluent_kafka.Producer({"bootstrap.servers": stack.bootstrap})
    producer.produce(topic, payload)
    assert producer.flush(30) == 0

    (message,) = _sdk_messages(stack, topic, 1)
    assert message.schema_id == wire_schema_id(payload)
    value = message.value
    assert value["id"] == 42 and value["status"] == "OPEN" and value["card"] == "4111"
    assert value["customer"] == {"name": "Ada", "email": "ada@example.com"}
    assert value["quantities"] == {"apple": 3}
    assert value["lines"] == [{"sku": "a-1", "price": 2.5}]
    assert value["placed_at"].timestamp() == 1_700_000_000
    assert "token" not in value  # the other member of the oneof


def test_a_dict_with_proto_text_round_trips_with_confluent(
    stack: Stack, topic: str, reading_class: Any
) -> None:
    reading = {"sensor": "s-1", "celsius": 21.5, "samples": [1, 2, 3]}
    with Producer(stack.bootstrap, stack.registry_url) as producer:
        producer.produce(topic, reading, schema=STANDALONE)  # recognised as .proto text
        producer.produce(topic, {"sensor": "s-2"}, schema=Schema(STANDALONE, "PROTOBUF"))
    first, second = _raw_values(stack, topic, 2)
    decoded = ProtobufDeserializer(reading_class)(first, value_context(topic))
    assert (decoded.sensor, decoded.celsius, list(decoded.samples)) == ("s-1", 21.5, [1, 2, 3])
    assert [m.value for m in _sdk_messages(stack, topic, 2)] == [
        reading,
        {"sensor": "s-2", "celsius": 0.0, "samples": []},
    ]


def test_a_dict_that_does_not_fit_names_the_field_and_sends_nothing(
    stack: Stack, topic: str
) -> None:
    with Producer(stack.bootstrap, stack.registry_url) as producer:
        with pytest.raises(ValidationError) as wrong_type:
            producer.produce(topic, {"sensor": "s", "samples": [1, "two"]}, schema=STANDALONE)
        assert wrong_type.value.path == "#/samples/1"
        assert "expected an integer" in wrong_type.value.message
        with pytest.raises(ValidationError) as unknown:
            producer.produce(topic, {"sensr": "s"}, schema=STANDALONE)
        assert unknown.value.path == "#/sensr"
        assert len(producer) == 0


def test_client_side_rules_see_the_message_as_the_gate_does(stack: Stack, topic: str) -> None:
    rule = {
        "name": "warm",
        "kind": "CONDITION",
        "mode": "WRITE",
        "type": "CEL",
        "expr": "message.celsius > 0.0 && size(message.samples) > 0",
    }
    body = {"schema": STANDALONE, "schemaType": "PROTOBUF", "ruleSet": {"domainRules": [rule]}}
    answer = requests.post(
        f"{stack.registry_url}/subjects/{topic}-value/versions",
        data=json.dumps(body),
        headers={"Content-Type": CONTENT_TYPE},
        timeout=30,
    )
    assert answer.status_code == 200, answer.text
    stack.settle()
    with Producer(stack.bootstrap, stack.registry_url) as producer:
        producer.produce(topic, {"sensor": "s", "celsius": 3.0, "samples": [1]})  # latest version
        with pytest.raises(ValidationError) as refused:
            producer.produce(topic, {"sensor": "s", "celsius": -3.0, "samples": [1]})
        assert refused.value.rule == "warm"
    assert [m.value["celsius"] for m in _sdk_messages(stack, topic, 1)] == [3.0]
