"""The coordinator's background expiry (timed-out transactions aborted with the producer fenced,
idle transactional ids forgotten) and OffsetFetch ``require_stable`` against staged offsets."""

from __future__ import annotations

import datetime
import time
from collections.abc import Callable

import pytest
from kio.schema.errors import ErrorCode

from broker.protocol import build
from broker.transactions import TxnState, store

from .conftest import RunningBroker
from .test_server_handlers import _Client
from .test_transactions_protocol import (
    _add_partitions,
    _end,
    _module,
    _produce_txn,
    _txn_offset_commit,
)


def _init(client: _Client, txn: str, timeout_ms: int):
    return client.call(
        22,
        4,
        transactional_id=txn,
        transaction_timeout=datetime.timedelta(milliseconds=timeout_ms),
        producer_id=-1,
        producer_epoch=-1,
    )


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_timed_out_transaction_is_aborted_and_its_producer_fenced(
    broker_factory, broker_database_url: str | None
) -> None:
    broker: RunningBroker = broker_factory(
        transaction_abort_check_interval_ms=50, database_url=broker_database_url
    )
    broker.create_topic("t", 1)
    coordinator = broker.app.transactions
    assert coordinator is not None
    client = _Client(broker)
    try:
        init = _init(client, "slow", timeout_ms=300)
        pid, epoch = init.producer_id, init.producer_epoch
        assert _add_partitions(client, "slow", pid, epoch, "t", 0) == {("t", 0): ErrorCode.none}
        assert _produce_txn(client, "slow", "t", pid, epoch, 0) == ErrorCode.none
        _wait_for(
            lambda: (
                broker.call(lambda: coordinator.describe("slow").state) is TxnState.COMPLETE_ABORT
            ),
            "the coordinator to abort the timed-out transaction",
        )
        meta = broker.call(lambda: coordinator.describe("slow"))
        assert (meta.producer_id, meta.producer_epoch) == (pid, epoch + 1)
        log = broker.app.topics.log("t", 0)
        assert log.last_stable_offset == log.log_end_offset == 2  # data + ABORT marker
        assert [entry.producer_id for entry in log.aborted_transactions(0, 2)] == [pid]
        # every next call of the old producer is fenced
        assert _produce_txn(client, "slow", "t", pid, epoch, 1) == ErrorCode.invalid_producer_epoch
        assert _add_partitions(client, "slow", pid, epoch, "t", 0) == {
            ("t", 0): ErrorCode.producer_fenced
        }
        assert _end(client, "slow", pid, epoch, True) == ErrorCode.producer_fenced
        # KIP-360: the fenced producer may re-initialise naming its old epoch
        again = client.call(
            22,
            4,
            transactional_id="slow",
            transaction_timeout=datetime.timedelta(seconds=60),
            producer_id=pid,
            producer_epoch=epoch,
        )
        assert (again.error_code, again.producer_id, again.producer_epoch) == (
            ErrorCode.none,
            pid,
            epoch + 1,
        )
    finally:
        client.close()


def test_idle_transactional_ids_expire_and_start_over(
    broker_factory, broker_database_url: str | None
) -> None:
    broker: RunningBroker = broker_factory(
        database_url=broker_database_url,
        transaction_abort_check_interval_ms=50,
        transactional_id_expiration_ms=400,
        transaction_remove_expired_interval_ms=50,
    )
    broker.create_topic("t", 1)
    coordinator = broker.app.transactions
    assert coordinator is not None
    client = _Client(broker)
    try:
        done = _init(client, "done", timeout_ms=60_000)
        pid, epoch = done.producer_id, done.producer_epoch
        assert _add_partitions(client, "done", pid, epoch, "t", 0) == {("t", 0): ErrorCode.none}
        assert _end(client, "done", pid, epoch, True) == ErrorCode.none
        ongoing = _init(client, "ongoing", timeout_ms=60_000)
        assert _add_partitions(
            client, "ongoing", ongoing.producer_id, ongoing.producer_epoch, "t", 0
        ) == {("t", 0): ErrorCode.none}

        _wait_for(
            lambda: broker.call(lambda: coordinator.get("done")) is None,
            "the idle transactional id to expire",
        )
        stored = {meta.transactional_id for meta in store.load_all(broker.app.database)}
        assert "done" not in stored
        # an open transaction is never expired by idleness (its timeout handles it)
        assert broker.call(lambda: coordinator.describe("ongoing").state) is TxnState.ONGOING
        assert "ongoing" in stored
        # the old producer id is no longer mapped; a new InitProducerId starts over
        assert _add_partitions(client, "done", pid, epoch, "t", 0) == {
            ("t", 0): ErrorCode.invalid_producer_id_mapping
        }
        fresh = _init(client, "done", timeout_ms=60_000)
        assert fresh.error_code == ErrorCode.none
        assert fresh.producer_id != pid and fresh.producer_epoch == 0
    finally:
        client.close()


