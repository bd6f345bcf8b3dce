"""A cluster that is not there: the consumer and ``charter consume``/``produce`` say so in one line
naming the bootstrap servers; a consumer told to wait starts once the broker does; a started
consumer waits out an outage instead of failing."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from charter import Consumer
from charter.sdk import CharterError
from tests.charter.processes import free_port, running_broker
from tests.registry.server_process import REPO_ROOT

NOWHERE_REGISTRY = "http://127.0.0.1:1"  # the consumer does not ask the registry at start


@pytest.mark.parametrize("group_id", [None, "g-unreachable"])
def test_a_consumer_of_a_cluster_that_is_down_fails_naming_it(group_id: str | None) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    with pytest.raises(CharterError) as raised:
        Consumer(bootstrap, NOWHERE_REGISTRY, topics=["t"], group_id=group_id)
    assert bootstrap in str(raised.value) and "no broker answers" in str(raised.value)


def test_the_applications_own_error_cb_and_log_level_reach_librdkafka() -> None:
    """Settings named with an underscore (callbacks, ``log_level``) are not turned into dots."""
    bootstrap = f"127.0.0.1:{free_port()}"
    seen: list[Any] = []
    with pytest.raises(CharterError):
        Consumer(bootstrap, NOWHERE_REGISTRY, topics=["t"], error_cb=seen.append, log_level=0)
    assert seen and all(error.code() for error in seen)


@pytest.mark.parametrize("command", [["consume", "t"], ["produce", "t"]])
def test_the_cli_against_a_cluster_that_is_down_prints_one_line(command: list[str]) -> None:
    bootstrap = f"127.0.0.1:{free_port()}"
    done = subprocess.run(
        [sys.executable, "-m", "charter", "--bootstrap-server", bootstrap]
        + ["--registry-url", NOWHERE_REGISTRY, *command],
        input='{"a": 1}\n',
        capture_output=True,
        text=True,
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("Error: ") and "Traceback" not in done.stderr
    if command[0] == "consume":  # produce asks the (here also absent) registry first
        assert bootstrap in done.stderr


def test_a_consumer_told_to_wait_starts_with_the_broker(tmp_path: Path) -> None:
    port = free_port()
    outcome: dict[str, Any] = {}

    def start() -> None:
        try:
            outcome["consumer"] = Consumer(
                f"127.0.0.1:{port}",
                NOWHERE_REGISTRY,
                topics=["t"],
                group_id=f"g-{uuid.uuid4().hex[:6]}",
                wait_for_cluster=120,
            )
        except Exception as error:  # reported to the test thread
            outcome["error"] = error

    waiting = threading.Thread(target=start)
    waiting.start()
    try:
        with running_broker(tmp_path / "data", kafka_port=port):
            waiting.join(timeout=150)
            assert "error" not in outcome, outcome.get("error")
            consumer = outcome["consumer"]
            assert consumer.poll(0.5) is None
            consumer.close()
    finally:
        waiting.join(timeout=150)


def test_a_started_consumer_waits_out_an_outage(tmp_path: Path) -> None:
    with running_broker(tmp_path / "data") as broker:
        consumer = Consumer(broker.bootstrap, NOWHERE_REGISTRY, topics=["t"], group_id="g-outage")
        assert consumer.poll(1.0) is None
        broker.stop()
        assert consumer.poll(3.0) is None  # logged and retried, not an error
        consumer.close()
