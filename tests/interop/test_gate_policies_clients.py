"""Broker-side policies through real clients, and the gate's rejections as kafka-python and
aiokafka see them (the same INVALID_RECORD the confluent-kafka tests see)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError as AioKafkaError
from confluent_kafka import Consumer, KafkaError, KafkaException, Producer, TopicPartition
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewTopic,
)
from kafka import KafkaProducer
from kafka.errors import InvalidRecordError

from tests.governance.records import ORDER, order
from tests.governance.stack import Stack, start_stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(tmp_path / "data")
    yield running
    running.stop()


def _create(stack: Stack, name: str, **configs: str) -> KafkaError | None:
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    futures = admin.create_topics([NewTopic(name, 1, 1, config=configs)], request_timeout=15)
    try:
        futures[name].result(30)
    except KafkaException as exc:
        return exc.args[0]
    return None


def test_topic_naming_denies_create_topics_with_policy_violation(stack: Stack) -> None:
    assert stack.put_policy("topic-naming", params={"pattern": r"[a-z]+\.[a-z]+"}).ok
    assert _create(stack, "sales.orders") is None
    error = _create(stack, "BadName")
    assert error is not None and error.code() == KafkaError.POLICY_VIOLATION
    assert "policy topic-naming" in error.str()
    entries = stack.wait_audit(action="topic.create", resource="topic:BadName")
    assert entries[0]["outcome"] == "denied"


def test_retention_limits_on_create_and_alter(stack: Stack) -> None:
    assert stack.put_policy("retention-limits", params={"max_retention_ms": 3_600_000}).ok
    assert _create(stack, "short", **{"retention.ms": "60000"}) is None
    too_long = _create(stack, "long", **{"retention.ms": "-1"})
    assert too_long is not None and too_long.code() == KafkaError.POLICY_VIOLATION
    default = _create(stack, "defaulted")  # Kafka's default of 7 days is too long too
    assert default is not None and default.code() == KafkaError.POLICY_VIOLATION

    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    entry = ConfigEntry("retention.ms", "86400000", incremental_operation=AlterConfigOpType.SET)
    resource = ConfigResource("topic", "short", incremental_configs=[entry])
    with pytest.raises(KafkaException) as raised:
        admin.incremental_alter_configs([resource])[resource].result(30)
    assert raised.value.args[0].code() == KafkaError.POLICY_VIOLATION
    stack.wait_audit(action="topic.config", resource="topic:short")


def _alter(admin: AdminClient, resource: ConfigResource, *, incremental: bool) -> KafkaError | None:
    call = admin.incremental_alter_configs if incremental else admin.alter_configs
    try:
        call([resource])[resource].result(30)
    except KafkaException as exc:
        return exc.args[0]
    return None


def test_retention_limits_when_a_change_falls_back_to_the_default(stack: Stack) -> None:
    """Deleting retention.ms (or leaving it out of a legacy AlterConfigs) reverts the topic to
    the broker's default of 7 days: above a 1 hour limit, so refused."""
    assert stack.put_policy("retention-limits", params={"max_retention_ms": 3_600_000}).ok
    assert _create(stack, "kept", **{"retention.ms": "60000"}) is None
    admin = AdminClient({"bootstrap.servers": stack.bootstrap})
    deleted = ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE)
    resource = ConfigResource("topic", "kept", incremental_configs=[deleted])
    error = _alter(admin, resource, incremental=True)
    assert error is not None and error.code() == KafkaError.POLICY_VIOLATION
    assert "policy retention-limits" in error.str() and "604800000 ms" in error.str()
    assert "retention.ms is not set" in error.str()
    # Legacy AlterConfigs replaces every override: without retention.ms, the default applies.
    replaced = ConfigResource("topic", "kept", set_config={"cleanup.policy": "delete"})
    error = _alter(admin, replaced, incremental=False)
    assert error is not None and error.code() == KafkaError.POLICY_VIOLATION
    kept = ConfigResource("topic", "kept", set_config={"retention.ms": "1000"})
    assert _alter(admin, kept, incremental=False) is None
    described = admin.describe_configs([ConfigResource("topic", "kept")])
    configs = next(iter(described.values())).result(30)
    assert configs["retention.ms"].value == "1000"


