"""Admin clients on groups: list, describe, offsets and lag, delete (confluent-kafka, kafka-python)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupState,
    ConsumerGroupTopicPartitions,
    ConsumerGroupType,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from tests.broker.conftest import RunningBroker, start_broker


@pytest.fixture
def groups_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    running = start_broker(tmp_path / "data", group_initial_rebalance_delay_ms=0)
    try:
        running.create_topic("events", 3)
        producer = Producer({"bootstrap.servers": running.bootstrap})
        for index in range(30):
            producer.produce("events", value=b"%d" % index, partition=index % 3)
        assert producer.flush(30) == 0
        yield running
    finally:
        running.stop()


def consume_and_commit(broker: RunningBroker, group: str, count: int) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            "client.id": "admin-test",
        }
    )
    consumer.subscribe(["events"])
    seen = 0
    deadline = time.monotonic() + 30
    while seen < count and time.monotonic() < deadline:
        message = consumer.poll(0.2)
        if message is not None and not message.error():
            seen += 1
    consumer.commit(asynchronous=False)
    return consumer


def test_confluent_admin_lists_describes_reports_lag_and_deletes(
    groups_broker: RunningBroker,
) -> None:
    admin = AdminClient({"bootstrap.servers": groups_broker.bootstrap})
    consumer = consume_and_commit(groups_broker, "reporting", 30)
    try:
        listed = admin.list_consumer_groups().result(timeout=30)
        assert "reporting" in [g.group_id for g in listed.valid]
        described = admin.describe_consumer_groups(["reporting"])["reporting"].result(timeout=30)
        assert described.state.name == "STABLE"
        [member] = described.members
        assert member.client_id == "admin-test"
        assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1, 2]
    finally:
        consumer.close()

    request = ConsumerGroupTopicPartitions("reporting")
    [future] = admin.list_consumer_group_offsets([request]).values()
    committed = {tp.partition: tp.offset for tp in future.result(timeout=30).topic_partitions}
    assert committed == {0: 10, 1: 10, 2: 10}
    # Lag = log end (ListOffsets) - committed (OffsetFetch): zero after consuming everything.
    ends = admin.list_offsets({TopicPartition("events", p): OffsetSpec.latest() for p in range(3)})
    lag = {
        tp.partition: f.result(timeout=30).offset - committed[tp.partition]
        for tp, f in ends.items()
    }
    assert lag == {0: 0, 1: 0, 2: 0}

    empty = admin.list_consumer_groups(states={_state("EMPTY")}).result(timeout=30)
    assert "reporting" in [g.group_id for g in empty.valid]
    admin.delete_consumer_groups(["reporting"])["reporting"].result(timeout=30)
    listed = admin.list_consumer_groups().result(timeout=30)
    assert "reporting" not in [g.group_id for g in listed.valid]


def _state(name: str) -> object:
    from confluent_kafka import ConsumerGroupState

    return ConsumerGroupState[name]


def test_confluent_admin_describes_kip848_group(groups_broker: RunningBroker) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": groups_broker.bootstrap,
            "group.id": "next-gen",
            "group.protocol": "consumer",
            "auto.offset.reset": "earliest",
        }
    )
    consumer.subscribe(["events"])
    try:
        deadline = time.monotonic() + 30
        while len(consumer.assignment()) < 3 and time.monotonic() < deadline:
            consumer.poll(0.2)
        admin = AdminClient({"bootstrap.servers": groups_broker.bootstrap})
        described = admin.describe_consumer_groups(["next-gen"])["next-gen"].result(timeout=30)
        assert described.state.name == "STABLE"
        [member] = described.members
        assert sorted(tp.partition for tp in member.assignment.topic_partitions) == [0, 1, 2]
    finally:
        consumer.close()


def test_kafka_python_admin_groups_and_offsets(groups_broker: RunningBroker) -> None:
    from kafka import KafkaAdminClient
    from kafka.structs import TopicPartition as KafkaTopicPartition

    consumer = consume_and_commit(groups_broker, "kp-admin", 30)
    admin = KafkaAdminClient(bootstrap_servers=groups_broker.bootstrap)
    try:
        [listed] = admin.list_groups()
        assert (listed["group_id"], listed["group_state"]) == ("kp-admin", "Stable")
        described = admin.describe_groups(["kp-admin"])["kp-admin"]
        assert described["group_state"] == "Stable" and described["protocol_data"] == "range"
        [member] = described["members"]
        assert member["member_assignment"]["assigned_partitions"] == [
            {"topic": "events", "partitions": [0, 1, 2]}
        ]
        consumer.close()
        offsets = admin.list_group_offsets({"kp-admin": None})["kp-admin"]
        assert {tp.partition: meta.offset for tp, meta in offsets.items()} == {0: 10, 1: 10, 2: 10}
        deleted = admin.delete_group_offsets(
            "kp-admin", [KafkaTopicPartition("events", 0), KafkaTopicPartition("absent", 0)]
        )
        assert [error.__name__ for error in deleted.values()] == [
            "NoError",
            "UnknownTopicOrPartitionError",
        ]
        assert admin.delete_groups(["kp-admin", "nope"]) == {
            "kp-admin": "OK",
            "nope": "GroupIdNotFoundError",
        }
    finally:
        admin.close()


def _live_member(broker: RunningBroker, group: str, protocol: str) -> Consumer:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": group,
            "group.protocol": protocol,
            "enable.auto.commit": False,
        }
    )
    consumer.subscribe(["events"])
    deadline = time.monotonic() + 30
    while len(consumer.assignment()) < 3:
        assert time.monotonic() < deadline, "no assignment"
        consumer.poll(0.1)
    return consumer


def test_admin_filters_and_refusals_on_live_groups(groups_broker: RunningBroker) -> None:
    """ListGroups state/type filters; a live group (either protocol) is not deleted
    (NON_EMPTY_GROUP), its subscribed offsets are not deleted (GROUP_SUBSCRIBED_TO_TOPIC) nor
    altered by an admin (UNKNOWN_MEMBER_ID); offsets keep their metadata and leader epoch."""
    from kafka import KafkaAdminClient
    from kafka.structs import OffsetAndMetadata
    from kafka.structs import TopicPartition as KafkaTopicPartition

    classic = _live_member(groups_broker, "live-classic", "classic")
    modern = _live_member(groups_broker, "live-modern", "consumer")
    admin = AdminClient({"bootstrap.servers": groups_broker.bootstrap})
    python_admin = KafkaAdminClient(bootstrap_servers=groups_broker.bootstrap)
    try:
        classic.commit(
            offsets=[TopicPartition("events", 0, 4, "checkpoint-a", 0)], asynchronous=False
        )
        [back] = classic.committed([TopicPartition("events", 0)], timeout=30)
        assert (back.offset, back.metadata, back.leader_epoch) == (4, "checkpoint-a", 0)
        python_admin.alter_group_offsets(
            "idle", {KafkaTopicPartition("events", 1): OffsetAndMetadata(7, "m", -1)}
        )

        def listed(**filters: object) -> list[str]:
            groups = admin.list_consumer_groups(**filters).result(timeout=30).valid
            return sorted(g.group_id for g in groups)

        assert listed(states={ConsumerGroupState.STABLE}) == ["live-classic", "live-modern"]
        assert listed(states={ConsumerGroupState.EMPTY}) == ["idle"]
        assert listed(types={ConsumerGroupType.CONSUMER}) == ["live-modern"]
        assert listed(types={ConsumerGroupType.CLASSIC}) == ["idle", "live-classic"]

        deleted = admin.delete_consumer_groups(["live-classic", "live-modern"])
        for future in deleted.values():
            with pytest.raises(KafkaException) as raised:
                future.result(timeout=30)
            assert raised.value.args[0].code() == KafkaError.NON_EMPTY_GROUP
        for group in ("live-classic", "live-modern"):
            refused = python_admin.delete_group_offsets(group, [KafkaTopicPartition("events", 0)])
            assert [e.__name__ for e in refused.values()] == ["GroupSubscribedToTopicError"]
            altered = python_admin.alter_group_offsets(
                group, {KafkaTopicPartition("events", 2): OffsetAndMetadata(1, "", -1)}
            )
            assert [e.__name__ for e in altered.values()] == ["UnknownMemberIdError"]
        # OffsetFetch for several groups at once (v8+), an unknown one answering no offsets.
        batched = python_admin.list_group_offsets(["live-classic", "idle", "nobody"])
        assert {g: {tp.partition: m.offset for tp, m in o.items()} for g, o in batched.items()} == {
            "live-classic": {0: 4},
            "idle": {1: 7},
            "nobody": {},
        }
    finally:
        python_admin.close()
        classic.close()
        modern.close()
