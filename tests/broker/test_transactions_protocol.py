"""Transactions and fetch sessions over raw requests: exact error codes per version, hostile input."""

from __future__ import annotations

import asyncio
import datetime
import uuid

import pytest
from kio.schema.errors import ErrorCode

from broker.protocol import build, request_class
from broker.protocol.records import Record, build_batch
from broker.topics.store import broker_outbox
from broker.transactions import TxnState

from .conftest import RunningBroker
from .test_server_handlers import _Client

TIMEOUT = datetime.timedelta(seconds=60)


def _module(api_key: int, version: int):
    return __import__(request_class(api_key, version).__module__, fromlist=["x"])


def _init(client: _Client, txn: str | None, version: int = 4, pid: int = -1, epoch: int = -1):
    return client.call(
        22,
        version,
        transactional_id=txn,
        transaction_timeout=TIMEOUT,
        producer_id=pid,
        producer_epoch=epoch,
    )


def _add_partitions(
    client: _Client, txn: str, pid: int, epoch: int, topic: str, *parts: int, version: int = 3
):
    module = _module(24, version)
    topics = (build(module.AddPartitionsToTxnTopic, name=topic, partitions=parts),)
    body = client.call(
        24,
        version,
        v3_and_below_transactional_id=txn,
        v3_and_below_producer_id=pid,
        v3_and_below_producer_epoch=epoch,
        v3_and_below_topics=topics,
    )
    return {
        (topic_result.name, p.partition_index): p.partition_error_code
        for topic_result in body.results_by_topic_v3_and_below
        for p in topic_result.results_by_partition
    }


def _end(client: _Client, txn: str, pid: int, epoch: int, commit: bool, version: int = 3):
    return client.call(
        26, version, transactional_id=txn, producer_id=pid, producer_epoch=epoch, committed=commit
    ).error_code


def _produce_txn(client: _Client, txn: str | None, topic: str, pid: int, epoch: int, seq: int):
    records = build_batch(
        [Record(0, 0, None, b"v")],
        producer_id=pid,
        producer_epoch=epoch,
        base_sequence=seq,
        is_transactional=True,
    )
    module = _module(0, 9)
    partition = build(module.PartitionProduceData, index=0, records=records)
    body = client.call(
        0,
        9,
        transactional_id=txn,
        acks=-1,
        timeout=datetime.timedelta(seconds=5),
        topic_data=(build(module.TopicProduceData, name=topic, partition_data=(partition,)),),
    )
    return body.responses[0].partition_responses[0].error_code


def _txn_offset_commit(client: _Client, txn: str, pid: int, epoch: int, offset: int) -> int:
    module = _module(28, 3)
    body = client.call(
        28,
        3,
        transactional_id=txn,
        group_id="g",
        producer_id=pid,
        producer_epoch=epoch,
        generation_id=-1,
        member_id="",
        group_instance_id=None,
        topics=(
            build(
                module.TxnOffsetCommitRequestTopic,
                name="t",
                partitions=(
                    build(
                        module.TxnOffsetCommitRequestPartition,
                        partition_index=0,
                        committed_offset=offset,
                        committed_leader_epoch=-1,
                        committed_metadata=None,
                    ),
                ),
            ),
        ),
    )
    return body.topics[0].partitions[0].error_code


def _fetch(
    client: _Client, version: int, topics, *, session_id=0, epoch=-1, isolation=0, forgotten=()
):
    module = _module(1, version)
    return client.call(
        1,
        version,
        replica_id=-1,
        max_wait=datetime.timedelta(0),
        min_bytes=0,
        max_bytes=10 << 20,
        isolation_level=isolation,
        session_id=session_id,
        session_epoch=epoch,
        topics=tuple(
            build(
                module.FetchTopic,
                topic=name,
                topic_id=topic_id,
                partitions=tuple(
                    build(
                        module.FetchPartition,
                        partition=p,
                        fetch_offset=offset,
                        log_start_offset=-1,
                        partition_max_bytes=1 << 20,
                    )
                    for p, offset in parts
                ),
            )
            for name, topic_id, parts in topics
        ),
        forgotten_topics_data=forgotten,
        rack_id="",
    )


