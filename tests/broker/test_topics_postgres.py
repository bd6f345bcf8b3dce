"""TopicManager over PostgreSQL: the same metadata rows, UUID ids and cascades as on SQLite."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from broker.errors import TopicAlreadyExists
from broker.settings import BrokerSettings
from broker.topics import TopicManager, store
from charter.db import apply_migrations, open_database

pytestmark = pytest.mark.postgres


def test_topic_lifecycle_on_postgres(pg_schema_url: str, tmp_path: Path) -> None:
    database = open_database(pg_schema_url)
    apply_migrations(database, [store])
    settings = BrokerSettings(data_dir=tmp_path)
    manager = TopicManager(database, tmp_path / "log", settings)
    try:
        info = manager.create("orders", 2, 1, {"retention.ms": "1000"})
        with pytest.raises(TopicAlreadyExists):
            manager.create("orders", 1)
        manager.incremental_alter_configs("orders", [])
        manager.alter_configs("orders", {"segment.bytes": "4096"})
        assert store.topic_configs() == {"orders": {"segment.bytes": "4096"}}
        manager.close()
        manager = TopicManager(database, tmp_path / "log", settings)
        assert manager.get("orders") == dataclasses.replace(info, configs={"segment.bytes": "4096"})
        manager.delete("orders")
        assert store.Topic.select().count() == 0
        assert store.TopicConfig.select().count() == 0
    finally:
        manager.close()
        database.close()
