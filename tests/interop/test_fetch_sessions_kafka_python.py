"""Incremental fetch sessions (KIP-227) as kafka-python uses them (librdkafka and aiokafka do not
implement KIP-227: they always send sessionless full fetches, which stay supported)."""

from __future__ import annotations

import time

from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from ..broker.conftest import RunningBroker


def test_consumer_of_many_partitions_fetches_incrementally(broker: RunningBroker) -> None:
    broker.create_topic("many", 24)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, linger_ms=5)
    for i in range(240):
        producer.send("many", value=f"v{i}".encode(), partition=i % 24)
    producer.flush(30)
    producer.close()
    assert broker.app.server is not None
    sessions = broker.app.server.broker.fetch_sessions
    full_before, incremental_before = sessions.full_fetches, sessions.incremental_fetches
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        enable_auto_commit=False,
        fetch_max_wait_ms=50,
        consumer_timeout_ms=30000,
    )
    consumer.assign([TopicPartition("many", p) for p in range(24)])
    consumer.seek_to_beginning()
    seen: list[bytes] = []
    deadline = time.monotonic() + 30
    while len(seen) < 240 and time.monotonic() < deadline:
        for records in consumer.poll(timeout_ms=200).values():
            seen.extend(record.value for record in records)
    idle_until = time.monotonic() + 1.5
    while time.monotonic() < idle_until:
        assert not consumer.poll(timeout_ms=100)
    consumer.close()
    assert sorted(seen) == sorted(f"v{i}".encode() for i in range(240))
    full = sessions.full_fetches - full_before
    incremental = sessions.incremental_fetches - incremental_before
    assert full >= 1 and incremental > 5 * full, (full, incremental)
    assert len(sessions) >= 1
