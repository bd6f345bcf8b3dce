"""kafkajs (Node.js) admin and producer calls: what a kafkajs user runs against a Kafka cluster.

One node process (``js/admin_tour.js``) runs every step against one broker and
prints one JSON line per step; each is checked here against what Apache Kafka
answers. Skipped, saying why, without node and npm.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.broker.conftest import RunningBroker
from tests.interop.node import run_node_script


def _tour(kafkajs_installed: Path, broker: RunningBroker, topic: str) -> dict[str, Any]:
    lines = run_node_script(kafkajs_installed, "admin_tour.js", broker.bootstrap, topic)
    return {line["step"]: line for line in lines}


def _result(steps: dict[str, Any], name: str) -> Any:
    assert steps[name]["ok"], steps[name]
    return steps[name]["result"]


def _error(steps: dict[str, Any], name: str) -> str:
    assert not steps[name]["ok"], steps[name]
    return steps[name]["error"]


def test_kafkajs_admin_tour(kafkajs_installed: Path, broker: RunningBroker) -> None:
    steps = _tour(kafkajs_installed, broker, "tour")
    assert _result(steps, "createTopics") is True
    assert _result(steps, "createTopicsAgain") is False  # TOPIC_ALREADY_EXISTS
    assert _error(steps, "createBadName") == "KafkaJSAggregateError"
    [metadata] = _result(steps, "fetchTopicMetadata")["topics"]
    assert [(p["partitionId"], p["leader"], p["isr"]) for p in metadata["partitions"]] == [
        (0, 0, [0]),
        (1, 0, [0]),
    ]
    assert _error(steps, "fetchUnknownMetadata") == "UNKNOWN_TOPIC_OR_PARTITION"
    assert _result(steps, "send")[0]["baseOffset"] == "0"
    assert _error(steps, "sendTooLarge") == "MESSAGE_TOO_LARGE"
    offsets = {p["partition"]: (p["low"], p["high"]) for p in _result(steps, "fetchTopicOffsets")}
    assert offsets == {0: ("0", "6"), 1: ("0", "0")}
    by_time = {p["partition"]: p["offset"] for p in _result(steps, "fetchTopicOffsetsByTimestamp")}
    assert by_time[0] == "3"  # first record at or after base + 2.5 s
    assert _result(steps, "describeConfigs") == [
        ["retention.ms", "3600000", False],
        ["cleanup.policy", "delete", True],
    ]
    assert _result(steps, "deleteTopicRecords") is None
    assert _error(steps, "deleteBeyondEnd") == "KafkaJSNonRetriableError"  # OFFSET_OUT_OF_RANGE
    after = {p["partition"]: p["low"] for p in _result(steps, "offsetsAfterDelete")}
    assert after[0] == "2"
    assert _result(steps, "createPartitions") is None
    assert _result(steps, "deleteTopics") is None
    assert "tour" not in _result(steps, "listTopics")
