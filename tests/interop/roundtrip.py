"""Three records produced as one user and read back as another, with kafka-python or aiokafka.

The security interop tests (SASL_PLAINTEXT, SASL_SSL, SSL with client
certificates) differ only in the client configs; ``writer`` and ``reader`` are
those clients' keyword arguments.
"""

from __future__ import annotations

import asyncio
from typing import Any

VALUES = [b"v0", b"v1", b"v2"]


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
