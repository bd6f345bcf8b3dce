"""Admin APIs through aiokafka's AIOKafkaAdminClient against a broker started by the test."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic, RecordsToDelete
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import InvalidPartitionsError, OffsetOutOfRangeError

Scenario = Callable[[AIOKafkaAdminClient], Awaitable[None]]


def run_with_admin(broker: Any, scenario: Scenario) -> None:
    async def main() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=broker.bootstrap)
        await admin.start()
        try:
            await scenario(admin)
        finally:
            await admin.close()

    asyncio.run(main())


async def configs_of(admin: AIOKafkaAdminClient, topic: str) -> dict[str, tuple[str, int]]:
    [response] = await admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, topic)])
    [resource] = response.to_object()["resources"]
    assert resource["error_code"] == 0, resource
    return {
        entry["config_names"]: (entry["config_value"], entry["config_source"])
        for entry in resource["config_entries"]
    }


def test_topics_and_errors(broker: Any) -> None:
    async def scenario(admin: AIOKafkaAdminClient) -> None:
        response = await admin.create_topics(
            [
                NewTopic("metrics", 2, 1, topic_configs={"retention.ms": "1000"}),
                NewTopic("bad/name", 1, 1),
                NewTopic("too-many-replicas", 1, 2),
                NewTopic("bad-config", 1, 1, topic_configs={"segment.bytes": "1"}),
            ]
        )
        errors = {t["topic"]: t["error_code"] for t in response.to_object()["topic_errors"]}
        assert errors == {"metrics": 0, "bad/name": 17, "too-many-replicas": 38, "bad-config": 40}
        response = await admin.create_topics([NewTopic("metrics", 1, 1)])
        assert response.to_object()["topic_errors"][0]["error_code"] == 36
        response = await admin.create_topics([NewTopic("dry", 1, 1)], validate_only=True)
        assert response.to_object()["topic_errors"][0]["error_code"] == 0
        assert "dry" not in await admin.list_topics()
        await admin.create_partitions({"metrics": NewPartitions(total_count=3)})
        with pytest.raises(InvalidPartitionsError):
            await admin.create_partitions({"metrics": NewPartitions(total_count=1)})
        described = await admin.describe_topics(["metrics"])
        assert len(described[0]["partitions"]) == 3
        response = await admin.delete_topics(["metrics", "never-was"])
        codes = {t["topic"]: t["error_code"] for t in response.to_object()["topic_error_codes"]}
        assert codes == {"metrics": 0, "never-was": 3}
        assert "metrics" not in await admin.list_topics()

    run_with_admin(broker, scenario)


def test_describe_and_alter_configs(broker: Any) -> None:
    async def scenario(admin: AIOKafkaAdminClient) -> None:
        await admin.create_topics([NewTopic("conf", 1, 1, topic_configs={"retention.ms": "1000"})])
        configs = await configs_of(admin, "conf")
        assert configs["retention.ms"] == ("1000", 1)  # DYNAMIC_TOPIC_CONFIG
        assert configs["segment.bytes"] == ("1073741824", 5)  # DEFAULT_CONFIG
        [response] = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "conf", {"segment.bytes": "4096"})]
        )
        [result] = response.to_object()["resources"]
        assert result["error_code"] == 0
        configs = await configs_of(admin, "conf")
        assert configs["segment.bytes"] == ("4096", 1)
        assert configs["retention.ms"] == ("604800000", 5)  # replace-all: back to default
        [response] = await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, "conf", {"message.timestamp.type": "Now"})]
        )
        [result] = response.to_object()["resources"]
        assert result["error_code"] == 40
        assert "message.timestamp.type" in result["error_message"]
        [response] = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.BROKER, "0", {"num.partitions": None})]
        )
        [resource] = response.to_object()["resources"]
        assert [(e["config_names"], e["config_value"]) for e in resource["config_entries"]] == [
            ("num.partitions", "1")
        ]

    run_with_admin(broker, scenario)


def test_delete_records(broker: Any) -> None:
    async def scenario(admin: AIOKafkaAdminClient) -> None:
        await admin.create_topics([NewTopic("cut", 1, 1)])
        producer = AIOKafkaProducer(bootstrap_servers=broker.bootstrap)
        await producer.start()
        try:
            for i in range(6):
                await producer.send_and_wait("cut", b"c%d" % i)
        finally:
            await producer.stop()
        partition = TopicPartition("cut", 0)
        low = await admin.delete_records({partition: RecordsToDelete(before_offset=4)})
        assert low == {partition: 4}
        with pytest.raises(OffsetOutOfRangeError):
            await admin.delete_records({partition: RecordsToDelete(before_offset=7)})
        consumer = AIOKafkaConsumer(
            bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            consumer.assign([partition])
            await consumer.seek_to_beginning(partition)
            got = []
            while len(got) < 2:
                batch = await consumer.getmany(partition, timeout_ms=5000)
                assert batch, f"nothing fetched after {got}"
                got += [(m.offset, m.value) for m in batch[partition]]
        finally:
            await consumer.stop()
        assert got == [(4, b"c4"), (5, b"c5")]

    run_with_admin(broker, scenario)
