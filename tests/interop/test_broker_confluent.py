"""confluent-kafka (librdkafka 2.x) against the broker: produce/consume every acks mode and codec."""

from __future__ import annotations

import time

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    OFFSET_END,
    Consumer,
    KafkaError,
    Producer,
    TopicPartition,
)

from tests.broker.conftest import RunningBroker

CODECS = ["none", "gzip", "snappy", "lz4", "zstd"]


def _produce(broker: RunningBroker, topic: str, values: list[bytes], **config: object) -> list[int]:
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 5, **config})
    reports: list[tuple[object, int]] = []
    for index, value in enumerate(values):
        producer.produce(
            topic,
            key=b"k%d" % index,
            value=value,
            headers=[("h", b"%d" % index)],
            on_delivery=lambda err, msg: reports.append((err, msg.offset())),
        )
        producer.poll(0)
    assert producer.flush(30) == 0
    assert all(err is None for err, _ in reports), reports[:3]
    return [offset for _, offset in reports]


def _consume(
    broker: RunningBroker, topic: str, count: int, start: int = OFFSET_BEGINNING, partition: int = 0
):
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused",  # required by the client; assign() never joins a group
            "enable.auto.commit": False,
            "fetch.message.max.bytes": 2 * 1024 * 1024,
        }
    )
    consumer.assign([TopicPartition(topic, partition, start)])
    messages = []
    deadline = time.monotonic() + 30
    try:
        while len(messages) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
                continue
            messages.append(message)
    finally:
        consumer.close()
    return messages


@pytest.mark.parametrize("acks", ["0", "1", "all"])
def test_every_acks_mode(broker: RunningBroker, acks: str) -> None:
    topic = f"acks-{acks}"
    broker.create_topic(topic)
    values = [b"value-%d" % i for i in range(50)]
    offsets = _produce(broker, topic, values, acks=acks)
    if acks != "0":
        assert offsets == list(range(50))
    messages = _consume(broker, topic, 50)
    assert [m.value() for m in messages] == values
    assert [m.key() for m in messages] == [b"k%d" % i for i in range(50)]
    assert messages[7].headers() == [("h", b"7")]


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec_with_idempotence(broker: RunningBroker, codec: str) -> None:
    topic = f"codec-{codec}"
    values = [(b"%05d-" % i) * 40 for i in range(200)]
    offsets = _produce(
        broker, topic, values, **{"compression.type": codec, "enable.idempotence": True}
    )
    assert offsets == list(range(200))  # topic auto-created by Metadata
    assert [m.value() for m in _consume(broker, topic, 200)] == values


def test_large_records(broker: RunningBroker) -> None:
    broker.create_topic("large")
    values = [bytes([i]) * 900_000 for i in range(3)]
    _produce(broker, "large", values, **{"message.max.bytes": 1_000_000})
    assert [m.value() for m in _consume(broker, "large", 3)] == values


def test_list_offsets_earliest_latest_and_by_time(broker: RunningBroker) -> None:
    broker.create_topic("times")
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    base = 1_700_000_000_000
    for index in range(10):
        producer.produce("times", value=b"x", timestamp=base + index * 1000)
    producer.flush(30)
    consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition("times", 0), timeout=10)
        assert (low, high) == (0, 10)
        found = consumer.offsets_for_times([TopicPartition("times", 0, base + 4500)], timeout=10)
        assert found[0].offset == 5
        past = consumer.offsets_for_times([TopicPartition("times", 0, base + 99_000)], timeout=10)
        assert past[0].offset == OFFSET_END
    finally:
        consumer.close()


def test_consume_from_the_middle_and_unknown_topic(broker: RunningBroker) -> None:
    broker.create_topic("middle", partitions=2)
    _produce(broker, "middle", [b"%d" % i for i in range(20)], partitioner="murmur2_random")
    total = 0
    for partition in (0, 1):
        consumer = Consumer({"bootstrap.servers": broker.bootstrap, "group.id": "unused"})
        low, high = consumer.get_watermark_offsets(TopicPartition("middle", partition), timeout=10)
        consumer.close()
        total += high - low
    assert total == 20


def test_acks_all_needs_min_insync_replicas(broker: RunningBroker) -> None:
    """One broker is one in-sync replica: min.insync.replicas=2 refuses acks=all with
    NOT_ENOUGH_REPLICAS (acks=1 is unaffected), as Kafka's leader does."""
    broker.create_topic("isr", **{"min.insync.replicas": "2"})

    def deliver(acks: str) -> KafkaError | None:
        producer = Producer(
            {"bootstrap.servers": broker.bootstrap, "acks": acks, "retries": 0, "linger.ms": 0}
        )
        errors: list[KafkaError | None] = []
        producer.produce("isr", value=b"x", on_delivery=lambda err, msg: errors.append(err))
        assert producer.flush(30) == 0
        return errors[0]

    refused = deliver("all")
    assert refused is not None and refused.code() == KafkaError.NOT_ENOUGH_REPLICAS
    assert deliver("1") is None
    topics = broker.app.topics
    assert topics is not None
    broker.call(lambda: topics.alter_configs("isr", {"min.insync.replicas": "1"}))
    assert deliver("all") is None


@pytest.mark.parametrize(
    ("config", "offset_s"),
    [
        ({"message.timestamp.before.max.ms": "60000"}, -3600),
        ({"message.timestamp.after.max.ms": "60000"}, 3600),
        ({"message.timestamp.difference.max.ms": "60000"}, 3600),
    ],
)
def test_create_time_out_of_range_is_invalid_timestamp(
    broker: RunningBroker, config: dict[str, str], offset_s: int
) -> None:
    broker.create_topic("bounded", **config)
    producer = Producer({"bootstrap.servers": broker.bootstrap, "linger.ms": 0})
    errors: list[KafkaError | None] = []
    now_ms = int(time.time() * 1000)
    for timestamp in (now_ms + offset_s * 1000, now_ms):
        producer.produce(
            "bounded", value=b"x", timestamp=timestamp, on_delivery=lambda e, m: errors.append(e)
        )
        assert producer.flush(30) == 0
    refused, accepted = errors
    assert refused is not None and refused.code() == KafkaError.INVALID_TIMESTAMP
    assert accepted is None


def test_no_auto_creation_answers_unknown_topic(broker_factory) -> None:
    """auto.create.topics.enable=false: Metadata answers UNKNOWN_TOPIC_OR_PARTITION, the
    producer's delivery fails with it, and no topic appears."""
    strict = broker_factory(auto_create_topics=False)
    producer = Producer(
        {"bootstrap.servers": strict.bootstrap, "topic.metadata.propagation.max.ms": 500}
    )
    errors: list[KafkaError | None] = []
    producer.produce("never-made", value=b"x", on_delivery=lambda err, msg: errors.append(err))
    assert producer.flush(30) == 0
    [error] = errors
    assert error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART
    topics = strict.app.topics
    assert topics is not None and strict.call(lambda: topics.get("never-made")) is None
