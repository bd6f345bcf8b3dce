"""Every real client against ``charter up``: metadata listing and the API versions each negotiates.

Regression: librdkafka's flexible "all topics" Metadata v12 request carries
three stale bytes after its body; the broker used to close the connection
("MetadataRequest v12 has 3 trailing bytes"), so ``list_topics()`` failed.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Iterator

import aiokafka
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer, KafkaProducer
from kafka import TopicPartition as KafkaTopicPartition

from tests.charter.kafka_wire import RawClient
from tests.charter.processes import CharterProcess, running_up

_SENT = re.compile(r"Sent (\w+)Request \(v(\d+)")
_RECEIVED = re.compile(r"Received (\w+)Response \(v(\d+)")


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("clients") / "data") as process:
        yield process


def _advertised(charter: CharterProcess) -> dict[int, tuple[int, int]]:
    with RawClient(charter.kafka_port) as client:
        response = client.api_versions()
    assert response.error_code == 0
    return {int(k.api_key): (int(k.min_version), int(k.max_version)) for k in response.api_keys}


class _Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@pytest.fixture
def librdkafka_log() -> Iterator[tuple[logging.Logger, _Captured]]:
    logger = logging.getLogger("e2e.librdkafka")
    handler = _Captured()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    yield logger, handler
    logger.removeHandler(handler)


def test_list_topics_from_admin_producer_and_consumer(charter: CharterProcess) -> None:
    admin = AdminClient({"bootstrap.servers": charter.bootstrap})
    admin.create_topics([NewTopic("listed", 2)])["listed"].result(timeout=20)
    clients = [
        admin,
        Producer({"bootstrap.servers": charter.bootstrap}),
        Consumer({"bootstrap.servers": charter.bootstrap, "group.id": "lister"}),
    ]
    for client in clients:
        metadata = client.list_topics(timeout=20)  # all topics: the Metadata v12 regression
        assert "listed" in metadata.topics
        assert sorted(metadata.topics["listed"].partitions) == [0, 1]
        assert [broker.port for broker in metadata.brokers.values()] == [charter.kafka_port]
    clients[2].close()
    # The broker kept every connection: nothing was closed for trailing bytes.
    assert "trailing bytes" not in charter.output
    assert "closing connection" not in charter.output


def test_librdkafka_negotiated_versions_work_end_to_end(
    charter: CharterProcess, librdkafka_log: tuple[logging.Logger, _Captured]
) -> None:
    logger, captured = librdkafka_log
    config = {"bootstrap.servers": charter.bootstrap, "debug": "protocol", "logger": logger}
    admin = AdminClient(config)
    admin.create_topics([NewTopic("negotiated", 1)])["negotiated"].result(timeout=20)
    admin.list_topics(timeout=20)
    producer = Producer({**config, "enable.idempotence": True, "linger.ms": 0})
    for index in range(5):
        producer.produce("negotiated", key=b"k", value=f"v{index}".encode())
    assert producer.flush(20) == 0
    consumer = Consumer({**config, "group.id": "negotiator", "enable.auto.commit": False})
    consumer.assign([TopicPartition("negotiated", 0, 0)])
    values = []
    while len(values) < 5:
        message = consumer.poll(10)
        assert message is not None, f"only {values} consumed"
        assert message.error() is None, message.error()
        values.append(message.value())
    low, high = consumer.get_watermark_offsets(TopicPartition("negotiated", 0), timeout=10)
    offsets = consumer.offsets_for_times([TopicPartition("negotiated", 0, 0)], timeout=10)
    consumer.close()
    producer.poll(0)
    admin.poll(0)  # logs reach the Python logger when each client is polled
    assert values == [f"v{index}".encode() for index in range(5)]
    assert (low, high) == (0, 5)
    assert offsets[0].offset == 0

    sent = {
        (name, int(version)) for line in captured.messages for name, version in _SENT.findall(line)
    }
    received = {
        (name, int(version))
        for line in captured.messages
        for name, version in _RECEIVED.findall(line)
    }
    names = {name for name, _ in sent}
    assert {"ApiVersion", "Metadata", "CreateTopics", "InitProducerId", "Produce", "Fetch"} <= names
    assert "ListOffsets" in names or "Offset" in names
    # Every request librdkafka sent got its answer in the version it chose.
    assert sent <= received, sent - received
    advertised = _advertised(charter)
    keys = {"Produce": 0, "Fetch": 1, "Metadata": 3, "ApiVersion": 18, "InitProducerId": 22}
    for name, version in sent:
        if name in keys:
            low_version, high_version = advertised[keys[name]]
            assert low_version <= version <= high_version, (name, version)
    assert not [line for line in captured.messages if "Disconnected" in line]


def test_kafka_python_auto_detected_version(charter: CharterProcess) -> None:
    producer = KafkaProducer(bootstrap_servers=charter.bootstrap, acks="all")
    detected = producer.config["api_version"]
    futures = [producer.send("kafka-python-auto", key=b"k", value=b"v%d" % i) for i in range(5)]
    offsets = [future.get(timeout=20).offset for future in futures]
    producer.close()
    assert detected >= (2, 1)  # what ApiVersions implies: Produce v3+, Fetch v4+, ...
    assert offsets == [0, 1, 2, 3, 4]

    consumer = KafkaConsumer(
        bootstrap_servers=charter.bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000
    )
    partition = KafkaTopicPartition("kafka-python-auto", 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    values = []
    for message in consumer:
        values.append(message.value)
        if len(values) == 5:
            break
    assert consumer.end_offsets([partition]) == {partition: 5}
    assert consumer.beginning_offsets([partition]) == {partition: 0}
    assert consumer.offsets_for_times({partition: 0})[partition].offset == 0
    consumer.close()
    assert values == [b"v%d" % i for i in range(5)]


def test_aiokafka_negotiated_versions(charter: CharterProcess) -> None:
    async def run() -> None:
        producer = aiokafka.AIOKafkaProducer(
            bootstrap_servers=charter.bootstrap, enable_idempotence=True
        )
        await producer.start()
        try:
            sent = [
                await producer.send_and_wait("aiokafka-auto", b"v%d" % i, key=b"k")
                for i in range(5)
            ]
        finally:
            await producer.stop()
        assert [metadata.offset for metadata in sent] == [0, 1, 2, 3, 4]
        consumer = aiokafka.AIOKafkaConsumer(
            bootstrap_servers=charter.bootstrap, enable_auto_commit=False
        )
        await consumer.start()
        try:
            partition = aiokafka.TopicPartition("aiokafka-auto", 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            values = []
            while len(values) < 5:
                batch = await consumer.getmany(partition, timeout_ms=5000)
                assert batch, f"only {values} consumed"
                values += [message.value for message in batch[partition]]
            assert values == [b"v%d" % i for i in range(5)]
            assert await consumer.end_offsets([partition]) == {partition: 5}
            found = await consumer.offsets_for_times({partition: 0})
            assert found[partition].offset == 0
            assert set(await consumer.topics()) >= {"aiokafka-auto"}
        finally:
            await consumer.stop()

    asyncio.run(run())
