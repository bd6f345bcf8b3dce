"""Group offsets and transaction state written by the broker while two HTTP workers read them,
then a ``kill -9`` of the whole platform, on SQLite and on PostgreSQL.

``charter up`` runs the broker and two HTTP workers over one database: a consumer
group commits after every record while threads read the group's lineage (its
committed offsets, fed by the broker's outbox) through the HTTP tier; a
transactional pipeline commits its consumer offsets in a transaction and leaves
a second one open (offsets staged, not committed) when every process is killed.
After a restart the group resumes where it committed, the open transaction's
staged offsets keep OffsetFetch ``require_stable`` answering
UNSTABLE_OFFSET_COMMIT until its timeout aborts it, and then the offsets of
the committed transaction are the group's.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from tests.charter.processes import CharterProcess, free_port, launch
from tests.e2e.resume import consume_and_commit

ENVIRONMENT = {
    "CHARTER_GROUP_INITIAL_REBALANCE_DELAY_MS": "0",
    "CHARTER_GROUP_OFFSETS_EVENT_INTERVAL_MS": "100",
    "CHARTER_TRANSACTION_ABORT_CHECK_INTERVAL_MS": "200",
}
TXN_TIMEOUT_MS = 4000


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_environment(request: pytest.FixtureRequest) -> dict[str, str]:
    if request.param == "sqlite":
        return {}
    return {"CHARTER_DATABASE_URL": request.getfixturevalue("fresh_postgres_url")}


@pytest.fixture
def platform(tmp_path: Path, database_environment: dict[str, str]) -> Iterator[list]:
    """Started platforms, all stopped (process groups killed) at the end."""
    started: list[CharterProcess] = []
    yield started
    for process in started:
        process.stop()


def _up(started: list, data_dir: Path, environment: dict[str, str], ports: tuple[int, int]):
    process = launch(
        "up",
        data_dir,
        kafka_port=ports[0],
        http_port=ports[1],
        extra_args=("--http-workers", "2"),
        environment={**ENVIRONMENT, **environment},
    )
    started.append(process)
    process.wait_ready()
    return process


def _committed(bootstrap: str, group: str, isolation: str) -> int:
    consumer = Consumer(
        {"bootstrap.servers": bootstrap, "group.id": group, "isolation.level": isolation}
    )
    try:
        (found,) = consumer.committed([TopicPartition("events", 0)], timeout=60)
        return found.offset
    finally:
        consumer.close()


def _group_offset(url: str) -> int | None:
    response = requests.get(f"{url}/catalog/v1/lineage", params={"entity": "group:resumer"})
    assert response.status_code == 200, response.text
    for topic in response.json()["topics"]:
        if topic["topic"] == "events":
            return {o["partition"]: o["offset"] for o in topic["offsets"]}.get(0)
    return None


def test_offsets_and_transactions_across_processes_and_kill_9(
    tmp_path: Path, platform: list, database_environment: dict[str, str]
) -> None:
    data_dir = tmp_path / "data"
    ports = (free_port(), free_port())
    first = _up(platform, data_dir, database_environment, ports)
    admin = AdminClient({"bootstrap.servers": first.bootstrap})
    admin.create_topics([NewTopic("events", 1)])["events"].result(timeout=30)
    producer = Producer({"bootstrap.servers": first.bootstrap})
    for index in range(60):
        producer.produce("events", value=b"%d" % index)
    assert producer.flush(30) == 0

    # readers through both HTTP workers while the broker commits after every record
    seen: list[int] = []
    failures: list[str] = []
    stop = threading.Event()

    def read_lineage() -> None:
        while not stop.is_set():
            try:
                offset = _group_offset(first.url)
            except (AssertionError, requests.RequestException) as exc:
                failures.append(repr(exc))
                return
            if offset is not None:
                seen.append(offset)

    readers = [threading.Thread(target=read_lineage) for _ in range(4)]
    for reader in readers:
        reader.start()
    try:
        assert consume_and_commit(first.bootstrap, "events", 30) == list(range(30))
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and (not seen or seen[-1] != 30) and not failures:
            time.sleep(0.1)
    finally:
        stop.set()
        for reader in readers:
            reader.join(timeout=30)
    assert not failures, failures[:3]
    assert seen and seen[-1] == 30  # the catalog followed the commits

    # a transaction commits the pipeline's offset; a second one is left open with offsets staged
    pipeline = Consumer({"bootstrap.servers": first.bootstrap, "group.id": "pipeline"})
    txn_producer = Producer(
        {
            "bootstrap.servers": first.bootstrap,
            "transactional.id": "pipe",
            "transaction.timeout.ms": TXN_TIMEOUT_MS,
        }
    )
    txn_producer.init_transactions(30)
    for offset, commit in ((10, True), (20, False)):
        txn_producer.begin_transaction()
        txn_producer.produce("events", value=b"-1")
        txn_producer.send_offsets_to_transaction(
            [TopicPartition("events", 0, offset)], pipeline.consumer_group_metadata(), 30
        )
        txn_producer.flush(30)
        if commit:
            txn_producer.commit_transaction(30)
    pipeline.close()

    os.killpg(first.process.pid, signal.SIGKILL)  # every process of the platform at once
    first.process.wait(timeout=10)

    second = _up(platform, data_dir, database_environment, ports)
    assert consume_and_commit(second.bootstrap, "events", 30) == list(range(30, 60))
    # the open transaction's staged offset is not visible, and read_committed waits for its
    # fate (UNSTABLE_OFFSET_COMMIT until the coordinator aborts it after its timeout)
    assert _committed(second.bootstrap, "pipeline", "read_uncommitted") == 10
    assert _committed(second.bootstrap, "pipeline", "read_committed") == 10
    # the recovered open transaction was aborted: read_committed sees only the committed output
    assert sorted(_read_committed_values(second.bootstrap, 61)) == sorted(
        [str(index) for index in range(60)] + ["-1"]
    )


def _read_committed_values(bootstrap: str, count: int) -> list[str]:
    """``count`` values of ``events`` from the start as read_committed sees them, then checks
    nothing more arrives up to the end of the partition."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "auditor",
            "auto.offset.reset": "earliest",
            "isolation.level": "read_committed",
            "enable.partition.eof": True,
        }
    )
    consumer.subscribe(["events"])
    values: list[str] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None:
                continue
            if message.error():
                if len(values) >= count:
                    break  # end of partition with everything read
                continue
            values.append(message.value().decode())
    finally:
        consumer.close()
    return values
