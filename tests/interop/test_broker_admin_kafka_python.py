"""Admin APIs through kafka-python 3's KafkaAdminClient against a broker started by the test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka import errors as kafka_errors
from kafka.admin import AlterConfigOp, ConfigResource, ConfigResourceType, KafkaAdminClient


@pytest.fixture
def admin(broker: Any) -> Iterator[KafkaAdminClient]:
    client = KafkaAdminClient(bootstrap_servers=broker.bootstrap, request_timeout_ms=15000)
    yield client
    client.close()


def server_topic(broker: Any, name: str) -> Any:
    return broker.call(lambda: broker.app.topics.get(name))


def topic_configs(admin: KafkaAdminClient, name: str, **options: Any) -> dict[str, Any]:
    resource = ConfigResource(ConfigResourceType.TOPIC, name)
    return admin.describe_configs([resource], config_filter="all", **options)["topic"][name]


def test_create_topics_and_errors(broker: Any, admin: KafkaAdminClient) -> None:
    result = admin.create_topics(
        {
            "events": {
                "num_partitions": 2,
                "replication_factor": 1,
                "configs": {"retention.ms": "5000"},
            }
        }
    )
    [created] = result["topics"]
    assert (created["name"], created["error_code"]) == ("events", 0)
    assert created["num_partitions"] == 2
    assert created["replication_factor"] == 1
    assert created["configs"]["retention.ms"]["value"] == "5000"
    assert created["configs"]["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert server_topic(broker, "events").topic_id == uuid.UUID(str(created["topic_id"]))
    with pytest.raises(kafka_errors.TopicAlreadyExistsError):
        admin.create_topics({"events": {}})
    with pytest.raises(kafka_errors.InvalidTopicError):
        admin.create_topics({"x" * 250: {}})
    with pytest.raises(kafka_errors.InvalidPartitionsError):
        admin.create_topics({"zero": {"num_partitions": 0}})
    with pytest.raises(kafka_errors.InvalidReplicationFactorError):
        admin.create_topics({"three": {"replication_factor": 3}})
    with pytest.raises(kafka_errors.InvalidConfigurationError):
        admin.create_topics({"cfg": {"configs": {"cleanup.policy": "shred"}}})
    result = admin.create_topics({"dry": {"num_partitions": 5}}, validate_only=True)
    assert result["topics"][0]["num_partitions"] == 5
    assert server_topic(broker, "dry") is None


def test_default_partition_count(broker: Any, admin: KafkaAdminClient) -> None:
    result = admin.create_topics(["plain"])
    assert result["topics"][0]["num_partitions"] == 1  # the broker's num.partitions
    assert server_topic(broker, "plain").partitions == 1


def test_delete_topics_by_name_and_id(broker: Any, admin: KafkaAdminClient) -> None:
    admin.create_topics(["by-name", "by-id"])
    topic_id = server_topic(broker, "by-id").topic_id
    result = admin.delete_topics(["by-name", topic_id])
    assert sorted((t["name"], t["error_code"]) for t in result["topics"]) == [
        ("by-id", 0),
        ("by-name", 0),
    ]
    assert server_topic(broker, "by-name") is None and server_topic(broker, "by-id") is None
    with pytest.raises(kafka_errors.UnknownTopicOrPartitionError):
        admin.delete_topics(["by-name"])
    with pytest.raises(kafka_errors.UnknownTopicIdError):
        admin.delete_topics([topic_id])


def test_create_partitions(broker: Any, admin: KafkaAdminClient) -> None:
    admin.create_topics(["wide"])
    admin.create_partitions({"wide": 3})
    assert server_topic(broker, "wide").partitions == 3
    with pytest.raises(kafka_errors.InvalidPartitionsError):
        admin.create_partitions({"wide": 3})
    admin.create_partitions({"wide": 6}, validate_only=True)
    assert server_topic(broker, "wide").partitions == 3


def test_describe_configs_sources_and_synonyms(admin: KafkaAdminClient) -> None:
    admin.create_topics({"described": {"configs": {"retention.ms": "1000"}}})
    configs = topic_configs(admin, "described", include_synonyms=True)
    assert configs["retention.ms"]["value"] == "1000"
    assert configs["retention.ms"]["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    assert [(s["name"], s["source"]) for s in configs["retention.ms"]["synonyms"]] == [
        ("retention.ms", "DYNAMIC_TOPIC_CONFIG"),
        ("log.retention.ms", "DEFAULT_CONFIG"),
    ]
    assert configs["cleanup.policy"]["config_source"] == "DEFAULT_CONFIG"
    assert configs["cleanup.policy"]["config_type"] == "LIST"
    assert configs["flush.messages"]["config_source"] == "STATIC_BROKER_CONFIG"
    modified = admin.describe_configs([ConfigResource(ConfigResourceType.TOPIC, "described")])
    assert set(modified["topic"]["described"]) == {"retention.ms"}
    broker = admin.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, "0")], config_filter="all"
    )["broker"]["0"]
    assert broker["log.retention.check.interval.ms"]["value"] == "5000"
    assert broker["log.retention.check.interval.ms"]["config_source"] == "STATIC_BROKER_CONFIG"


def test_alter_configs_incremental_and_legacy(admin: KafkaAdminClient) -> None:
    admin.create_topics({"tuned": {"configs": {"retention.ms": "1000", "segment.ms": "600000"}}})
    resource = ConfigResource(
        ConfigResourceType.TOPIC,
        "tuned",
        {
            "retention.ms": (AlterConfigOp.DELETE, None),
            "cleanup.policy": (AlterConfigOp.SET, "compact"),
        },
    )
    assert admin.alter_configs([resource], incremental=True) == {"topic": {"tuned": "OK"}}
    configs = topic_configs(admin, "tuned")
    assert configs["retention.ms"]["config_source"] == "DEFAULT_CONFIG"
    assert configs["cleanup.policy"]["value"] == "compact"
    assert configs["segment.ms"]["value"] == "600000"
    # Legacy AlterConfigs replaces every override; the client re-sends the modified ones.
    legacy = ConfigResource(ConfigResourceType.TOPIC, "tuned", {"segment.bytes": "4096"})
    assert admin.alter_configs([legacy], incremental=False) == {"topic": {"tuned": "OK"}}
    configs = topic_configs(admin, "tuned")
    assert configs["segment.bytes"]["value"] == "4096"
    assert configs["cleanup.policy"]["value"] == "compact"
    bad = ConfigResource(ConfigResourceType.TOPIC, "tuned", {"segment.bytes": "tiny"})
    [[outcome]] = [list(v.values()) for v in admin.alter_configs([bad], incremental=True).values()]
    assert outcome.startswith("[Error 40] InvalidConfigurationError")
    assert "segment.bytes" in outcome


def test_delete_records(broker: Any, admin: KafkaAdminClient) -> None:
    admin.create_topics(["trimmed"])
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    for i in range(8):
        producer.send("trimmed", value=b"r%d" % i)
    producer.flush(timeout=15)
    producer.close()
    partition = TopicPartition("trimmed", 0)
    result = admin.delete_records({partition: 5})
    assert result[partition]["low_watermark"] == 5
    consumer = KafkaConsumer(
        bootstrap_servers=broker.bootstrap, auto_offset_reset="earliest", consumer_timeout_ms=5000
    )
    try:
        consumer.assign([partition])
        consumer.seek_to_beginning(partition)
        values = [(m.offset, m.value) for m in consumer]
    finally:
        consumer.close()
    assert values == [(5, b"r5"), (6, b"r6"), (7, b"r7")]


def test_describe_log_dirs_sizes_partitions(broker: Any, admin: KafkaAdminClient) -> None:
    broker.create_topic("sized", partitions=2)
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    producer.send("sized", value=b"x" * 1000, partition=0)
    producer.flush(timeout=15)
    producer.close()
    [answer] = admin.describe_log_dirs({"sized": [0, 1, 7], "absent": [0]})
    [log_dir] = answer["log_dirs"]
    assert log_dir["error_code"] == 0
    assert log_dir["log_dir"] == str((broker.data_dir / "log").resolve())
    assert log_dir["usable_bytes"] > 0
    [topic] = log_dir["topics"]
    sizes = {p["partition_index"]: p["partition_size"] for p in topic["partitions"]}
    assert topic["name"] == "sized"
    assert sizes[1] == 0 and sizes[0] > 1000
    assert set(sizes) == {0, 1}


def test_elect_leaders_is_never_needed(broker: Any, admin: KafkaAdminClient) -> None:
    broker.create_topic("elected", partitions=2)
    response = admin.elect_leaders(0, {"elected": [0, 1]})
    codes = {
        (result.topic, p.partition_id): p.error_code
        for result in response.replica_election_results
        for p in result.partition_result
    }
    assert codes == {("elected", 0): 84, ("elected", 1): 84}  # ELECTION_NOT_NEEDED
    with pytest.raises(kafka_errors.UnknownTopicOrPartitionError):
        admin.elect_leaders(1, {"absent": [0]})


def test_partition_reassignments_on_one_broker(broker: Any, admin: KafkaAdminClient) -> None:
    broker.create_topic("moved", partitions=2)
    first, second = TopicPartition("moved", 0), TopicPartition("moved", 1)
    results = admin.alter_partition_reassignments(
        {first: [0], second: [3], TopicPartition("absent", 0): [0]}
    )
    assert results == {
        first: None,
        second: kafka_errors.InvalidReplicationAssignmentError,
        TopicPartition("absent", 0): kafka_errors.UnknownTopicOrPartitionError,
    }
    assert admin.alter_partition_reassignments({first: None}) == {
        first: kafka_errors.NoReassignmentInProgressError
    }
    assert admin.list_partition_reassignments() == {}
    assert admin.list_partition_reassignments([first]) == {}


def test_describe_topic_partitions_pages(broker: Any, admin: KafkaAdminClient) -> None:
    broker.create_topic("paged-a", partitions=3)
    broker.create_topic("paged-b", partitions=2)
    first = admin.describe_topic_partitions(
        ["paged-b", "paged-a", "paged-x"], response_partition_limit=4
    )
    listed = [(t["name"], [p["partition_index"] for p in t["partitions"]]) for t in first["topics"]]
    assert listed == [("paged-a", [0, 1, 2]), ("paged-b", [0])]
    assert first["next_cursor"] == {"topic_name": "paged-b", "partition_index": 1}
    rest = admin.describe_topic_partitions(
        ["paged-b", "paged-a", "paged-x"], cursor=first["next_cursor"]
    )
    entries = {t["name"]: t for t in rest["topics"]}
    assert [p["partition_index"] for p in entries["paged-b"]["partitions"]] == [1]
    assert entries["paged-b"]["partitions"][0]["leader_id"] == 0
    assert entries["paged-x"]["error_code"] == 3  # UNKNOWN_TOPIC_OR_PARTITION
    assert rest["next_cursor"] is None