@pytest.fixture
def client(broker: RunningBroker):
    broker.create_topic("t", 2)
    connection = _Client(broker)
    yield connection
    connection.close()


def test_fencing_codes_follow_the_request_version(broker: RunningBroker, client: _Client) -> None:
    first = _init(client, "tx")
    second = _init(client, "tx")
    assert second.producer_id == first.producer_id and second.producer_epoch == 1
    pid = first.producer_id
    # AddPartitionsToTxn: PRODUCER_FENCED from v2, INVALID_PRODUCER_EPOCH before
    assert _add_partitions(client, "tx", pid, 0, "t", 0, version=3) == {
        ("t", 0): ErrorCode.producer_fenced
    }
    assert _add_partitions(client, "tx", pid, 0, "t", 0, version=1) == {
        ("t", 0): ErrorCode.invalid_producer_epoch
    }
    assert _end(client, "tx", pid, 0, True, version=3) == ErrorCode.producer_fenced
    assert _end(client, "tx", pid, 0, True, version=1) == ErrorCode.invalid_producer_epoch
    # KIP-360: naming a stale epoch in InitProducerId is fenced (v4) / INVALID_PRODUCER_EPOCH (v3)
    # (pid, previous epoch) is a retry of the bump: answered with the current epoch
    retried = _init(client, "tx", 4, pid, 0)
    assert (retried.error_code, retried.producer_epoch) == (ErrorCode.none, 1)
    assert _init(client, "tx").producer_epoch == 2
    assert _init(client, "tx", 4, pid, 0).error_code == ErrorCode.producer_fenced
    assert _init(client, "tx", 3, pid, 0).error_code == ErrorCode.invalid_producer_epoch
    assert _init(client, "tx", 4, pid + 1000, 2).error_code == ErrorCode.producer_fenced
    bumped = _init(client, "tx", 4, pid, 2)
    assert (bumped.error_code, bumped.producer_epoch) == (ErrorCode.none, 3)


def test_transaction_state_errors(broker: RunningBroker, client: _Client) -> None:
    init = _init(client, "tx2")
    pid, epoch = init.producer_id, init.producer_epoch
    assert _end(client, "tx2", pid, epoch, True) == ErrorCode.invalid_txn_state  # nothing open
    assert _end(client, "nope", pid, epoch, True) == ErrorCode.invalid_producer_id_mapping
    assert _produce_txn(client, "tx2", "t", pid, epoch, 0) == ErrorCode.invalid_txn_state
    assert _produce_txn(client, None, "t", pid, epoch, 0) == (
        ErrorCode.transactional_id_authorization_failed
    )
    errors = _add_partitions(client, "tx2", pid, epoch, "t", 0, 7)
    assert errors == {
        ("t", 0): ErrorCode.operation_not_attempted,
        ("t", 7): ErrorCode.unknown_topic_or_partition,
    }
    assert _add_partitions(client, "tx2", pid, epoch, "t", 0) == {("t", 0): ErrorCode.none}
    assert _produce_txn(client, "tx2", "t", pid, epoch, 0) == ErrorCode.none
    assert _produce_txn(client, "tx2", "t", pid + 1, epoch, 0) == (
        ErrorCode.invalid_producer_id_mapping
    )
    assert _end(client, "tx2", pid, epoch, False) == ErrorCode.none
    assert _end(client, "tx2", pid, epoch, False) == ErrorCode.none  # a retry
    outbox = broker_outbox(broker.app.database)
    events = broker.call(lambda: outbox.events_since(0))
    aborted = [e for e in events if e.name == "transaction_aborted"]
    assert len(aborted) == 1
    assert aborted[0].payload["transactional_id"] == "tx2"
    assert aborted[0].payload["partitions"] == [{"topic": "t", "partition": 0}]
    assert _end(client, "tx2", pid, epoch, True) == ErrorCode.invalid_txn_state
    # TxnOffsetCommit without AddOffsetsToTxn
    assert _txn_offset_commit(client, "tx2", pid, epoch, 1) == ErrorCode.invalid_txn_state


