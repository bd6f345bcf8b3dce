"""Restart persistence and crash safety of acknowledged records."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest
from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

from .broker_process import start_process
from .conftest import RunningBroker


def _consume_all(
    bootstrap: str, topic: str, expected_at_least: int, partitions: int = 1
) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, partition, 0) for partition in range(partitions)])
    values: list[bytes] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                assert message.error().code() == KafkaError._PARTITION_EOF, message.error()
                at_end.add(message.partition())
                if len(at_end) == partitions and len(values) >= expected_at_least:
                    break
                continue
            values.append(message.value())
    finally:
        consumer.close()
    return values


def test_restart_keeps_every_record(broker_factory, tmp_path: Path) -> None:
    first: RunningBroker = broker_factory(tmp_path / "data")
    producer = Producer(
        {"bootstrap.servers": first.bootstrap, "acks": "all", "enable.idempotence": True}
    )
    values = [b"persist-%d" % i for i in range(500)]
    for value in values:
        producer.produce("persist", value=value)
    assert producer.flush(30) == 0
    first.stop()
    second: RunningBroker = broker_factory(tmp_path / "data")
    assert _consume_all(second.bootstrap, "persist", 500) == values


@pytest.mark.slow
def test_kill_9_during_acks_all_storm_loses_no_acknowledged_record(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    process, port = start_process(data_dir)
    acknowledged: list[bytes] = []
    try:
        producer = Producer(
            {
                "bootstrap.servers": f"127.0.0.1:{port}",
                "acks": "all",
                "enable.idempotence": True,
                "linger.ms": 2,
                "message.timeout.ms": 5000,
                "reconnect.backoff.max.ms": 200,
            }
        )
        lock = threading.Lock()

        def delivered(err, msg) -> None:
            if err is None:
                with lock:
                    acknowledged.append(msg.value())

        sent = 0
        killed = False
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                producer.produce("storm", value=b"storm-%08d" % sent, on_delivery=delivered)
                sent += 1
            except BufferError:
                producer.poll(0.01)
                continue
            producer.poll(0)
            if not killed and len(acknowledged) >= 3000:
                process.send_signal(signal.SIGKILL)
                process.wait()
                killed = True
                stop_at = sent + 2000  # keep producing into the dead broker for a moment
            if killed and sent >= stop_at:
                break
        producer.flush(8)
        assert killed, f"only {len(acknowledged)} records acknowledged before the deadline"
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    process, port = start_process(data_dir)
    try:
        stored = _consume_all(f"127.0.0.1:{port}", "storm", len(acknowledged))
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    counts: dict[bytes, int] = {}
    for value in stored:
        counts[value] = counts.get(value, 0) + 1
    missing = [value for value in acknowledged if value not in counts]
    duplicated = [value for value, count in counts.items() if count > 1]
    assert not missing, f"{len(missing)} acknowledged records lost, e.g. {missing[:3]}"
    assert not duplicated, f"{len(duplicated)} records stored twice, e.g. {duplicated[:3]}"
