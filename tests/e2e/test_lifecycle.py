"""``charter serve broker`` and ``charter up`` as processes: ready lines, clean stops, restarts, kill -9.

A clean stop (SIGTERM, exit 0) leaves a ``clean-shutdown`` marker in every
partition directory and segments that a restart opens without truncating a
byte; topics, records and producer state survive it. After ``kill -9`` of
``charter up``'s children, a restart still serves every acknowledged record.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import pytest
import requests
from confluent_kafka import Producer
from confluent_kafka.admin import AdminClient, NewTopic

from tests.charter.kafka_wire import RawClient, encode_batch
from tests.charter.processes import kafka_ready_line, launch, running_broker, running_up

CLEAN_MARKER = "clean-shutdown"


def _partition_dirs(data_dir: Path, topic: str) -> list[Path]:
    return sorted((data_dir / "log").glob(f"{topic}-*"))


def _segment_sizes(data_dir: Path) -> dict[str, int]:
    return {
        str(path.relative_to(data_dir)): path.stat().st_size
        for path in sorted((data_dir / "log").glob("*/*.log"))
    }


def _create_topic(bootstrap: str, name: str, partitions: int) -> None:
    admin = AdminClient({"bootstrap.servers": bootstrap})
    admin.create_topics([NewTopic(name, partitions)])[name].result(timeout=30)


def test_serve_broker_stops_cleanly_and_restarts_with_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = launch("serve broker", data_dir)
    try:
        first.wait_ready()
        assert kafka_ready_line(first.kafka_port) in first.output
        _create_topic(first.bootstrap, "durable", 2)
        with RawClient(first.kafka_port) as client:
            producer_id, epoch = client.init_producer_id()
            idempotent = encode_batch(
                [b"a", b"b", b"c"],
                producer_id=producer_id,
                producer_epoch=epoch,
                base_sequence=0,
            )
            assert client.produce("durable", 0, idempotent).base_offset == 0
            assert client.produce("durable", 1, encode_batch([b"x"])).base_offset == 0
        assert first.signal_and_wait(signal.SIGTERM) == 0
    finally:
        first.stop()
    assert "Kafka listener stopped" in first.output
    assert "Traceback" not in first.output
    partitions = _partition_dirs(data_dir, "durable")
    assert [path.name for path in partitions] == ["durable-0", "durable-1"]
    assert all((path / CLEAN_MARKER).exists() for path in partitions)
    sizes = _segment_sizes(data_dir)
    assert sizes["log/durable-0/00000000000000000000.log"] > 0

    with running_broker(data_dir) as second:
        # Nothing was truncated or rewritten on the way back up.
        assert _segment_sizes(data_dir) == sizes
        # The marker only describes a closed log.
        assert not any((path / CLEAN_MARKER).exists() for path in partitions)
        admin = AdminClient({"bootstrap.servers": second.bootstrap})
        metadata = admin.list_topics(timeout=20)
        assert sorted(metadata.topics["durable"].partitions) == [0, 1]
        with RawClient(second.kafka_port) as client:
            assert [r.value for r in client.fetch_all("durable", 0)] == [b"a", b"b", b"c"]
            assert [r.value for r in client.fetch_all("durable", 1)] == [b"x"]
            # The producer's state survived: a retry of its last batch is a duplicate.
            retried = client.produce("durable", 0, idempotent)
            assert retried.error_code == 0
            assert retried.base_offset == 0
            assert len(client.fetch_all("durable", 0)) == 3
            # ... and a new producer gets a fresh id, never a reused one.
            assert client.init_producer_id()[0] > producer_id
        assert second.signal_and_wait(signal.SIGTERM) == 0


@pytest.mark.slow
def test_charter_up_kill_9_of_children_loses_no_acknowledged_record(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    acknowledged: list[bytes] = []
    failed: list[str] = []
    with running_up(data_dir) as first:
        _create_topic(first.bootstrap, "storm", 1)
        subject = requests.post(
            f"{first.url}/subjects/storm-value/versions",
            json={"schema": '"string"'},
            headers={"Content-Type": "application/vnd.schemaregistry.v1+json"},
            timeout=10,
        )
        assert subject.status_code == 200, subject.text
        producer = Producer(
            {
                "bootstrap.servers": first.bootstrap,
                "acks": "all",
                "linger.ms": 1,
                "message.timeout.ms": 5000,
                "enable.idempotence": True,
            }
        )

        def on_delivery(error: object, message: object) -> None:
            if error is None:
                acknowledged.append(message.value())  # type: ignore[attr-defined]
            else:
                failed.append(str(error))

        stop = threading.Event()

        def produce_forever() -> None:
            index = 0
            while not stop.is_set():
                try:
                    producer.produce("storm", value=b"%06d" % index, on_delivery=on_delivery)
                    index += 1
                except BufferError:
                    pass
                producer.poll(0.001)

        thread = threading.Thread(target=produce_forever, daemon=True)
        thread.start()
        while len(acknowledged) < 300 and thread.is_alive():
            producer.poll(0.05)
        killed = first.kill_children()
        assert len(killed) == 2  # the HTTP tier and the broker
        assert first.process.wait(timeout=30) != 0  # the supervisor reports the lost children
        stop.set()
        thread.join(timeout=10)
        producer.flush(6)
    acked_before_restart = list(acknowledged)
    assert len(acked_before_restart) >= 300

    with running_up(data_dir) as second:
        with RawClient(second.kafka_port) as client:
            stored = client.fetch_all("storm", 0)
        offsets = [record.offset for record in stored]
        assert offsets == list(range(len(stored)))  # no hole, no half-written batch
        values = [record.value for record in stored]
        assert len(set(values)) == len(values)  # idempotence: no duplicates
        assert set(acked_before_restart) <= set(values)
        # The registry's data survived too.
        latest = requests.get(f"{second.url}/subjects/storm-value/versions/latest", timeout=10)
        assert latest.json()["schema"] == '"string"'
        assert second.signal_and_wait(signal.SIGTERM) == 0
    assert all((path / CLEAN_MARKER).exists() for path in _partition_dirs(data_dir, "storm"))