def test_hostile_transactional_requests(broker: RunningBroker, client: _Client) -> None:
    zero = client.call(
        22,
        4,
        transactional_id="tx3",
        transaction_timeout=datetime.timedelta(0),
        producer_id=-1,
        producer_epoch=-1,
    )
    assert zero.error_code == ErrorCode.invalid_transaction_timeout
    huge = client.call(
        22,
        4,
        transactional_id="tx3",
        transaction_timeout=datetime.timedelta(days=20),
        producer_id=-1,
        producer_epoch=-1,
    )
    assert huge.error_code == ErrorCode.invalid_transaction_timeout
    assert _init(client, "").error_code == ErrorCode.invalid_request
    assert _add_partitions(client, "ghost", 5, 0, "t", 0) == {
        ("t", 0): ErrorCode.invalid_producer_id_mapping
    }
    assert _add_partitions(client, "ghost", -1, -1, "t", -5) == {
        ("t", -5): ErrorCode.invalid_producer_id_mapping
    }
    offsets = client.call(
        25, 3, transactional_id="ghost", producer_id=1, producer_epoch=0, group_id=""
    )
    assert offsets.error_code == ErrorCode.invalid_request
    described = client.call(65, 0, transactional_ids=("ghost", "tx3"))
    assert described.transaction_states[0].error_code == ErrorCode.transactional_id_not_found
    assert described.transaction_states[1].error_code == ErrorCode.transactional_id_not_found
    listed = client.call(
        66, 1, state_filters=("Bogus",), producer_id_filters=(), duration_filter=-1
    )
    assert listed.unknown_state_filters == ("Bogus",)
    coordinator = client.call(10, 4, key_type=9, coordinator_keys=("x",))
    assert coordinator.coordinators[0].error_code == ErrorCode.invalid_request
    # still serving
    assert _init(client, "tx3").error_code == ErrorCode.none
    empty = client.call(65, 0, transactional_ids=("tx3",)).transaction_states[0]
    assert (empty.error_code, empty.transaction_state) == (ErrorCode.none, "Empty")


def test_describe_and_list_transactions(broker: RunningBroker, client: _Client) -> None:
    init = _init(client, "shown")
    _add_partitions(client, "shown", init.producer_id, init.producer_epoch, "t", 0, 1)
    described = client.call(65, 0, transactional_ids=("shown",)).transaction_states[0]
    assert described.transaction_state == "Ongoing"
    assert described.producer_id == init.producer_id
    assert [(t.topic, t.partitions) for t in described.topics] == [("t", (0, 1))]
    listed = client.call(
        66, 1, state_filters=("Ongoing",), producer_id_filters=(), duration_filter=-1
    )
    assert [s.transactional_id for s in listed.transaction_states] == ["shown"]
    found = client.call(10, 3, key="shown", key_type=1)
    assert (found.error_code, found.port) == (ErrorCode.none, broker.port)
    _end(client, "shown", init.producer_id, init.producer_epoch, commit=True)
    done = client.call(65, 0, transactional_ids=("shown",)).transaction_states[0]
    # As Kafka: a completed transaction describes no partitions.
    assert (done.transaction_state, done.topics) == ("CompleteCommit", ())