def test_retention_limits_read_the_brokers_configured_default(tmp_path: Path) -> None:
    """A broker whose log.retention.ms is 1 hour: a topic without retention.ms keeps data for
    an hour, so a 1 day limit allows it and a 30 minute limit refuses it."""
    running = start_stack(tmp_path / "data", log_retention_ms=3_600_000)
    try:
        assert running.put_policy("retention-limits", params={"max_retention_ms": 86_400_000}).ok
        assert _create(running, "hourly") is None
        admin = AdminClient({"bootstrap.servers": running.bootstrap})
        described = admin.describe_configs([ConfigResource("topic", "hourly")])
        entry = next(iter(described.values())).result(30)["retention.ms"]
        assert entry.value == "3600000"
        assert entry.source == ConfigSource.STATIC_BROKER_CONFIG.value
        assert running.put_policy("retention-limits", params={"max_retention_ms": 1_800_000}).ok
        error = _create(running, "hourly2")
        assert error is not None and error.code() == KafkaError.POLICY_VIOLATION
        assert "3600000 ms" in error.str() and "log.retention.ms" in error.str()
        assert _create(running, "short", **{"retention.ms": "600000"}) is None
    finally:
        running.stop()


def test_max_record_bytes_in_the_gate_even_without_schema_validation(stack: Stack) -> None:
    stack.create_topic("blobs", charter__value__schema__validation="none")
    assert stack.put_policy("max-record-bytes", params={"max_bytes": 100}).ok
    producer = Producer({"bootstrap.servers": stack.bootstrap, "retries": 0})
    results: list[KafkaError | None] = []
    for value in (b"x" * 50, b"x" * 500):
        producer.produce("blobs", value=value, on_delivery=lambda e, m: results.append(e))
        assert producer.flush(30) == 0
    assert results[0] is None
    assert results[1] is not None and results[1].code() == KafkaError.INVALID_RECORD
    entries = stack.wait_audit(action="produce", resource="topic:blobs")
    assert "policy max-record-bytes" in entries[0]["detail"]
    assert stack.put_policy("max-record-bytes", enabled=False).ok
    producer.produce("blobs", value=b"x" * 500, on_delivery=lambda e, m: results.append(e))
    assert producer.flush(30) == 0
    assert results[2] is None


def test_kafka_python_sees_the_rejection(stack: Stack) -> None:
    stack.create_topic("kp")
    schema_id = stack.schema_id("kp-value", ORDER)
    producer = KafkaProducer(bootstrap_servers=stack.bootstrap, retries=0)
    try:
        producer.send("kp", order(schema_id)).get(timeout=30)
        with pytest.raises(InvalidRecordError):
            producer.send("kp", b"unframed").get(timeout=30)
        with pytest.raises(InvalidRecordError):
            producer.send("kp", order(schema_id + 7)).get(timeout=30)
    finally:
        producer.close(timeout=10)


def test_aiokafka_sees_the_rejection(stack: Stack) -> None:
    stack.create_topic("aio")
    schema_id = stack.schema_id("aio-value", ORDER)

    async def run() -> list[str]:
        producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap)
        await producer.start()
        failures = []
        try:
            await producer.send_and_wait("aio", order(schema_id))
            for value in (b"unframed", order(schema_id)[:-2]):
                try:
                    await producer.send_and_wait("aio", value)
                except AioKafkaError as error:
                    failures.append(str(error))
        finally:
            await producer.stop()
        return failures

    # aiokafka 0.1x has no class for INVALID_RECORD (87): it raises UnknownError
    assert asyncio.run(run()) == ["[Error -1] UnknownError"] * 2
    consumer = Consumer({"bootstrap.servers": stack.bootstrap, "group.id": "unused"})
    try:  # only the valid record landed
        assert consumer.get_watermark_offsets(TopicPartition("aio", 0), timeout=10)[1] == 1
    finally:
        consumer.close()
