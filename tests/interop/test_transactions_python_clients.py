"""Transactional producers and read_committed consumers of kafka-python and aiokafka."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition as AioTopicPartition
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka import errors as kafka_errors

from ..broker.conftest import RunningBroker


def _kafka_python_values(broker: RunningBroker, topic: str, isolation: str) -> list[bytes]:
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        enable_auto_commit=False,
        isolation_level=isolation,
        consumer_timeout_ms=3000,
    )
    consumer.assign([TopicPartition(topic, 0)])
    consumer.seek_to_beginning()
    values = [record.value for record in consumer]
    consumer.close()
    return values


def test_kafka_python_transactions(broker: RunningBroker) -> None:
    broker.create_topic("kp", 1)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-tx")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("kp", b"kept-1")
    producer.send("kp", b"kept-2")
    producer.commit_transaction()
    producer.begin_transaction()
    producer.send("kp", b"dropped")
    producer.flush()
    producer.abort_transaction()
    producer.begin_transaction()
    producer.send("kp", b"kept-3")
    producer.commit_transaction()
    producer.close()
    assert _kafka_python_values(broker, "kp", "read_committed") == [b"kept-1", b"kept-2", b"kept-3"]
    assert b"dropped" in _kafka_python_values(broker, "kp", "read_uncommitted")


def test_aiokafka_transactions(broker: RunningBroker) -> None:
    broker.create_topic("aio", 1)

    async def scenario() -> tuple[list[bytes], list[bytes]]:
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="aio-tx")
        await producer.start()
        try:
            async with producer.transaction():
                await producer.send_and_wait("aio", b"kept-1")
            try:
                async with producer.transaction():
                    await producer.send_and_wait("aio", b"dropped")
                    raise RuntimeError("abort this one")
            except RuntimeError:
                pass
            async with producer.transaction():
                await producer.send_and_wait("aio", b"kept-2")
        finally:
            await producer.stop()
        seen = {}
        for isolation in ("read_committed", "read_uncommitted"):
            consumer = AIOKafkaConsumer(
                bootstrap_servers=broker.bootstrap,
                enable_auto_commit=False,
                isolation_level=isolation,
            )
            await consumer.start()
            try:
                partition = AioTopicPartition("aio", 0)
                consumer.assign([partition])
                await consumer.seek_to_beginning(partition)
                end = (await consumer.end_offsets([partition]))[partition]
                values = []
                while await consumer.position(partition) < end:
                    batch = await consumer.getmany(timeout_ms=1000)
                    values += [r.value for records in batch.values() for r in records]
                seen[isolation] = values
            finally:
                await consumer.stop()
        return seen["read_committed"], seen["read_uncommitted"]

    committed, uncommitted = asyncio.run(scenario())
    assert committed == [b"kept-1", b"kept-2"]
    assert b"dropped" in uncommitted


def test_kafka_python_read_committed_committed_waits_for_the_transaction(
    broker: RunningBroker,
) -> None:
    """kafka-python sends OffsetFetch require_stable for read_committed and retries on
    UNSTABLE_OFFSET_COMMIT: ``committed()`` answers the transaction's offset once it commits."""
    broker.create_topic("kp-src", 1)
    broker.create_topic("kp-out", 1)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-stable")
    producer.init_transactions()
    producer.begin_transaction()
    producer.send("kp-out", b"derived")
    producer.send_offsets_to_transaction(
        {TopicPartition("kp-src", 0): OffsetAndMetadata(7, "", -1)}, "kp-group"
    )
    producer.flush()
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap,
        group_id="kp-group",
        enable_auto_commit=False,
        isolation_level="read_committed",
    )
    answers: list[int | None] = []
    waiter = threading.Thread(
        target=lambda: answers.append(consumer.committed(TopicPartition("kp-src", 0)))
    )
    waiter.start()
    time.sleep(1.5)  # let its OffsetFetch reach the broker and be told to retry
    producer.commit_transaction()
    waiter.join(60)
    consumer.close()
    producer.close()
    assert answers == [7]  # not None ("no offset"): it waited for the transaction


def test_kafka_python_describe_producers(broker: RunningBroker) -> None:
    broker.create_topic("described", 1)
    idempotent = KafkaProducer(bootstrap_servers=broker.bootstrap, enable_idempotence=True)
    for index in range(3):
        idempotent.send("described", b"i%d" % index, timestamp_ms=1_900_000_000_000 + index)
    idempotent.flush()
    transactional = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="desc-tx")
    transactional.init_transactions()
    transactional.begin_transaction()
    transactional.send("described", b"open")
    transactional.flush()  # offset 3, its transaction still open
    admin = KafkaAdminClient(bootstrap_servers=broker.bootstrap)
    try:
        partition = TopicPartition("described", 0)
        [state] = admin.describe_producers([partition]).values()
        by_txn = {p.current_transaction_start_offset: p for p in state.active_producers}
        assert set(by_txn) == {-1, 3}
        assert by_txn[-1].last_sequence == 2
        assert by_txn[-1].last_timestamp == 1_900_000_000_002
        assert by_txn[3].last_sequence == 0
        with pytest.raises(kafka_errors.UnknownTopicOrPartitionError):
            admin.describe_producers([TopicPartition("described", 5)], broker_id=0)
    finally:
        admin.close()
        transactional.abort_transaction()
        transactional.close()
        idempotent.close()


def test_kafka_python_consume_transform_produce_with_group_metadata(
    broker: RunningBroker,
) -> None:
    """send_offsets_to_transaction with the consumer's group metadata (member id and
    generation, TxnOffsetCommit v3): the group's offsets advance with each commit."""
    broker.create_topic("kp-in", 2)
    broker.create_topic("kp-derived", 1)
    seed = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for index in range(10):
        seed.send("kp-in", b"%d" % index, partition=index % 2)
    seed.close()
    consumer = KafkaConsumer(
        "kp-in",
        bootstrap_servers=broker.bootstrap,
        group_id="kp-eos",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
    )
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap, transactional_id="kp-eos-tx")
    producer.init_transactions()
    transformed = 0
    deadline = time.monotonic() + 30
    while transformed < 10 and time.monotonic() < deadline:
        batch = consumer.poll(500)
        if not batch:
            continue
        producer.begin_transaction()
        offsets = {}
        for partition, records in batch.items():
            for record in records:
                producer.send("kp-derived", record.value * 2)
                transformed += 1
            offsets[partition] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
        producer.send_offsets_to_transaction(offsets, consumer.group_metadata())
        producer.commit_transaction()
    committed = {p: consumer.committed(TopicPartition("kp-in", p)) for p in (0, 1)}
    consumer.close()
    producer.close()
    assert committed == {0: 5, 1: 5}
    assert sorted(_kafka_python_values(broker, "kp-derived", "read_committed")) == sorted(
        b"%d" % index * 2 for index in range(10)
    )