def test_fetch_sessions_topic_ids_and_list_offsets(broker: RunningBroker, client: _Client) -> None:
    info = broker.app.topics.get("t")
    assert info is not None
    topic_id = info.topic_id
    for value in (b"a", b"b"):
        module = _module(0, 9)
        partition = build(
            module.PartitionProduceData, index=0, records=build_batch([Record(0, 0, None, value)])
        )
        client.call(
            0,
            9,
            transactional_id=None,
            acks=-1,
            timeout=datetime.timedelta(seconds=5),
            topic_data=(build(module.TopicProduceData, name="t", partition_data=(partition,)),),
        )
    full = _fetch(client, 13, [(None, topic_id, [(0, 0), (1, 0)])], epoch=0)
    assert full.error_code == ErrorCode.none and full.session_id != 0
    assert full.responses[0].topic_id == topic_id
    assert {p.partition_index for p in full.responses[0].partitions} == {0, 1}
    # the client moves partition 0's position past what it got: nothing new, an empty response
    moved = _fetch(client, 13, [(None, topic_id, [(0, 2)])], session_id=full.session_id, epoch=1)
    assert moved.error_code == ErrorCode.none and moved.responses == ()
    quiet = _fetch(client, 13, [], session_id=full.session_id, epoch=2)
    assert quiet.error_code == ErrorCode.none and quiet.responses == ()
    stale = _fetch(client, 13, [], session_id=full.session_id, epoch=2)
    assert stale.error_code == ErrorCode.invalid_fetch_session_epoch
    unknown = _fetch(client, 13, [], session_id=full.session_id + 1, epoch=1)
    assert unknown.error_code == ErrorCode.fetch_session_id_not_found
    missing = _fetch(client, 13, [(None, uuid.uuid4(), [(0, 0)])])
    assert missing.responses[0].partitions[0].error_code == ErrorCode.unknown_topic_id
    # ListOffsets v7+: max timestamp (-3), earliest local (-4), and -3 refused below v7
    module = _module(2, 9)

    def list_offsets(version: int, timestamp: int):
        m = _module(2, version)
        query = build(
            m.ListOffsetsPartition, partition_index=0, current_leader_epoch=-1, timestamp=timestamp
        )
        body = client.call(
            2,
            version,
            replica_id=-1,
            isolation_level=0,
            topics=(build(m.ListOffsetsTopic, name="t", partitions=(query,)),),
        )
        return body.topics[0].partitions[0]

    del module
    newest = list_offsets(9, -3)
    assert newest.error_code == ErrorCode.none and newest.offset in (0, 1)
    assert list_offsets(8, -4).offset == 0
    assert list_offsets(6, -3).error_code == ErrorCode.unsupported_version


def test_coordinator_completes_a_prepared_commit_after_a_crash(broker_factory, tmp_path) -> None:
    """A crash after PREPARE_COMMIT was persisted and before the markers: recovery writes them."""
    data = tmp_path / "crash"
    broker = broker_factory(data)
    broker.create_topic("t", 1)
    client = _Client(broker)
    init = _init(client, "prep")
    pid, epoch = init.producer_id, init.producer_epoch
    _add_partitions(client, "prep", pid, epoch, "t", 0)
    assert _produce_txn(client, "prep", "t", pid, epoch, 0) == ErrorCode.none
    client.close()
    coordinator = broker.app.transactions
    assert coordinator is not None

    def prepare_only() -> None:
        meta = coordinator.get("prep")
        assert meta is not None
        meta.transition(TxnState.PREPARE_COMMIT, 0)
        coordinator._persist(meta)  # the decision is durable; the markers never get written

    broker.call(prepare_only)
    log = broker.app.topics.partition("t", 0)
    assert log.last_stable_offset == 0
    broker.stop()
    restarted = broker_factory(data)
    log = restarted.app.topics.partition("t", 0)
    assert log.last_stable_offset == log.log_end_offset == 2  # record + COMMIT marker
    meta = restarted.app.transactions.get("prep")
    assert meta is not None and meta.state is TxnState.COMPLETE_COMMIT
    assert asyncio.iscoroutinefunction(restarted.app.transactions.recover)
