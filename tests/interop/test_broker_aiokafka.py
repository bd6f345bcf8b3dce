"""aiokafka 0.14 against the broker: AIOKafkaProducer / AIOKafkaConsumer without a group."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from tests.broker.conftest import RunningBroker

CODECS = [None, "gzip", "snappy", "lz4", "zstd"]


async def _produce(bootstrap: str, topic: str, values: list[bytes], **config: object) -> list[int]:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, **config)
    await producer.start()
    try:
        futures = [await producer.send(topic, value=value, key=b"k") for value in values]
        results = [await future for future in futures]
    finally:
        await producer.stop()
    return [result.offset if result is not None else -1 for result in results]  # None for acks=0


async def _consume(bootstrap: str, topic: str, count: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=2 * 1024 * 1024,
    )
    await consumer.start()
    try:
        partition = TopicPartition(topic, 0)
        consumer.assign([partition])
        await consumer.seek_to_beginning(partition)
        values: list[bytes] = []
        async with asyncio.timeout(20):
            while len(values) < count:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    values.extend(record.value for record in records)
        return values
    finally:
        await consumer.stop()


@pytest.mark.parametrize("acks", [0, 1, "all"])
def test_every_acks_mode(broker: RunningBroker, acks: object) -> None:
    topic = f"aio-acks-{acks}"
    broker.create_topic(topic)
    values = [b"v%d" % i for i in range(30)]
    offsets = asyncio.run(_produce(broker.bootstrap, topic, values, acks=acks))
    if acks != 0:
        assert offsets == list(range(30))
    assert asyncio.run(_consume(broker.bootstrap, topic, 30)) == values


@pytest.mark.parametrize("codec", CODECS)
def test_every_codec_idempotent(broker: RunningBroker, codec: str | None) -> None:
    topic = f"aio-codec-{codec}"
    values = [(b"%04d" % i) * 100 for i in range(100)]
    offsets = asyncio.run(
        _produce(broker.bootstrap, topic, values, compression_type=codec, enable_idempotence=True)
    )
    assert offsets == list(range(100))
    assert asyncio.run(_consume(broker.bootstrap, topic, 100)) == values


def test_large_records_and_offsets(broker: RunningBroker) -> None:
    broker.create_topic("aio-large")
    values = [bytes([97 + i]) * 900_000 for i in range(2)]
    asyncio.run(_produce(broker.bootstrap, "aio-large", values, max_request_size=2_000_000))
    assert asyncio.run(_consume(broker.bootstrap, "aio-large", 2)) == values

    async def offsets() -> tuple[dict, dict]:
        consumer = AIOKafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=None)
        await consumer.start()
        try:
            partition = TopicPartition("aio-large", 0)
            return await consumer.beginning_offsets([partition]), await consumer.end_offsets(
                [partition]
            )
        finally:
            await consumer.stop()

    beginning, end = asyncio.run(offsets())
    assert list(beginning.values()) == [0] and list(end.values()) == [2]
