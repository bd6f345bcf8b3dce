"""Log-end offsets the broker publishes for the HTTP tier (``broker.topics.log_end``)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import peewee
import pytest

from broker.settings import BrokerSettings
from broker.topics import TopicManager
from broker.topics.log_end import LogEndReporter, log_end_offsets

SETTINGS = BrokerSettings(data_dir=Path("unused"))


@pytest.fixture
def manager(database: peewee.Database, tmp_path: Path) -> Iterator[TopicManager]:
    manager = TopicManager(database, tmp_path / "log", SETTINGS)
    yield manager
    manager.close()


def test_reports_what_moved_and_forgets_deleted_topics(
    database: peewee.Database, manager: TopicManager
) -> None:
    manager.create("orders", 2)
    reporter = LogEndReporter(database, manager.all_partitions, interval_s=1)
    assert reporter.report() == 2
    assert reporter.report() == 0  # nothing moved: nothing written
    assert {p: o.log_end_offset for p, o in log_end_offsets(database, "orders").items()} == {
        0: 0,
        1: 0,
    }
    manager.create_partitions("orders", 3)
    # A new reporter (a restarted broker) starts from what is stored: only the new partition.
    restarted = LogEndReporter(database, manager.all_partitions, interval_s=1)
    assert restarted.report() == 1
    manager.delete("orders")
    assert restarted.report() == 3
    assert log_end_offsets(database, "orders") == {}
