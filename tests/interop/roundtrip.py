"""Records produced as one user and read back as another, with confluent-kafka, kafka-python
or aiokafka.

The security interop tests (SASL_PLAINTEXT, SASL_SSL, SSL with client
certificates) differ only in the client configs: ``config``, ``writer`` and
``reader`` are the clients' settings (confluent-kafka's include
``bootstrap.servers``).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

VALUES = [b"v0", b"v1", b"v2"]


def confluent_produce(config: dict[str, Any], topic: str, count: int) -> list[Any]:
    """``v0``, ``v1``, … sent with confluent-kafka; each delivery's error (None: delivered)."""
    producer = Producer({"linger.ms": 5, "message.timeout.ms": 20000, **config})
    results: list[Any] = []
    for index in range(count):
        producer.produce(topic, value=b"v%d" % index, on_delivery=lambda e, m: results.append(e))
    producer.flush(30)
    return results


def confluent_consume(config: dict[str, Any], topic: str, count: int, group: str) -> list[Any]:
    """Up to ``count`` values of partition 0 from its start (30 s at most), or ``[error]``
    for the first error other than end-of-partition."""
    consumer = Consumer({"group.id": group, "enable.auto.commit": False, **config})
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values: list[Any] = []
    deadline = time.monotonic() + 30
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                return [message.error()]
            values.append(message.value())
    finally:
        consumer.close()
    return values


def kafka_python_round_trip(
    topic: str, writer: dict[str, Any], reader: dict[str, Any]
) -> list[bytes]:
    """``VALUES`` sent to partition 0 with ``writer``; what ``reader`` reads from its start."""
    from kafka import KafkaConsumer, KafkaProducer, TopicPartition

    producer = KafkaProducer(**writer)
    for value in VALUES:
        producer.send(topic, value).get(timeout=30)
    producer.close()
    consumer = KafkaConsumer(**reader, enable_auto_commit=False, consumer_timeout_ms=10000)
    partition = TopicPartition(topic, 0)
    consumer.assign([partition])
    consumer.seek_to_beginning(partition)
    values = [message.value for _, message in zip(VALUES, consumer, strict=False)]
    consumer.close()
    return values


def aiokafka_round_trip(topic: str, writer: dict[str, Any], reader: dict[str, Any]) -> list[bytes]:
    """As ``kafka_python_round_trip``, with aiokafka."""
    from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

    async def run() -> list[bytes]:
        producer = AIOKafkaProducer(**writer)
        await producer.start()
        try:
            for value in VALUES:
                await producer.send_and_wait(topic, value)
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(**reader, enable_auto_commit=False)
        await consumer.start()
        try:
            partition = TopicPartition(topic, 0)
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            values: list[bytes] = []
            while len(values) < len(VALUES):
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=1000), 30)
                values += [message.value for messages in batch.values() for message in messages]
            return values
        finally:
            await consumer.stop()

    return asyncio.run(run())
