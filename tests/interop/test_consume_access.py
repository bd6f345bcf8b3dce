"""The ``consume-access`` policy at the broker's Fetch door, through real consumers: a topic
whose schema has a PII-tagged field (or that matches a restricted pattern) is read only by the
listed principals; others get TOPIC_AUTHORIZATION_FAILED, and each denial is audited."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaPythonPartition
from kafka.errors import TopicAuthorizationFailedError

from tests.governance.records import ORDER, avro, framed, order
from tests.governance.stack import Stack, start_stack

pytestmark = pytest.mark.slow

PERSON = {
    "type": "record",
    "name": "Person",
    "namespace": "hr",
    "fields": [
        {"name": "name", "type": "string"},
        {"name": "ssn", "type": "string", "confluent:tags": ["PII"]},
    ],
}


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(tmp_path / "data")
    yield running
    running.stop()


def _seed(stack: Stack) -> None:
    stack.create_topic("people")
    stack.create_topic("orders")
    person_id = stack.schema_id("people-value", PERSON)
    order_id = stack.schema_id("orders-value", ORDER)
    producer = Producer({"bootstrap.servers": stack.bootstrap})
    producer.produce("people", framed(person_id, avro(PERSON, {"name": "A", "ssn": "1"})))
    producer.produce("orders", order(order_id))
    assert producer.flush(30) == 0


def _read(stack: Stack, topic: str) -> Any:
    """The first record of ``topic`` or the consumer error it gets (confluent-kafka)."""
    consumer = Consumer(
        {
            "bootstrap.servers": stack.bootstrap,
            "group.id": f"g-{topic}",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition(topic, 0, 0)])
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            return message.error() if message.error() else message.value()
        raise AssertionError(f"nothing read from {topic}")
    finally:
        consumer.close()


def test_pii_topics_are_read_only_by_the_listed_principals(stack: Stack) -> None:
    _seed(stack)
    assert _read(stack, "people") is not None  # the policy is off: anyone reads
    assert stack.put_policy("consume-access", params={"principals": ["User:analyst"]}).ok

    denied = _read(stack, "people")
    assert isinstance(denied, KafkaError)
    assert denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    assert isinstance(_read(stack, "orders"), bytes)  # no PII field: open

    (entry, *_) = stack.wait_audit(action="topic.consume", resource="topic:people")
    assert entry["outcome"] == "denied" and entry["actor"] == "User:ANONYMOUS"
    assert "policy consume-access" in entry["detail"]
    assert "its schema field hr.Person.ssn is tagged PII" in entry["detail"]

    # a prefix lets a family of principals in
    assert stack.put_policy("consume-access", params={"principals": ["User:ANON*"]}).ok
    assert isinstance(_read(stack, "people"), bytes)


def test_restricted_topic_patterns_and_kafka_python(stack: Stack) -> None:
    _seed(stack)
    params = {"principals": ["User:analyst"], "tag": "SECRET", "topics": ["ord*"]}
    assert stack.put_policy("consume-access", params=params).ok
    assert isinstance(_read(stack, "people"), bytes)  # no SECRET field
    denied = _read(stack, "orders")
    assert isinstance(denied, KafkaError)
    assert denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED

    consumer = KafkaConsumer(bootstrap_servers=stack.bootstrap, consumer_timeout_ms=10_000)
    try:
        consumer.assign([KafkaPythonPartition("orders", 0)])
        consumer.seek(KafkaPythonPartition("orders", 0), 0)
        with pytest.raises(TopicAuthorizationFailedError):
            consumer.poll(timeout_ms=10_000)
            consumer.poll(timeout_ms=10_000)
    finally:
        consumer.close()
    entries = stack.wait_audit(action="topic.consume", resource="topic:orders")
    assert "matches the restricted pattern 'ord*'" in entries[0]["detail"]
