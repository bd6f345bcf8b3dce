"""kafka-python 3.x against the broker: KafkaProducer / KafkaConsumer with manual assignment."""

from __future__ import annotations

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors

from tests.broker.conftest import RunningBroker

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


def _consume(broker: RunningBroker, topic: str, count: int, partition: int = 0) -> list:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        consumer_timeout_ms=10_000,
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    try:
        consumer.assign([TopicPartition(topic, partition)])
        consumer.seek_to_beginning()
        records = []
        for record in consumer:
            records.append(record)
            if len(records) >= count:
                break
        return records
    finally:
        consumer.close()


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_every_acks_mode(broker: RunningBroker, acks: object) -> None:
    topic = f"kp-acks-{acks}"
    broker.create_topic(topic)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=acks)
    futures = [producer.send(topic, key=b"k", value=b"v%d" % i) for i in range(30)]
    producer.flush(30)
    metadata = [future.get(timeout=10) for future in futures]
    producer.close()
    if acks != 0:
        assert [m.offset for m in metadata] == list(range(30))
    assert [r.value for r in _consume(broker, topic, 30)] == [b"v%d" % i for i in range(30)]


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec(broker: RunningBroker, codec: str | None) -> None:
    topic = f"kp-codec-{codec}"
    producer = KafkaProducer(
        bootstrap_servers=broker.bootstrap,
        compression_type=codec,
        enable_idempotence=True,
        acks="all",
    )
    values = [(b"%04d" % i) * 100 for i in range(100)]
    for value in values:
        producer.send(topic, value=value)
    producer.flush(30)
    producer.close()
    assert [r.value for r in _consume(broker, topic, 100)] == values


def test_large_records_and_offsets(broker: RunningBroker) -> None:
    broker.create_topic("kp-large")
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, max_request_size=2_000_000)
    values = [bytes([65 + i]) * 900_000 for i in range(2)]
    for value in values:
        producer.send("kp-large", value=value, timestamp_ms=1_700_000_000_000)
    producer.flush(30)
    producer.close()
    assert [r.value for r in _consume(broker, "kp-large", 2)] == values
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
    try:
        partition = TopicPartition("kp-large", 0)
        assert consumer.beginning_offsets([partition]) == {partition: 0}
        assert consumer.end_offsets([partition]) == {partition: 2}
        found = consumer.offsets_for_times({partition: 1_699_999_999_000})
        assert found[partition].offset == 0
    finally:
        consumer.close()


def test_acks_all_needs_min_insync_replicas(broker: RunningBroker) -> None:
    broker.create_topic("isr", **{"min.insync.replicas": "2"})
    strict = KafkaProducer(bootstrap_servers=broker.bootstrap, acks="all", retries=0)
    relaxed = KafkaProducer(bootstrap_servers=broker.bootstrap, acks=1)
    try:
        with pytest.raises(kafka_errors.NotEnoughReplicasError):
            strict.send("isr", b"x").get(timeout=15)
        assert relaxed.send("isr", b"y").get(timeout=15).offset == 0
    finally:
        strict.close()
        relaxed.close()
