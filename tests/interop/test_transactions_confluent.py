"""Transactions with confluent-kafka (librdkafka): commit, abort, isolation, fencing, timeout,
send_offsets_to_transaction, incremental fetch sessions."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    IsolationLevel,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import AdminClient, OffsetSpec

from ..broker.conftest import RunningBroker


def _producer(broker: RunningBroker, transactional_id: str, **extra: object) -> Producer:
    producer = Producer(
        {
            "bootstrap.servers": broker.bootstrap,
            "transactional.id": transactional_id,
            "linger.ms": 5,
            **extra,
        }
    )
    producer.init_transactions(30)
    return producer


def _consumer(broker: RunningBroker, isolation: str, **extra: object) -> Consumer:
    return Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "reader",
            "enable.auto.commit": False,
            "isolation.level": isolation,
            "enable.partition.eof": True,
            **extra,
        }
    )


def _read_all(
    broker: RunningBroker, topic: str, isolation: str, partitions: int = 1
) -> list[bytes]:
    """Every value of ``topic`` a consumer with ``isolation`` sees, up to the end of each partition."""
    consumer = _consumer(broker, isolation)
    consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in range(partitions)])
    values: list[bytes] = []
    at_end: set[int] = set()
    deadline = time.monotonic() + 30
    try:
        while len(at_end) < partitions and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    at_end.add(message.partition())
                    continue
                raise KafkaException(message.error())
            at_end.discard(message.partition())
            values.append(message.value())
    finally:
        consumer.close()
    assert len(at_end) == partitions, "did not reach the end of every partition"
    return values


@pytest.fixture
def txn_broker(broker_factory) -> Iterator[RunningBroker]:
    running = broker_factory(transaction_abort_check_interval_ms=100)
    running.create_topic("out", 2)
    yield running


def test_committed_visible_aborted_invisible_to_read_committed(txn_broker: RunningBroker) -> None:
    producer = _producer(txn_broker, "tx-a")
    producer.begin_transaction()
    for i in range(5):
        producer.produce("out", value=f"c{i}".encode(), partition=i % 2)
    producer.commit_transaction(30)
    producer.begin_transaction()
    for i in range(3):
        producer.produce("out", value=f"a{i}".encode(), partition=i % 2)
    producer.flush(30)
    producer.abort_transaction(30)
    producer.begin_transaction()
    producer.produce("out", value=b"c-last", partition=0)
    producer.commit_transaction(30)

    committed = _read_all(txn_broker, "out", "read_committed", partitions=2)
    assert sorted(committed) == sorted([f"c{i}".encode() for i in range(5)] + [b"c-last"])
    uncommitted = _read_all(txn_broker, "out", "read_uncommitted", partitions=2)
    assert sorted(uncommitted) == sorted(committed + [f"a{i}".encode() for i in range(3)])


def test_open_transaction_holds_back_read_committed(txn_broker: RunningBroker) -> None:
    producer = _producer(txn_broker, "tx-open")
    producer.begin_transaction()
    producer.produce("out", value=b"pending", partition=0)
    producer.flush(30)
    consumer = _consumer(txn_broker, "read_committed")
    low, high = consumer.get_watermark_offsets(TopicPartition("out", 0), timeout=10)
    consumer.close()
    assert high == 0  # the LSO: the open transaction's first offset
    assert _read_all(txn_broker, "out", "read_uncommitted", partitions=1) == [b"pending"]
    producer.commit_transaction(30)
    assert _read_all(txn_broker, "out", "read_committed", partitions=1) == [b"pending"]


def test_offsets_by_time_stop_at_the_last_stable_offset(txn_broker: RunningBroker) -> None:
    """As Kafka: a timestamp (or max-timestamp) lookup of a read_committed client finds no
    offset at or past the open transaction; a read_uncommitted one finds it."""
    producer = _producer(txn_broker, "tx-times")
    base = 1_900_000_000_000
    producer.begin_transaction()
    producer.produce("out", value=b"done", partition=0, timestamp=base)
    producer.commit_transaction(30)  # offsets 0 (record) and 1 (marker)
    producer.begin_transaction()
    producer.produce("out", value=b"open", partition=0, timestamp=base + 10)
    producer.flush(30)  # offset 2, not committed
    admin = AdminClient({"bootstrap.servers": txn_broker.bootstrap})
    partition = TopicPartition("out", 0)

    def lookup(spec: OffsetSpec, isolation: IsolationLevel) -> tuple[int, int]:
        found = admin.list_offsets({partition: spec}, isolation_level=isolation)[partition]
        result = found.result(timeout=10)
        return result.offset, result.timestamp

    committed, uncommitted = IsolationLevel.READ_COMMITTED, IsolationLevel.READ_UNCOMMITTED
    assert lookup(OffsetSpec.for_timestamp(base + 5), committed) == (-1, -1)
    assert lookup(OffsetSpec.max_timestamp(), committed) == (-1, -1)
    assert lookup(OffsetSpec.for_timestamp(base), committed) == (0, base)
    assert lookup(OffsetSpec.for_timestamp(base + 5), uncommitted) == (2, base + 10)
    assert lookup(OffsetSpec.max_timestamp(), uncommitted) == (2, base + 10)
    producer.abort_transaction(30)


def test_zombie_producer_is_fenced(txn_broker: RunningBroker) -> None:
    zombie = _producer(txn_broker, "tx-z")
    zombie.begin_transaction()
    zombie.produce("out", value=b"zombie", partition=0)
    zombie.flush(30)
    successor = _producer(txn_broker, "tx-z")  # bumps the epoch, aborts the zombie's transaction
    successor.begin_transaction()
    successor.produce("out", value=b"successor", partition=0)
    successor.commit_transaction(30)
    with pytest.raises(KafkaException) as raised:
        zombie.produce("out", value=b"late", partition=0)
        zombie.commit_transaction(30)
    assert raised.value.args[0].fatal() or raised.value.args[0].code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    )
    assert _read_all(txn_broker, "out", "read_committed", partitions=2) == [b"successor"]


def test_transaction_timeout_aborts(txn_broker: RunningBroker) -> None:
    producer = _producer(txn_broker, "tx-slow", **{"transaction.timeout.ms": 1000})
    producer.begin_transaction()
    producer.produce("out", value=b"too-slow", partition=1)
    producer.flush(30)
    coordinator = txn_broker.app.transactions
    assert coordinator is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state = txn_broker.call(lambda: coordinator.describe("tx-slow").state.value)
        if state == "CompleteAbort":
            break
        time.sleep(0.1)
    assert state == "CompleteAbort"
    with pytest.raises(KafkaException) as raised:
        producer.commit_transaction(30)
    # the coordinator bumped the epoch: the producer is fenced on its next call
    assert raised.value.args[0].code() in (
        KafkaError._FENCED,
        KafkaError.PRODUCER_FENCED,
        KafkaError.INVALID_PRODUCER_EPOCH,
    ), raised.value.args[0]
    assert _read_all(txn_broker, "out", "read_committed", partitions=2) == []
    assert _read_all(txn_broker, "out", "read_uncommitted", partitions=2) == [b"too-slow"]


def test_send_offsets_to_transaction(txn_broker: RunningBroker) -> None:
    txn_broker.create_topic("in", 1)
    source = Producer({"bootstrap.servers": txn_broker.bootstrap})
    for i in range(4):
        source.produce("in", value=f"in{i}".encode())
    source.flush(30)
    consumer = _consumer(txn_broker, "read_committed", **{"group.id": "pipeline"})
    producer = _producer(txn_broker, "tx-pipe")
    producer.begin_transaction()
    producer.produce("out", value=b"derived", partition=0)
    producer.send_offsets_to_transaction(
        [TopicPartition("in", 0, 4)], consumer.consumer_group_metadata(), 30
    )
    producer.commit_transaction(30)
    producer.begin_transaction()
    producer.produce("out", value=b"dropped", partition=0)
    producer.send_offsets_to_transaction(
        [TopicPartition("in", 0, 99)], consumer.consumer_group_metadata(), 30
    )
    producer.abort_transaction(30)
    # The committed transaction's offsets are the group's, as OffsetFetch reports them; the
    # aborted one's are gone.
    (committed,) = consumer.committed([TopicPartition("in", 0)], timeout=30)
    consumer.close()
    assert committed.offset == 4


def test_read_committed_consumer_waits_for_transactional_offsets(
    txn_broker: RunningBroker,
) -> None:
    """librdkafka sends OffsetFetch require_stable for read_committed: while a transaction holds
    the group's offset it is told UNSTABLE_OFFSET_COMMIT and retries until the commit."""
    txn_broker.create_topic("src", 1)
    group = {"group.id": "stable-pipeline"}
    producer = _producer(txn_broker, "tx-stable")
    metadata_consumer = _consumer(txn_broker, "read_committed", **group)
    producer.begin_transaction()
    producer.produce("out", value=b"derived", partition=0)
    producer.send_offsets_to_transaction(
        [TopicPartition("src", 0, 7)], metadata_consumer.consumer_group_metadata(), 30
    )
    uncommitted = _consumer(txn_broker, "read_uncommitted", **group)
    (seen,) = uncommitted.committed([TopicPartition("src", 0)], timeout=30)
    uncommitted.close()
    assert seen.offset < 0  # no offset committed yet: answered at once, no stability asked

    answers: list[int] = []

    def fetch_committed() -> None:
        (found,) = metadata_consumer.committed([TopicPartition("src", 0)], timeout=60)
        answers.append(found.offset)

    waiter = threading.Thread(target=fetch_committed)
    waiter.start()
    time.sleep(1.5)  # let the read_committed OffsetFetch reach the broker and be told to retry
    producer.commit_transaction(30)
    waiter.join(60)
    metadata_consumer.close()
    assert answers == [7]  # not "no offset": it waited for the transaction to end
