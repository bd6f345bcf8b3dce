"""TopicManager without a network: metadata in SQLite, records in real partition logs."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from broker import topics
from broker.config_catalog import ConfigSource
from broker.errors import (
    InvalidConfig,
    InvalidPartitions,
    InvalidReplicaAssignment,
    InvalidReplicationFactor,
    InvalidRequest,
    InvalidTopic,
    PolicyViolation,
    TopicAlreadyExists,
    UnknownTopicId,
    UnknownTopicOrPartition,
)
from broker.log import PartitionLog
from broker.protocol.records import Record, build_batch, iter_records, read_batches
from broker.settings import BrokerSettings
from broker.topics import AlterOp, TopicManager, store, validate_topic_name

SETTINGS = BrokerSettings(
    data_dir=Path("unused"),  # TopicManager takes its log directory separately
    log_flush_messages=1,
    default_partitions=2,
    log_retention_check_interval_ms=5000,
    auto_create_topics=True,
)


@pytest.fixture
def manager(database: peewee.Database, tmp_path: Path) -> Iterator[TopicManager]:
    manager = TopicManager(database, tmp_path / "log", SETTINGS)
    yield manager
    manager.close()


def produce(
    manager: TopicManager,
    topic: str,
    partition: int,
    *values: bytes,
    now_ms: int,
    key: bytes | None = None,
) -> None:
    batch = build_batch(
        [Record(offset_delta=i, timestamp_delta=0, key=key, value=v) for i, v in enumerate(values)],
        timestamp=now_ms,
    )
    manager.partition(topic, partition).append(batch, read_batches(batch), now_ms=now_ms)


def test_all_names_are_exported() -> None:
    for name in topics.__all__:
        assert hasattr(topics, name)


@pytest.mark.parametrize("name", ["orders", "a", "A.b_c-9", "x" * 249, "__consumer_offsets"])
def test_legal_topic_names(name: str) -> None:
    validate_topic_name(name)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "can't be empty"),
        (".", 'cannot be "." or ".."'),
        ("..", 'cannot be "." or ".."'),
        ("x" * 250, "can't be longer than 249 characters"),
        ("a b", "contains a character other than ASCII alphanumerics"),
        ("a/b", "contains a character other than ASCII alphanumerics"),
        ("caf\u00e9", "contains a character other than ASCII alphanumerics"),
    ],
)
def test_illegal_topic_names(name: str, message: str) -> None:
    with pytest.raises(InvalidTopic) as raised:
        validate_topic_name(name)
    assert message in str(raised.value)
    assert raised.value.error_code == 17


def test_create_persists_and_opens_partition_dirs(manager: TopicManager, tmp_path: Path) -> None:
    events = []
    manager.on_topic_created = events.append
    info = manager.create("orders", 3, 1, {"retention.ms": "1000"})
    assert info.partitions == 3
    assert isinstance(info.topic_id, uuid.UUID)
    assert info.configs == {"retention.ms": "1000"}
    assert not info.is_internal
    assert events == [info]
    assert sorted(p.name for p in (tmp_path / "log").iterdir() if p.is_dir()) == [
        "orders-0",
        "orders-1",
        "orders-2",
    ]
    row = store.Topic.get(store.Topic.name == "orders")
    assert (row.partitions, row.is_internal, uuid.UUID(str(row.topic_id))) == (
        3,
        False,
        info.topic_id,
    )
    assert [(c.key, c.value) for c in row.configs] == [("retention.ms", "1000")]
    assert manager.log_config("orders").retention_ms == 1000
    assert manager.get("orders") == info
    assert manager.get_by_id(info.topic_id) == info
    assert manager.names() == ["orders"]


def test_defaults_for_partitions_and_replication(manager: TopicManager) -> None:
    assert manager.create("t").partitions == SETTINGS.default_partitions
    assert manager.create("internal", 1, 1).partitions == 1
    assert manager.create("__consumer_offsets", 1).is_internal


def test_create_errors(manager: TopicManager) -> None:
    manager.create("orders", 1)
    with pytest.raises(TopicAlreadyExists, match="Topic 'orders' already exists."):
        manager.create("orders", 1)
    with pytest.raises(InvalidTopic, match="illegal"):
        manager.create("bad name", 1)
    manager.create("a.b", 1)
    with pytest.raises(InvalidTopic, match="collides with existing topic: a.b"):
        manager.create("a_b", 1)
    for partitions in (0, -2):
        with pytest.raises(InvalidPartitions, match="invalid non-positive value"):
            manager.create("p", partitions)
    with pytest.raises(InvalidPartitions, match="limit"):
        manager.create("p", topics.MAX_PARTITIONS_PER_TOPIC + 1)
    with pytest.raises(InvalidReplicationFactor, match="only 1 broker"):
        manager.create("r", 1, 3)
    with pytest.raises(InvalidReplicationFactor, match="larger than 0"):
        manager.create("r", 1, 0)
    with pytest.raises(InvalidConfig, match="Unknown topic config name: nope"):
        manager.create("c", 1, 1, {"nope": "1"})
    with pytest.raises(InvalidConfig, match="segment.bytes"):
        manager.create("c", 1, 1, {"segment.bytes": "1"})
    assert manager.names() == ["a.b", "orders"]
    assert store.Topic.select().count() == 2


def test_manual_assignments(manager: TopicManager) -> None:
    assert manager.create("m", assignments={0: [0], 1: [0]}).partitions == 2
    with pytest.raises(InvalidReplicaAssignment, match="broker"):
        manager.create("n", assignments={0: [1]})
    with pytest.raises(InvalidReplicaAssignment, match="consecutive"):
        manager.create("n", assignments={1: [0]})
    with pytest.raises(InvalidRequest, match="numPartitions"):
        manager.create("n", 2, assignments={0: [0]})


def test_validate_only_changes_nothing(manager: TopicManager, tmp_path: Path) -> None:
    info = manager.create("dry", 4, -1, {"cleanup.policy": "compact"}, validate_only=True)
    assert info.partitions == 4
    assert "dry" not in manager
    assert store.Topic.select().count() == 0
    assert not any((tmp_path / "log").iterdir())


def test_create_policy_can_refuse(manager: TopicManager) -> None:
    def policy(info: topics.TopicInfo) -> None:
        if not info.name.startswith("team."):
            raise PolicyViolation(f"topic {info.name} must start with 'team.'")

    manager.create_policy = policy
    with pytest.raises(PolicyViolation, match="must start with"):
        manager.create("orders", 1)
    assert manager.create("team.orders", 1).name == "team.orders"


def test_topics_survive_a_restart(database: peewee.Database, tmp_path: Path) -> None:
    first = TopicManager(database, tmp_path / "log", SETTINGS)
    info = first.create("orders", 2, -1, {"cleanup.policy": "compact"})
    produce(first, "orders", 1, b"a", b"b", now_ms=1_000, key=b"k")
    first.close()
    second = TopicManager(database, tmp_path / "log", SETTINGS)
    try:
        assert second.get("orders") == info
        assert second.partition("orders", 1).log_end_offset == 2
        assert second.log_config("orders").compact
    finally:
        second.close()


def test_delete_removes_rows_and_records(manager: TopicManager, tmp_path: Path) -> None:
    deleted = []
    manager.on_topic_deleted = deleted.append
    info = manager.create("orders", 2, -1, {"retention.ms": "5000"})
    produce(manager, "orders", 0, b"old", now_ms=1_000)
    assert manager.delete("orders") == info
    assert deleted == [info]
    assert "orders" not in manager
    assert store.Topic.select().count() == 0
    assert store.TopicConfig.select().count() == 0
    assert not (tmp_path / "log" / "orders-0").exists()
    with pytest.raises(UnknownTopicOrPartition):
        manager.delete("orders")
    with pytest.raises(UnknownTopicId):
        manager.get_by_id(info.topic_id)
    again = manager.create("orders", 1)
    assert again.topic_id != info.topic_id
    assert manager.partition("orders", 0).log_end_offset == 0


def test_recreate_removes_a_stale_directory(manager: TopicManager, tmp_path: Path) -> None:
    # A delete interrupted by a crash can leave a directory behind.
    stale = tmp_path / "log" / "ghost-0"
    stale.mkdir(parents=True)
    (stale / "00000000000000000000.log").write_bytes(b"garbage")
    manager.create("ghost", 1)
    assert manager.partition("ghost", 0).log_end_offset == 0


def test_partition_lookup(manager: TopicManager) -> None:
    manager.create("orders", 2)
    assert manager.partition("orders", 1) is manager.log("orders", 1)
    assert manager.log("orders", 2) is None
    assert manager.log("nope", 0) is None
    for name, index in (("orders", 2), ("orders", -1), ("nope", 0)):
        with pytest.raises(UnknownTopicOrPartition) as raised:
            manager.partition(name, index)
        assert raised.value.error_code == 3


def test_create_partitions(manager: TopicManager) -> None:
    changed = []
    manager.on_config_changed = changed.append
    before = manager.generation
    manager.create("orders", 2)
    created = manager.generation
    assert created > before  # the group coordinator re-reads topics when this moves
    produce(manager, "orders", 0, b"keep", now_ms=1_000)
    assert manager.create_partitions("orders", 3, validate_only=True).partitions == 3
    assert manager.get("orders").partitions == 2
    assert manager.generation == created  # validate_only changes nothing
    info = manager.create_partitions("orders", 5)
    assert info.partitions == 5 and manager.generation > created
    assert changed == [info]
    assert store.Topic.get(store.Topic.name == "orders").partitions == 5
    assert manager.partition("orders", 4).log_end_offset == 0
    assert manager.partition("orders", 0).log_end_offset == 1
    with pytest.raises(InvalidPartitions, match="Topic already has 5 partitions."):
        manager.create_partitions("orders", 5)
    with pytest.raises(InvalidPartitions, match="which is higher than the requested 4"):
        manager.create_partitions("orders", 4)
    with pytest.raises(InvalidReplicaAssignment):
        manager.create_partitions("orders", 6, assignments=[[0], [0]])
    with pytest.raises(UnknownTopicOrPartition):
        manager.create_partitions("nope", 6)
    grown = manager.generation
    manager.delete("orders")
    assert manager.generation > grown


def entries_by_name(entries: list[topics.ConfigEntry]) -> dict[str, topics.ConfigEntry]:
    return {entry.name: entry for entry in entries}


def test_describe_configs_sources_and_synonyms(manager: TopicManager) -> None:
    manager.create("orders", 1, 1, {"retention.ms": "1000"})
    entries = entries_by_name(manager.describe_configs("orders"))
    retention = entries["retention.ms"]
    assert (retention.value, retention.source, retention.is_default) == (
        "1000",
        ConfigSource.DYNAMIC_TOPIC_CONFIG,
        False,
    )
    assert [(s.name, s.value, s.source) for s in retention.synonyms] == [
        ("retention.ms", "1000", ConfigSource.DYNAMIC_TOPIC_CONFIG),
        ("log.retention.ms", "604800000", ConfigSource.DEFAULT_CONFIG),
    ]
    segment = entries["segment.bytes"]
    assert (segment.value, segment.source, segment.is_default) == (
        "1073741824",
        ConfigSource.DEFAULT_CONFIG,
        True,
    )
    flush = entries["flush.messages"]
    assert (flush.value, flush.source) == ("1", ConfigSource.STATIC_BROKER_CONFIG)
    assert entries["charter.value.schema.validation"].value == "full"
    assert not any(entry.read_only or entry.is_sensitive for entry in entries.values())
    only = manager.describe_configs(
        "orders", ["cleanup.policy", "not.a.config"], include_synonyms=False
    )
    assert [(e.name, e.value, e.synonyms) for e in only] == [("cleanup.policy", "delete", ())]
    with pytest.raises(UnknownTopicOrPartition):
        manager.describe_configs("nope")


def test_describe_broker_configs(manager: TopicManager) -> None:
    entries = entries_by_name(manager.describe_broker_configs())
    assert entries["num.partitions"].value == "2"
    assert entries["num.partitions"].source is ConfigSource.STATIC_BROKER_CONFIG
    assert entries["log.segment.bytes"].source is ConfigSource.DEFAULT_CONFIG
    assert all(entry.read_only for entry in entries.values())
    assert [e.name for e in manager.describe_broker_configs(["broker.id"])] == ["broker.id"]


def test_alter_configs_replaces_all_overrides(
    manager: TopicManager, database: peewee.Database
) -> None:
    changed = []
    manager.on_config_changed = changed.append
    manager.create("orders", 2, 1, {"retention.ms": "1000", "cleanup.policy": "compact"})
    info = manager.alter_configs("orders", {"segment.bytes": "2048"})
    assert info.configs == {"segment.bytes": "2048"}
    assert changed == [info]
    assert manager.log_config("orders").segment_bytes == 2048
    assert manager.log_config("orders").retention_ms == 604800000
    assert not manager.log_config("orders").compact
    assert all(log.config.segment_bytes == 2048 for log in manager.partitions("orders"))
    rows = store.TopicConfig.select().join(store.Topic).where(store.Topic.name == "orders")
    assert [(row.key, row.value) for row in rows] == [("segment.bytes", "2048")]
    with pytest.raises(InvalidConfig, match="retention.ms"):
        manager.alter_configs("orders", {"retention.ms": "soon"})
    assert manager.alter_configs("orders", {"retention.ms": "5"}, validate_only=True).configs == {
        "retention.ms": "5"
    }
    assert manager.get("orders").configs == {"segment.bytes": "2048"}


def test_incremental_alter_configs(manager: TopicManager) -> None:
    manager.create("orders", 1, 1, {"retention.ms": "1000", "segment.bytes": "4096"})
    info = manager.incremental_alter_configs(
        "orders",
        [
            AlterOp("retention.ms", AlterOp.DELETE),
            AlterOp("segment.ms", AlterOp.SET, "100"),
            AlterOp("cleanup.policy", AlterOp.APPEND, "compact"),
        ],
    )
    assert info.configs == {
        "segment.bytes": "4096",
        "segment.ms": "100",
        "cleanup.policy": "delete,compact",
    }
    config = manager.log_config("orders")
    assert config.compact and config.delete and config.segment_ms == 100
    info = manager.incremental_alter_configs(
        "orders", [AlterOp("cleanup.policy", AlterOp.SUBTRACT, "delete")]
    )
    assert info.configs["cleanup.policy"] == "compact"
    assert not manager.log_config("orders").delete
    with pytest.raises(InvalidRequest, match="append is not allowed for config key: retention.ms"):
        manager.incremental_alter_configs("orders", [AlterOp("retention.ms", AlterOp.APPEND, "1")])
    with pytest.raises(InvalidRequest, match="duplicate config keys"):
        manager.incremental_alter_configs(
            "orders",
            [AlterOp("segment.ms", AlterOp.SET, "1"), AlterOp("segment.ms", AlterOp.DELETE)],
        )
    with pytest.raises(InvalidRequest, match="Unknown config operation 7"):
        manager.incremental_alter_configs("orders", [AlterOp("segment.ms", 7, "1")])
    with pytest.raises(InvalidConfig, match="Unknown topic config name: bogus"):
        manager.incremental_alter_configs("orders", [AlterOp("bogus", AlterOp.SET, "1")])
    with pytest.raises(InvalidConfig, match="cleanup.policy: Empty list not allowed"):
        manager.incremental_alter_configs(
            "orders", [AlterOp("cleanup.policy", AlterOp.SUBTRACT, "compact")]
        )
    assert manager.get("orders").configs == {
        "segment.bytes": "4096",
        "segment.ms": "100",
        "cleanup.policy": "compact",
    }


def test_listener_failure_does_not_undo_the_change(manager: TopicManager) -> None:
    def broken(info: topics.TopicInfo) -> None:
        raise RuntimeError("catalog down")

    manager.on_topic_created = broken
    manager.create("orders", 1)
    assert "orders" in manager


def test_maintenance_applies_retention(manager: TopicManager) -> None:
    manager.create("short", 1, 1, {"retention.ms": "1000", "segment.bytes": "200"})
    for i in range(5):
        produce(manager, "short", 0, b"x" * 60 + bytes([i]), now_ms=10_000)
    log = manager.partition("short", 0)
    assert (log.log_start_offset, log.log_end_offset) == (0, 5)
    manager.maintenance_pass(now_ms=10_500)
    assert log.log_start_offset == 0
    manager.maintenance_pass(now_ms=20_000)
    assert log.log_start_offset == 5
    assert log.log_end_offset == 5


def read_all(log: PartitionLog) -> list[tuple[int, bytes | None, bytes | None]]:
    """(offset, key, value) of every record from the log start to the end."""
    records = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        for header in read_batches(data):
            for record in iter_records(data, header):
                if header.base_offset + record.offset_delta >= offset:
                    records.append(
                        (header.base_offset + record.offset_delta, record.key, record.value)
                    )
            offset = header.last_offset + 1
    return records


def test_maintenance_compacts(manager: TopicManager) -> None:
    manager.create("table", 1, 1, {"cleanup.policy": "compact", "segment.bytes": "200"})
    for i in range(6):
        produce(manager, "table", 0, b"v%d" % i, key=b"k%d" % (i % 2), now_ms=10_000 + i)
    log = manager.partition("table", 0)
    assert len(read_all(log)) == 6
    manager.maintenance_pass(now_ms=20_000)
    # The active segment is never cleaned; the closed ones keep the latest value per key.
    remaining = read_all(log)
    assert [offset for offset, _, _ in remaining][-1] == 5
    assert len(remaining) < 6
    latest: dict[bytes | None, bytes | None] = {}
    for _, key, value in remaining:
        latest[key] = value
    assert latest == {b"k0": b"v4", b"k1": b"v5"}


def test_maintenance_moves_on_after_delete_records(manager: TopicManager) -> None:
    manager.create("t", 1, 1, {"segment.bytes": "200"})
    for i in range(4):
        produce(manager, "t", 0, b"y" * 60 + bytes([i]), now_ms=10_000)
    log = manager.partition("t", 0)
    assert log.delete_records_before(3) == 3
    manager.maintenance_pass(now_ms=10_001)
    assert log.log_start_offset == 3
    assert read_batches(log.read(3, 1 << 20))[0].base_offset == 3


def test_closed_manager_refuses_changes(database: peewee.Database, tmp_path: Path) -> None:
    manager = TopicManager(database, tmp_path / "log", SETTINGS)
    manager.close()
    with pytest.raises(RuntimeError, match="closed"):
        manager.create("late", 1)


def test_run_maintenance_is_cancellable(database: peewee.Database, tmp_path: Path) -> None:
    async def scenario() -> asyncio.Task[None]:
        manager = TopicManager(database, tmp_path / "log", SETTINGS)
        manager.create("t", 1)
        task = manager.start_maintenance()
        await asyncio.sleep(0)
        assert not task.done()
        await manager.aclose()
        return task

    assert asyncio.run(scenario()).cancelled()


def test_catalog_reads_topics_from_the_store(manager: TopicManager) -> None:
    manager.create("orders", 2, 1, {"retention.ms": "1000", "cleanup.policy": "compact"})
    manager.create("plain", 1)
    assert store.topic_configs() == {
        "orders": {"cleanup.policy": "compact", "retention.ms": "1000"},
        "plain": {},
    }
    assert [(t.name, t.partitions) for t in store.Topic.select().order_by(store.Topic.name)] == [
        ("orders", 2),
        ("plain", 1),
    ]
