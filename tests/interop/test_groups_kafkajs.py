"""kafkajs (Node.js) as a group consumer: a client from another ecosystem, installed by the test.

The package is pinned in ``tests/interop/js/package.json`` (and its lock file);
the ``kafkajs_installed`` fixture (``conftest.py``) runs ``npm ci`` when
``node_modules`` is missing, so CI needs only node and npm. Skipped, saying why, when they are absent.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker.conftest import RunningBroker, start_broker
from tests.interop.node import run_node_script


@pytest.fixture
def groups_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    running = start_broker(tmp_path / "data", group_initial_rebalance_delay_ms=0)
    try:
        running.create_topic("js-orders", 2)
        yield running
    finally:
        running.stop()


def test_kafkajs_group_consumes_commits_and_lists(
    kafkajs_installed: Path, groups_broker: RunningBroker
) -> None:
    lines = run_node_script(
        kafkajs_installed,
        "group_consumer.js",
        groups_broker.bootstrap,
        "js-orders",
        "js-group",
        "40",
    )
    values = sorted(int(line["value"]) for line in lines if line["event"] == "record")
    assert values == list(range(40))
    [done] = [line for line in lines if line["event"] == "done"]
    [topic_offsets] = done["offsets"]
    committed = {int(p["partition"]): int(p["offset"]) for p in topic_offsets["partitions"]}
    assert committed == {0: 20, 1: 20}
    assert {"groupId": "js-group", "protocolType": "consumer"} in done["groups"]["groups"]
