"""kafkajs (Node.js) transactions: commit, abort, sendOffsets and a fenced zombie producer.

Runs ``tests/interop/js/transactions.js`` (kafkajs pinned in ``package.json``, installed by
the ``kafkajs_installed`` fixture; skipped, saying why, without node and npm).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.broker.conftest import RunningBroker, start_broker
from tests.interop.node import run_node_script


@pytest.fixture
def txn_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    running = start_broker(tmp_path / "data", group_initial_rebalance_delay_ms=0)
    try:
        running.create_topic("js-tx", 1)
        yield running
    finally:
        running.stop()


def test_kafkajs_transactions_offsets_and_fencing(
    kafkajs_installed: Path, txn_broker: RunningBroker
) -> None:
    [done] = run_node_script(
        kafkajs_installed, "transactions.js", txn_broker.bootstrap, "js-tx", "js-eos"
    )
    # EndTxn v1 (kafkajs' newest) reports a fenced epoch as INVALID_PRODUCER_EPOCH, as Kafka does.
    assert done["fenced"] == "INVALID_PRODUCER_EPOCH"
    [topic_offsets] = done["offsets"]
    assert [(p["partition"], p["offset"]) for p in topic_offsets["partitions"]] == [(0, "2")]
    assert done["values"] == ["kept-1", "kept-2", "kept-3"]