def _offset_fetch(client: _Client, version: int, require_stable: bool) -> dict[int, tuple]:
    """partition -> (error code, offset) of group g's partitions 0 and 1 of t."""
    module = _module(9, version)
    if version >= 8:
        topic = build(module.OffsetFetchRequestTopics, name="t", partition_indexes=(0, 1))
        group = build(module.OffsetFetchRequestGroup, group_id="g", topics=(topic,))
        body = client.call(9, version, groups=(group,), require_stable=require_stable)
        (answer,) = body.groups
        partitions = answer.topics[0].partitions
    else:
        topic = build(module.OffsetFetchRequestTopic, name="t", partition_indexes=(0, 1))
        body = client.call(9, version, group_id="g", topics=(topic,), require_stable=require_stable)
        partitions = body.topics[0].partitions
    return {p.partition_index: (p.error_code, p.committed_offset) for p in partitions}


def test_offset_fetch_require_stable_answers_unstable_while_a_transaction_holds_offsets(
    broker_factory, broker_database_url: str | None
) -> None:
    broker: RunningBroker = broker_factory(database_url=broker_database_url)
    broker.create_topic("t", 2)
    client = _Client(broker)
    try:
        init = _init(client, "pipe", timeout_ms=60_000)
        pid, epoch = init.producer_id, init.producer_epoch
        for expected_offset, commit in ((5, True), (9, False)):
            assert (
                client.call(
                    25,
                    3,
                    transactional_id="pipe",
                    producer_id=pid,
                    producer_epoch=epoch,
                    group_id="g",
                ).error_code
                == ErrorCode.none
            )
            assert _txn_offset_commit(client, "pipe", pid, epoch, expected_offset) == 0
            for version in (7, 8):
                assert _offset_fetch(client, version, require_stable=True) == {
                    0: (ErrorCode.unstable_offset_commit, -1),
                    1: (ErrorCode.none, -1),
                }
            # without require_stable the last committed offset is answered as it is
            before = -1 if commit else 5
            assert _offset_fetch(client, 8, require_stable=False)[0] == (ErrorCode.none, before)
            assert _end(client, "pipe", pid, epoch, commit) == ErrorCode.none
            assert _offset_fetch(client, 8, require_stable=True)[0] == (ErrorCode.none, 5)
    finally:
        client.close()


def test_end_txn_answers_after_every_marker_is_fsynced(broker_factory) -> None:
    """Even where flush.messages does not fsync each append, the markers are synced before the
    transaction is recorded complete (and EndTxn answered)."""
    broker: RunningBroker = broker_factory(log_flush_messages=1_000_000)
    broker.create_topic("t", 2)
    coordinator = broker.app.transactions
    assert coordinator is not None
    synced: list[tuple[int, TxnState]] = []
    real_flush = coordinator._flush

    async def observed_flush(partition_log) -> None:
        state = coordinator.describe("durable").state
        synced.append((int(partition_log.directory.name.rsplit("-", 1)[1]), state))
        await real_flush(partition_log)

    coordinator._flush = observed_flush
    client = _Client(broker)
    try:
        init = _init(client, "durable", timeout_ms=60_000)
        pid, epoch = init.producer_id, init.producer_epoch
        assert _add_partitions(client, "durable", pid, epoch, "t", 0, 1) == {
            ("t", 0): ErrorCode.none,
            ("t", 1): ErrorCode.none,
        }
        assert _produce_txn(client, "durable", "t", pid, epoch, 0) == ErrorCode.none
        assert _end(client, "durable", pid, epoch, True) == ErrorCode.none
        # only partition 0 has an open transaction (data was produced there): one marker, synced
        # while the transaction was still PrepareCommit
        assert synced == [(0, TxnState.PREPARE_COMMIT)]
        assert broker.call(lambda: coordinator.describe("durable").state) is (
            TxnState.COMPLETE_COMMIT
        )
    finally:
        client.close()


def test_a_failed_marker_write_is_retried_until_the_transaction_completes(
    broker_factory,
) -> None:
    broker: RunningBroker = broker_factory(transaction_abort_check_interval_ms=50)
    broker.create_topic("t", 1)
    coordinator = broker.app.transactions
    assert coordinator is not None
    real_flush = coordinator._flush
    failures = [OSError(5, "Input/output error")]

    async def failing_once(partition_log) -> None:
        if failures:
            raise failures.pop()
        await real_flush(partition_log)

    coordinator._flush = failing_once
    client = _Client(broker)
    try:
        init = _init(client, "flaky", timeout_ms=60_000)
        pid, epoch = init.producer_id, init.producer_epoch
        assert _add_partitions(client, "flaky", pid, epoch, "t", 0) == {("t", 0): ErrorCode.none}
        assert _produce_txn(client, "flaky", "t", pid, epoch, 0) == ErrorCode.none
    finally:
        client.close()
    failed = _Client(broker)
    try:
        with pytest.raises(AssertionError, match="connection closed"):  # the handler failed
            _end(failed, "flaky", pid, epoch, True)
    finally:
        failed.close()
    _wait_for(
        lambda: (
            broker.call(lambda: coordinator.describe("flaky").state) is TxnState.COMPLETE_COMMIT
        ),
        "the coordinator to complete the prepared commit",
    )
    retry = _Client(broker)
    try:
        assert _end(retry, "flaky", pid, epoch, True) == ErrorCode.none  # the client's retry
    finally:
        retry.close()
    log = broker.app.topics.log("t", 0)
    assert log.last_stable_offset == log.log_end_offset == 2  # data + COMMIT marker
