"""A 3-partition topic on ``charter up``: keyed records from confluent-kafka (murmur2) and
kafka-python land in the partition Java's partitioner picks, in order, with dense offsets."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator

import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaProducer
from kafka.partitioner.default import murmur2

from tests.charter.processes import CharterProcess, running_up

TOPIC = "keyed"
PARTITIONS = 3
KEYS = [f"customer-{index}".encode() for index in range(12)]


def _java_partition(key: bytes) -> int:
    """Kafka's DefaultPartitioner for a keyed record: positive murmur2 modulo partitions."""
    return (murmur2(key) & 0x7FFFFFFF) % PARTITIONS


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("partitions") / "data") as process:
        admin = AdminClient({"bootstrap.servers": process.bootstrap})
        admin.create_topics([NewTopic(TOPIC, PARTITIONS)])[TOPIC].result(timeout=30)
        yield process


def _consume_partition(charter: CharterProcess, partition: int, count: int) -> list[object]:
    consumer = Consumer(
        {
            "bootstrap.servers": charter.bootstrap,
            "group.id": "partition-reader",
            "enable.auto.commit": False,
        }
    )
    consumer.assign([TopicPartition(TOPIC, partition, 0)])
    messages = []
    while len(messages) < count:
        message = consumer.poll(10)
        assert message is not None, f"partition {partition}: {len(messages)} of {count}"
        assert message.error() is None, message.error()
        messages.append(message)
    low, high = consumer.get_watermark_offsets(TopicPartition(TOPIC, partition), timeout=10)
    consumer.close()
    assert (low, high) == (0, count)
    return messages


def test_keyed_records_from_two_clients_share_partitions_in_order(charter: CharterProcess) -> None:
    producer = Producer(
        {
            "bootstrap.servers": charter.bootstrap,
            "partitioner": "murmur2_random",  # Java-compatible for keyed records
            "enable.idempotence": True,
            "linger.ms": 5,
        }
    )
    delivered: list[tuple[bytes, int, int]] = []

    def on_delivery(error: object, message: object) -> None:
        assert error is None, error
        delivered.append((message.key(), message.partition(), message.offset()))  # type: ignore[attr-defined]

    expected: dict[int, list[tuple[bytes, bytes]]] = defaultdict(list)
    for round_index in range(3):
        for key in KEYS:
            value = b"confluent-%d-" % round_index + key
            producer.produce(TOPIC, key=key, value=value, on_delivery=on_delivery)
            expected[_java_partition(key)].append((key, value))
    assert producer.flush(20) == 0
    assert {partition for _, partition, _ in delivered} == set(range(PARTITIONS))
    assert all(partition == _java_partition(key) for key, partition, _ in delivered)

    kafka_python = KafkaProducer(bootstrap_servers=charter.bootstrap, acks="all", linger_ms=5)
    futures = []
    for key in KEYS:
        value = b"kafka-python-" + key
        futures.append((key, kafka_python.send(TOPIC, key=key, value=value)))
        expected[_java_partition(key)].append((key, value))
    for key, future in futures:
        metadata = future.get(timeout=20)
        assert metadata.partition == _java_partition(key)
    kafka_python.close()

    for partition in range(PARTITIONS):
        wanted = expected[partition]
        messages = _consume_partition(charter, partition, len(wanted))
        assert [message.offset() for message in messages] == list(range(len(wanted)))
        # Per-key order is the send order; the confluent rounds come before kafka-python's.
        assert [(message.key(), message.value()) for message in messages] == wanted
