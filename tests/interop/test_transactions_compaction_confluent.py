"""A compacted topic written by transactions, compacted by the broker's own cleaner, read by
confluent-kafka with read_committed: exactly the committed data, aborted data and their
markers gone from the log."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, KafkaException, Producer
from confluent_kafka import TopicPartition as KafkaTopicPartition

from broker.log import compact
from broker.protocol.records import CONTROL_ABORT, control_type, iter_records, read_batches

from ..broker.conftest import RunningBroker

TOPIC = "table"


@pytest.fixture
def compacting_broker(broker_factory) -> Iterator[RunningBroker]:
    running = broker_factory(log_retention_check_interval_ms=100)
    running.create_topic(
        TOPIC,
        1,
        **{
            "cleanup.policy": "compact",
            "segment.bytes": "2048",
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "0",
        },
    )
    yield running


def _producer(broker: RunningBroker, transactional_id: str) -> Producer:
    producer = Producer(
        {"bootstrap.servers": broker.bootstrap, "transactional.id": transactional_id}
    )
    producer.init_transactions(30)
    return producer


def _transaction(producer: Producer, pairs: list[tuple[str, str]], *, commit: bool) -> None:
    producer.begin_transaction()
    for key, value in pairs:
        producer.produce(TOPIC, key=key.encode(), value=value.encode(), partition=0)
    producer.flush(30)
    if commit:
        producer.commit_transaction(30)
    else:
        producer.abort_transaction(30)


def _read(broker: RunningBroker, isolation: str) -> list[tuple[bytes, bytes]]:
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": f"reader-{isolation}",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
        }
    )
    consumer.assign([KafkaTopicPartition(TOPIC, 0, OFFSET_BEGINNING)])
    seen: list[tuple[bytes, bytes]] = []
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    return seen
                raise KafkaException(message.error())
            seen.append((message.key(), message.value()))
    finally:
        consumer.close()
    raise AssertionError("never reached the end of the partition")


def _log_contents(broker: RunningBroker) -> tuple[list[bytes], int]:
    """(values of transactional data batches, number of ABORT markers) in the partition log."""
    topics = broker.app.topics
    assert topics is not None
    log = topics.log(TOPIC, 0)
    assert log is not None
    values, aborts = [], 0
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        for header in read_batches(data, strict=False):
            if header.is_control:
                aborts += control_type(data, header) == CONTROL_ABORT
            elif header.is_transactional:
                values += [record.value or b"" for record in iter_records(data, header)]
            offset = header.last_offset + 1
    return values, aborts


def _plain_values(broker: RunningBroker) -> list[bytes]:
    """Values of the non-transactional batches in the partition log."""
    topics = broker.app.topics
    assert topics is not None
    log = topics.log(TOPIC, 0)
    assert log is not None
    values: list[bytes] = []
    offset = log.log_start_offset
    while offset < log.log_end_offset:
        data = log.read(offset, 1 << 20)
        for header in read_batches(data, strict=False):
            if not header.is_transactional:
                values += [record.value or b"" for record in iter_records(data, header)]
            offset = header.last_offset + 1
    return values


def test_read_committed_after_compaction_sees_exactly_the_committed_data(
    compacting_broker: RunningBroker,
) -> None:
    producer = _producer(compacting_broker, "table-writer")
    keys = [f"k{i}" for i in range(5)]
    _transaction(producer, [(key, f"{key}-v1") for key in keys], commit=True)
    _transaction(producer, [(key, f"{key}-bad") for key in keys], commit=False)
    _transaction(producer, [(key, f"{key}-v2") for key in keys[:3]], commit=True)
    _transaction(producer, [(key, f"{key}-bad2") for key in keys[3:]], commit=False)
    # enough committed filler (distinct keys) to roll several segments past the above
    latest = {f"k{i}".encode(): f"k{i}-v{2 if i < 3 else 1}".encode() for i in range(5)}
    for round_ in range(6):
        filler = [(f"fill-{round_}-{i}", "x" * 100) for i in range(10)]
        _transaction(producer, filler, commit=True)
        latest.update((key.encode(), value.encode()) for key, value in filler)

    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        values, aborts = _log_contents(compacting_broker)
        if aborts == 0 and not any(b"bad" in value for value in values):
            break
        time.sleep(0.2)
    assert not any(b"bad" in value for value in values), "aborted data still in the log"
    assert aborts == 0, "ABORT markers without data still in the log"
    assert b"k0-v1" not in values  # compaction ran over the committed data too

    after = _read(compacting_broker, "read_committed")
    assert dict(after) == latest  # the committed table, key by key
    assert len({key for key, _ in after}) == len(after)  # one record per key left
    # the aborted records are physically gone: read_uncommitted sees the same
    assert dict(_read(compacting_broker, "read_uncommitted")) == latest
    producer.flush(10)


def test_an_open_transaction_is_not_compacted_over(compacting_broker: RunningBroker) -> None:
    """A transaction still open when the cleaner runs may yet abort: the committed values its
    records would shadow must survive compaction, and be what read_committed sees after the
    abort."""
    writer = _producer(compacting_broker, "table-writer")
    _transaction(writer, [("k", "committed"), ("j", "committed")], commit=True)
    writer.begin_transaction()
    writer.produce(TOPIC, key=b"k", value=b"pending", partition=0)
    writer.flush(30)
    # plain writes from another producer roll segments past the open transaction
    other = Producer(
        {"bootstrap.servers": compacting_broker.bootstrap, "batch.num.messages": 5}
    )  # batches below segment.bytes
    errors: list[object] = []
    for index in range(60):
        other.produce(
            TOPIC,
            key=b"j",
            value=b"x" * 100 + b"%d" % index,
            partition=0,
            on_delivery=lambda error, _: errors.append(error) if error else None,
        )
    assert other.flush(30) == 0
    assert not errors, errors[:3]
    topics = compacting_broker.app.topics
    assert topics is not None
    log = topics.log(TOPIC, 0)
    assert log is not None
    assert len(log.segments) > 3
    compact(log, int(time.time() * 1000))  # a pass now, besides the broker's own every 100 ms
    values, _ = _log_contents(compacting_broker)
    assert b"committed" in values and b"pending" in values
    assert len(_plain_values(compacting_broker)) == 60  # nothing past the open transaction
    writer.abort_transaction(30)
    deadline = time.monotonic() + 30  # now the broker's cleaner may proceed
    while time.monotonic() < deadline and len(_plain_values(compacting_broker)) == 60:
        time.sleep(0.2)
    assert len(_plain_values(compacting_broker)) < 60
    seen = dict(_read(compacting_broker, "read_committed"))
    assert seen[b"k"] == b"committed"
    assert seen[b"j"] == b"x" * 100 + b"59"
