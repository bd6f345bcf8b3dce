"""Admin APIs through confluent-kafka's AdminClient (librdkafka) against a broker started by the test."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from confluent_kafka import (
    Consumer,
    ConsumerGroupTopicPartitions,
    ElectionType,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AdminClient,
    AlterConfigOpType,
    ConfigEntry,
    ConfigResource,
    ConfigSource,
    NewPartitions,
    NewTopic,
)

TIMEOUT = 15


@pytest.fixture
def admin(broker: Any) -> Iterator[AdminClient]:
    client = AdminClient({"bootstrap.servers": broker.bootstrap})
    client.test_broker = broker  # type: ignore[attr-defined]
    yield client


def error_of(future: Any) -> KafkaError:
    with pytest.raises(KafkaException) as raised:
        future.result(timeout=TIMEOUT)
    return raised.value.args[0]


def topic_partitions(admin: AdminClient, name: str) -> int | None:
    """The partition count the broker holds for ``name`` (read server-side)."""
    broker = admin.test_broker  # type: ignore[attr-defined]
    info = broker.call(lambda: broker.app.topics.get(name))
    return None if info is None else info.partitions


def describe(admin: AdminClient, kind: str, name: str) -> dict[str, ConfigEntry]:
    return admin.describe_configs([ConfigResource(kind, name)])[ConfigResource(kind, name)].result(
        timeout=TIMEOUT
    )


def test_create_and_delete_topics(admin: AdminClient) -> None:
    futures = admin.create_topics(
        [NewTopic("orders", 3, 1, config={"retention.ms": "60000"}), NewTopic("audit", 1)],
        operation_timeout=TIMEOUT,
    )
    for future in futures.values():
        assert future.result(timeout=TIMEOUT) is None
    assert topic_partitions(admin, "orders") == 3
    assert topic_partitions(admin, "audit") == 1
    assert admin.delete_topics(["audit"])["audit"].result(timeout=TIMEOUT) is None
    assert topic_partitions(admin, "audit") is None
    error = error_of(admin.delete_topics(["audit"])["audit"])
    assert error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


@pytest.mark.parametrize(
    ("topic", "code", "message"),
    [
        (NewTopic("bad name", 1, 1), KafkaError.TOPIC_EXCEPTION, "illegal"),
        (NewTopic("r3", 1, 3), KafkaError.INVALID_REPLICATION_FACTOR, "only 1 broker"),
        (
            NewTopic("c1", 1, 1, config={"retention.ms": "x"}),
            KafkaError.INVALID_CONFIG,
            "retention.ms",
        ),
        (NewTopic("c2", 1, 1, config={"bogus.key": "1"}), KafkaError.INVALID_CONFIG, "bogus.key"),
        (
            NewTopic("c3", 1, 1, config={"charter.value.schema.validation": "maybe"}),
            KafkaError.INVALID_CONFIG,
            "charter.value.schema.validation",
        ),
    ],
)
def test_create_topic_errors(admin: AdminClient, topic: NewTopic, code: int, message: str) -> None:
    error = error_of(admin.create_topics([topic], operation_timeout=TIMEOUT)[topic.topic])
    assert error.code() == code
    assert message in error.str()
    assert topic_partitions(admin, topic.topic) is None


def test_existing_topic_and_validate_only(admin: AdminClient) -> None:
    admin.create_topics([NewTopic("once", 1)])["once"].result(timeout=TIMEOUT)
    error = error_of(admin.create_topics([NewTopic("once", 1)])["once"])
    assert error.code() == KafkaError.TOPIC_ALREADY_EXISTS
    futures = admin.create_topics([NewTopic("dry", 2)], validate_only=True)
    assert futures["dry"].result(timeout=TIMEOUT) is None
    assert topic_partitions(admin, "dry") is None


def test_create_partitions(admin: AdminClient) -> None:
    admin.create_topics([NewTopic("grow", 1)])["grow"].result(timeout=TIMEOUT)
    admin.create_partitions([NewPartitions("grow", 4)])["grow"].result(timeout=TIMEOUT)
    assert topic_partitions(admin, "grow") == 4
    error = error_of(admin.create_partitions([NewPartitions("grow", 2)])["grow"])
    assert error.code() == KafkaError.INVALID_PARTITIONS
    error = error_of(admin.create_partitions([NewPartitions("missing", 2)])["missing"])
    assert error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


def test_describe_configs_with_sources(admin: AdminClient) -> None:
    admin.create_topics([NewTopic("cfg", 1, config={"retention.ms": "1000"})])["cfg"].result(
        timeout=TIMEOUT
    )
    configs = describe(admin, "topic", "cfg")
    assert configs["retention.ms"].value == "1000"
    assert configs["retention.ms"].source == ConfigSource.DYNAMIC_TOPIC_CONFIG.value
    assert not configs["retention.ms"].is_default
    assert configs["segment.bytes"].value == "1073741824"
    assert configs["segment.bytes"].source == ConfigSource.DEFAULT_CONFIG.value
    assert configs["segment.bytes"].is_default
    assert configs["flush.messages"].source == ConfigSource.STATIC_BROKER_CONFIG.value
    assert configs["charter.value.schema.validation"].value == "full"
    broker = describe(admin, "broker", "0")
    assert broker["num.partitions"].value == "1"
    assert broker["log.retention.check.interval.ms"].value == "5000"
    assert broker["num.partitions"].is_read_only
    error = error_of(
        admin.describe_configs([ConfigResource("topic", "nope")])[ConfigResource("topic", "nope")]
    )
    assert error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART


@pytest.mark.filterwarnings("ignore:alter_configs has been deprecated:DeprecationWarning")
def test_alter_configs_replaces_all(admin: AdminClient) -> None:
    admin.create_topics([NewTopic("alt", 1, config={"retention.ms": "1000"})])["alt"].result(
        timeout=TIMEOUT
    )
    resource = ConfigResource("topic", "alt", set_config={"segment.bytes": "4096"})
    admin.alter_configs([resource])[resource].result(timeout=TIMEOUT)
    configs = describe(admin, "topic", "alt")
    assert configs["segment.bytes"].value == "4096"
    assert configs["retention.ms"].value == "604800000"
    assert configs["retention.ms"].is_default
    bad = ConfigResource("topic", "alt", set_config={"segment.bytes": "1"})
    error = error_of(admin.alter_configs([bad])[bad])
    assert error.code() == KafkaError.INVALID_CONFIG
    assert describe(admin, "topic", "alt")["segment.bytes"].value == "4096"
    dry = ConfigResource("topic", "alt", set_config={"segment.bytes": "8192"})
    admin.alter_configs([dry], validate_only=True)[dry].result(timeout=TIMEOUT)
    assert describe(admin, "topic", "alt")["segment.bytes"].value == "4096"


def test_incremental_alter_configs(admin: AdminClient) -> None:
    admin.create_topics([NewTopic("inc", 1, config={"retention.ms": "1000"})])["inc"].result(
        timeout=TIMEOUT
    )
    resource = ConfigResource(
        "topic",
        "inc",
        incremental_configs=[
            ConfigEntry("retention.ms", None, incremental_operation=AlterConfigOpType.DELETE),
            ConfigEntry("segment.ms", "60000", incremental_operation=AlterConfigOpType.SET),
            ConfigEntry(
                "cleanup.policy", "compact", incremental_operation=AlterConfigOpType.APPEND
            ),
        ],
    )
    admin.incremental_alter_configs([resource])[resource].result(timeout=TIMEOUT)
    configs = describe(admin, "topic", "inc")
    assert configs["retention.ms"].is_default
    assert configs["segment.ms"].value == "60000"
    assert configs["cleanup.policy"].value == "delete,compact"
    bad = ConfigResource(
        "topic",
        "inc",
        incremental_configs=[
            ConfigEntry("retention.ms", "5", incremental_operation=AlterConfigOpType.APPEND)
        ],
    )
    error = error_of(admin.incremental_alter_configs([bad])[bad])
    assert error.code() == KafkaError.INVALID_REQUEST


def test_delete_records_then_consume_from_new_start(broker: Any, admin: AdminClient) -> None:
    admin.create_topics([NewTopic("trim", 1)])["trim"].result(timeout=TIMEOUT)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    for i in range(10):
        producer.produce("trim", value=b"m%d" % i)
    assert producer.flush(TIMEOUT) == 0
    deleted = admin.delete_records([TopicPartition("trim", 0, 6)])
    [future] = deleted.values()
    assert future.result(timeout=TIMEOUT).low_watermark == 6
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "trim-reader",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.assign([TopicPartition("trim", 0, 0)])  # offset 0 is now out of range
        seen = []
        while len(seen) < 4:
            message = consumer.poll(TIMEOUT)
            assert message is not None, f"only got {seen}"
            assert message.error() is None, message.error()
            seen.append((message.offset(), message.value()))
        assert seen == [(6, b"m6"), (7, b"m7"), (8, b"m8"), (9, b"m9")]
    finally:
        consumer.close()
    beyond = admin.delete_records([TopicPartition("trim", 0, 99)])
    [future] = beyond.values()
    assert error_of(future).code() == KafkaError.OFFSET_OUT_OF_RANGE


def test_elect_leaders_answers_not_needed(admin: AdminClient) -> None:
    admin.create_topics([NewTopic("lead", 2)])["lead"].result(timeout=TIMEOUT)
    wanted = [TopicPartition("lead", 0), TopicPartition("lead", 1), TopicPartition("gone", 0)]
    for election in (ElectionType.PREFERRED, ElectionType.UNCLEAN):
        results = admin.elect_leaders(election, wanted).result(timeout=TIMEOUT)
        codes = {(tp.topic, tp.partition): error.code() for tp, error in results.items()}
        assert codes == {
            ("lead", 0): KafkaError.ELECTION_NOT_NEEDED,
            ("lead", 1): KafkaError.ELECTION_NOT_NEEDED,
            ("gone", 0): KafkaError.UNKNOWN_TOPIC_OR_PART,
        }
    # every partition: those that already have their leader are left out, as Kafka does
    assert admin.elect_leaders(ElectionType.PREFERRED, None).result(timeout=TIMEOUT) == {}


def test_scram_description_error_is_answered_per_user(admin: AdminClient) -> None:
    """The test broker has no security service: SECURITY_DISABLED per user named, not a
    top-level error (librdkafka aborts the process on one)."""
    futures = admin.describe_user_scram_credentials(["alice", "bob"])
    assert {user: error_of(future).code() for user, future in futures.items()} == {
        "alice": KafkaError.SECURITY_DISABLED,
        "bob": KafkaError.SECURITY_DISABLED,
    }


def test_deleting_a_topic_deletes_its_committed_offsets(broker: Any, admin: AdminClient) -> None:
    """As Kafka's coordinator: a topic created again under the name is read from the reset
    point, not from the offsets committed for the deleted one."""
    admin.create_topics([NewTopic("again", 1)])["again"].result(timeout=TIMEOUT)
    kept = [TopicPartition("kept", 0, 3)]
    admin.create_topics([NewTopic("kept", 1)])["kept"].result(timeout=TIMEOUT)
    for group in ("reader", "other"):
        committed = [TopicPartition("again", 0, 5)] + (kept if group == "other" else [])
        admin.alter_consumer_group_offsets([ConsumerGroupTopicPartitions(group, committed)])[
            group
        ].result(timeout=TIMEOUT)
    admin.delete_topics(["again"])["again"].result(timeout=TIMEOUT)
    admin.create_topics([NewTopic("again", 1)])["again"].result(timeout=TIMEOUT)
    producer = Producer({"bootstrap.servers": broker.bootstrap})
    producer.produce("again", value=b"first")
    assert producer.flush(TIMEOUT) == 0

    def offsets(group: str) -> list[tuple[str, int]]:
        found = admin.list_consumer_group_offsets([ConsumerGroupTopicPartitions(group)])[group]
        return [(tp.topic, tp.offset) for tp in found.result(timeout=TIMEOUT).topic_partitions]

    assert offsets("other") == [("kept", 3)]
    assert offsets("reader") == []
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "reader",
            "auto.offset.reset": "earliest",
        }
    )
    try:
        consumer.assign([TopicPartition("again", 0)])  # from the committed offset, if any
        message = None
        for _ in range(60):
            message = consumer.poll(0.5)
            if message is not None and message.error() is None:
                break
        assert message is not None and message.value() == b"first"
    finally:
        consumer.close()


def test_delete_records_of_a_compacted_topic_is_a_policy_violation(admin: AdminClient) -> None:
    for name, policy in (("compacted", "compact"), ("both", "compact,delete")):
        admin.create_topics([NewTopic(name, 1, config={"cleanup.policy": policy})])[name].result(
            timeout=TIMEOUT
        )
    [refused] = admin.delete_records([TopicPartition("compacted", 0, 0)]).values()
    assert error_of(refused).code() == KafkaError.POLICY_VIOLATION
    [allowed] = admin.delete_records([TopicPartition("both", 0, 0)]).values()
    assert allowed.result(timeout=TIMEOUT).low_watermark == 0
