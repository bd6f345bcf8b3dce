"""The broker's events: topic changes written to the broker outbox with their rows, and the
broker's schema state kept current by registry events."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from broker.log import PartitionLog
from broker.schemas import LatestVersion, SchemaState
from broker.settings import BrokerSettings
from broker.topics import AlterOp, TopicManager
from charter.app import migrate
from charter.db import open_database
from registry.service import RegistryService, SchemaRequest

SETTINGS = BrokerSettings(data_dir=Path("unused"))


@pytest.fixture
def manager(database: peewee.Database, tmp_path: Path) -> Iterator[TopicManager]:
    manager = TopicManager(database, tmp_path / "log", SETTINGS)
    yield manager
    manager.close()


def announced(manager: TopicManager) -> list[tuple[str, str, int, dict[str, str]]]:
    return [
        (event.name, event.payload["name"], event.payload["partitions"], event.payload["configs"])
        for event in manager.outbox.events_since(0)
    ]


def test_every_topic_change_is_announced_in_order(manager: TopicManager) -> None:
    created = manager.create("orders", 1, configs={"retention.ms": "1000"})
    manager.create_partitions("orders", 3)
    manager.alter_configs("orders", {"cleanup.policy": "compact"})
    manager.incremental_alter_configs("orders", [AlterOp("retention.ms", AlterOp.SET, "5000")])
    manager.delete("orders")
    assert announced(manager) == [
        ("topic_created", "orders", 1, {"retention.ms": "1000"}),
        ("partitions_added", "orders", 3, {"retention.ms": "1000"}),
        ("topic_config_changed", "orders", 3, {"cleanup.policy": "compact"}),
        (
            "topic_config_changed",
            "orders",
            3,
            {"cleanup.policy": "compact", "retention.ms": "5000"},
        ),
        ("topic_deleted", "orders", 3, {"cleanup.policy": "compact", "retention.ms": "5000"}),
    ]
    first = manager.outbox.events_since(0)[0].payload
    assert first["topic_id"] == str(created.topic_id) and first["is_internal"] is False


def test_refused_and_validate_only_changes_announce_nothing(manager: TopicManager) -> None:
    manager.create("orders", 1)
    before = manager.outbox.latest_seq()
    manager.create("other", 1, validate_only=True)
    manager.create_partitions("orders", 2, validate_only=True)
    manager.alter_configs("orders", {"retention.ms": "1"}, validate_only=True)
    with pytest.raises(Exception, match="already exists"):
        manager.create("orders", 1)
    assert manager.outbox.latest_seq() == before


def test_a_creation_undone_after_its_commit_is_announced_as_undone(
    manager: TopicManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_disk(*_args: object, **_kwargs: object) -> PartitionLog:
        raise OSError("disk full")

    monkeypatch.setattr(PartitionLog, "open", no_disk)
    with pytest.raises(OSError):
        manager.create("orders", 1)
    assert [name for name, *_ in announced(manager)] == ["topic_created", "topic_deleted"]
    assert "orders" not in manager


def test_partitions_that_cannot_be_opened_announce_nothing(
    manager: TopicManager, monkeypatch: pytest.MonkeyPatch
) -> None:
    manager.create("orders", 1)
    before = manager.outbox.latest_seq()

    def no_disk(*_args: object, **_kwargs: object) -> PartitionLog:
        raise OSError("disk full")

    monkeypatch.setattr(PartitionLog, "open", no_disk)
    with pytest.raises(OSError):
        manager.create_partitions("orders", 2)
    assert manager.outbox.latest_seq() == before
    assert manager.get("orders").partitions == 1  # type: ignore[union-attr]


# -- the broker's schema state ---------------------------------------------------------


SCHEMA_V1 = '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}'
SCHEMA_V2 = (
    '{"type":"record","name":"R","fields":[{"name":"a","type":"int"},'
    '{"name":"b","type":"int","default":0}]}'
)


@pytest.fixture
def registry_database(tmp_path: Path) -> Iterator[peewee.Database]:
    opened = open_database(f"sqlite:///{tmp_path / 'charter.db'}")
    migrate(opened)
    yield opened
    opened.close()


def apply_new_events(state: SchemaState, service: RegistryService) -> None:
    for event in service.store.outbox.events_since(state.last_seq):
        state.apply(event)


def test_schema_state_follows_registrations_and_deletes(
    registry_database: peewee.Database,
) -> None:
    service = RegistryService(registry_database)
    state = SchemaState(registry_database)
    service.register("orders-value", SchemaRequest(SCHEMA_V1))
    assert state.latest("orders-value") == LatestVersion(1, 1)  # loaded lazily
    assert state.latest("payments-value") is None
    service.register("orders-value", SchemaRequest(SCHEMA_V2))
    service.register("payments-value", SchemaRequest(SCHEMA_V1))
    assert state.latest("orders-value") == LatestVersion(1, 1)  # not applied yet: cached
    apply_new_events(state, service)
    assert state.latest("orders-value") == LatestVersion(2, 2)
    assert state.latest("payments-value") == LatestVersion(1, 1)
    assert state.last_seq == service.store.outbox.latest_seq()

    assert state.schema(2) is not None
    service.delete_version("orders-value", 2)
    apply_new_events(state, service)
    assert state.latest("orders-value") == LatestVersion(1, 1)
    service.delete_version("orders-value", 2, permanent=True)
    assert state.schema(2) is not None  # cached until the event is applied
    apply_new_events(state, service)
    assert state.schema(2) is None


def test_a_version_registered_before_its_event_is_applied_is_found(
    registry_database: peewee.Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    service = RegistryService(registry_database)
    state = SchemaState(registry_database)
    service.register("orders-value", SchemaRequest(SCHEMA_V1))
    assert state.subject_version("orders-value", 1) == 1  # the subject's versions cached
    assert state.subject_version("orders-value", 2) is None  # a miss, rechecked just now
    service.register("orders-value", SchemaRequest(SCHEMA_V2))  # event not applied yet
    assert state.subject_version("orders-value", 2) is None  # misses rechecked at most so often
    monkeypatch.setattr("broker.schemas.MISS_RECHECK_SECONDS", 0.0)
    assert state.subject_version("orders-value", 2) == 2
