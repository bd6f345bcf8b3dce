"""Committed offsets survive a broker restart and a ``kill -9`` of ``charter serve broker``."""

from __future__ import annotations

import signal
from pathlib import Path

from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.charter.processes import free_port, launch
from tests.e2e.resume import consume_and_commit

FAST_GROUPS = {"CHARTER_GROUP_INITIAL_REBALANCE_DELAY_MS": "0"}


def test_group_resumes_after_restart_and_kill_9(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    port = free_port()
    broker = launch("serve broker", data_dir, kafka_port=port, environment=FAST_GROUPS)
    try:
        broker.wait_ready()
        bootstrap = broker.bootstrap
        admin = AdminClient({"bootstrap.servers": bootstrap})
        admin.create_topics([NewTopic("resume", 1)])["resume"].result(timeout=30)
        producer = Producer({"bootstrap.servers": bootstrap})
        for index in range(90):
            producer.produce("resume", value=b"%d" % index)
        assert producer.flush(30) == 0
        assert consume_and_commit(bootstrap, "resume", 30) == list(range(30))
        assert broker.signal_and_wait(signal.SIGTERM) == 0
    finally:
        broker.stop()

    broker = launch("serve broker", data_dir, kafka_port=port, environment=FAST_GROUPS)
    try:
        broker.wait_ready()
        assert consume_and_commit(broker.bootstrap, "resume", 30) == list(range(30, 60))
        broker.process.kill()  # kill -9: no clean shutdown after the commits
        broker.process.wait(timeout=10)
    finally:
        broker.stop()

    broker = launch("serve broker", data_dir, kafka_port=port, environment=FAST_GROUPS)
    try:
        broker.wait_ready()
        assert consume_and_commit(broker.bootstrap, "resume", 30) == list(range(60, 90))
    finally:
        broker.stop()
