"""Exactly-once across crashes: a transactional loop killed with SIGKILL, a broker killed
mid-transaction; idempotent retries across a dropped connection."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from tests.broker.broker_process import start_process
from tests.charter.processes import free_port

ROOT = Path(__file__).resolve().parents[2]


def _create_topics(bootstrap: str, *names: str) -> None:
    from confluent_kafka.admin import AdminClient, NewTopic

    admin = AdminClient({"bootstrap.servers": bootstrap})
    futures = admin.create_topics([NewTopic(name, 1) for name in names])
    for future in futures.values():
        future.result(30)


def _values(bootstrap: str, topic: str, isolation: str) -> list[bytes]:
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "check",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    values: list[bytes] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    return values
                continue
            values.append(message.value())
    finally:
        consumer.close()
    raise AssertionError("did not reach the end of the partition")


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _loop(bootstrap: str, total: int) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.e2e.txn_loop", bootstrap, str(total)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def test_loop_killed_midway_outputs_each_record_once(tmp_path: Path) -> None:
    total = 300
    broker, port = start_process(tmp_path / "data")
    bootstrap = f"127.0.0.1:{port}"
    loops: list[subprocess.Popen[str]] = []
    try:
        _create_topics(bootstrap, "in", "out")
        source = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True})
        for i in range(total):
            source.produce("in", value=f"{i:04d}".encode())
        source.flush(30)
        for threshold in (60, 160):
            loop = _loop(bootstrap, total)
            loops.append(loop)
            assert loop.stdout is not None
            for line in loop.stdout:
                if line.startswith("committed") and int(line.split()[1]) >= threshold:
                    break
            loop.send_signal(signal.SIGKILL)
            loop.wait()
        final = _loop(bootstrap, total)
        loops.append(final)
        out, _ = final.communicate(timeout=120)
        assert final.returncode == 0, out
        assert out.startswith("started ") and int(out.split()[1]) > 0
        committed = _values(bootstrap, "out", "read_committed")
        assert committed == [f"out-{i:04d}".encode() for i in range(total)]
        everything = _values(bootstrap, "out", "read_uncommitted")
        assert set(everything) == set(committed)  # extra copies only from aborted transactions
    finally:
        for loop in loops:
            if loop.poll() is None:
                loop.kill()
                loop.wait()
        _stop(broker)


def test_broker_killed_mid_transaction_recovers_and_commits(tmp_path: Path) -> None:
    port = free_port()
    broker, _ = start_process(tmp_path / "data", port=port)
    bootstrap = f"127.0.0.1:{port}"
    try:
        _create_topics(bootstrap, "out", "other")
        producer = Producer(
            {"bootstrap.servers": bootstrap, "transactional.id": "survivor", "linger.ms": 1}
        )
        producer.init_transactions(30)
        producer.begin_transaction()
        producer.produce("out", value=b"before-crash")
        producer.produce("other", value=b"before-crash")
        producer.flush(30)
        broker.send_signal(signal.SIGKILL)
        broker.wait()
        broker, _ = start_process(tmp_path / "data", port=port)
        producer.produce("out", value=b"after-restart")
        producer.commit_transaction(60)
        assert _values(bootstrap, "out", "read_committed") == [b"before-crash", b"after-restart"]
        assert _values(bootstrap, "other", "read_committed") == [b"before-crash"]
        # a second transaction, then a crash before it ends: the successor aborts it
        producer.begin_transaction()
        producer.produce("out", value=b"doomed")
        producer.flush(30)
        broker.send_signal(signal.SIGKILL)
        broker.wait()
        broker, _ = start_process(tmp_path / "data", port=port)
        successor = Producer({"bootstrap.servers": bootstrap, "transactional.id": "survivor"})
        successor.init_transactions(60)
        assert _values(bootstrap, "out", "read_committed") == [b"before-crash", b"after-restart"]
        assert b"doomed" in _values(bootstrap, "out", "read_uncommitted")
    finally:
        _stop(broker)
