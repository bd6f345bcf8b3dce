"""Retention and compaction seen by real clients: short topic configs, a 200 ms maintenance interval.

The broker's maintenance task runs every ``log_retention_check_interval_ms``; the
tests wait (with a generous deadline, asserting nothing about time) until the
effect is visible to a consumer reading from the beginning.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    NewTopic,
    ResourceType,
)

DEADLINE_S = 30


def consume_from_beginning(
    bootstrap: str, topic: str
) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record from the log start to the high watermark."""
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": f"{topic}-check", "enable.auto.commit": False}
    )
    try:
        low, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=10)
        records: list[tuple[int, bytes | None, bytes | None]] = []
        if low >= high:
            return records
        consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
        while not records or records[-1][0] < high - 1:
            message = consumer.poll(10)
            assert message is not None, f"stopped at {records[-1:]} before {high}"
            assert message.error() is None, message.error()
            records.append((message.offset(), message.key(), message.value()))
        return records
    finally:
        consumer.close()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    """Until ``condition()``; a read that the maintenance pass raced (the log start moved
    while it was reading, so it failed an assertion) just counts as "not yet"."""
    deadline = time.monotonic() + DEADLINE_S
    while True:
        try:
            if condition():
                return
        except AssertionError:
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture
def fast_broker(broker_factory: Callable[..., Any]) -> Any:
    return broker_factory(log_retention_check_interval_ms=200)


def create(bootstrap: str, name: str, configs: dict[str, str]) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, 1, 1, config=configs)])[name].result(timeout=15)


@pytest.mark.slow
def test_retention_removes_old_records(fast_broker: Any) -> None:
    create(fast_broker.bootstrap, "expiring", {"retention.ms": "1000", "segment.bytes": "2048"})
    producer = Producer({"bootstrap.servers": fast_broker.bootstrap, "linger.ms": 0})
    for i in range(40):
        producer.produce("expiring", value=b"old-%03d-" % i + b"x" * 100)
        assert producer.flush(10) == 0  # one batch per record, so several segments fill up
    wait_for(
        lambda: consume_from_beginning(fast_broker.bootstrap, "expiring") == [],
        "records older than retention.ms to be deleted",
    )
    # Keep what comes next, so a slow consumer cannot race the next maintenance pass.
    admin = AdminClient({"bootstrap.servers": fast_broker.bootstrap})
    keep_forever = ConfigResource(
        ResourceType.TOPIC,
        "expiring",
        incremental_configs=[
            ConfigEntry("retention.ms", "-1", incremental_operation=AlterConfigOpType.SET)
        ],
    )
    admin.incremental_alter_configs([keep_forever])[keep_forever].result(timeout=15)
    producer.produce("expiring", value=b"new")
    assert producer.flush(10) == 0
    [(offset, _, value)] = consume_from_beginning(fast_broker.bootstrap, "expiring")
    assert (offset, value) == (40, b"new")


@pytest.mark.slow
def test_compaction_keeps_the_latest_value_per_key(fast_broker: Any) -> None:
    create(
        fast_broker.bootstrap,
        "latest",
        {
            "cleanup.policy": "compact",
            "segment.bytes": "2048",
            "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.01",
        },
    )
    producer = Producer({"bootstrap.servers": fast_broker.bootstrap, "linger.ms": 0})
    for round_number in range(20):
        for key in range(5):
            producer.produce("latest", key=b"k%d" % key, value=b"v%d-%d" % (key, round_number))
        assert producer.flush(10) == 0
    # Compaction may already have started (200 ms passes); nothing newest may be missing.

    def compacted() -> bool:
        records = consume_from_beginning(fast_broker.bootstrap, "latest")
        return len(records) == 5

    wait_for(compacted, "compaction to keep one record per key")
    records = consume_from_beginning(fast_broker.bootstrap, "latest")
    assert {key: value for _, key, value in records} == {
        b"k%d" % key: b"v%d-19" % key for key in range(5)
    }
    assert [offset for offset, _, _ in records] == [95, 96, 97, 98, 99]
