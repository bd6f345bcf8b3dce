"""Assignors and subscription forms with real clients, in one process (fast).

Client-side cooperative-sticky (confluent-kafka and kafka-python in one group: an incremental
rebalance revokes only what moves), KIP-848 server-side assignors chosen with
``group.remote.assignor``, regex subscriptions (classic: client-side; KIP-848: the broker
resolves the pattern) that pick up a topic created later, and ``max.poll.interval.ms`` expiry
handing a stalled member's partitions to the other.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from confluent_kafka import Consumer
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor

from tests.broker.conftest import RunningBroker, start_broker

WAIT_S = 20


@pytest.fixture
def groups_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    running = start_broker(
        tmp_path / "data",
        group_initial_rebalance_delay_ms=0,
        group_min_session_timeout_ms=500,
        group_consumer_heartbeat_interval_ms=300,
    )
    try:
        running.create_topic("orders", 4)
        running.create_topic("refunds", 2)
        yield running
    finally:
        running.stop()


def _until(condition: Callable[[], bool], *pollers: Callable[[], object]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        for poll in pollers:
            poll()


def _owned(consumer: Consumer) -> list[tuple[str, int]]:
    return sorted((tp.topic, tp.partition) for tp in consumer.assignment())


def test_cooperative_sticky_rebalances_incrementally_across_clients(
    groups_broker: RunningBroker,
) -> None:
    revoked: list[list[int]] = []
    confluent = Consumer(
        {
            "bootstrap.servers": groups_broker.bootstrap,
            "group.id": "coop",
            "partition.assignment.strategy": "cooperative-sticky",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 300,
        }
    )
    confluent.subscribe(
        ["orders"], on_revoke=lambda _c, parts: revoked.append([p.partition for p in parts])
    )
    _until(lambda: len(confluent.assignment()) == 4, lambda: confluent.poll(0.1))
    python = KafkaConsumer(
        "orders",
        bootstrap_servers=groups_broker.bootstrap,
        group_id="coop",
        partition_assignment_strategy=[CooperativeStickyAssignor],
        session_timeout_ms=6000,
        heartbeat_interval_ms=300,
    )
    try:
        _until(
            lambda: len(confluent.assignment()) == 2 and len(python.assignment()) == 2,
            lambda: confluent.poll(0.1),
            lambda: python.poll(100),
        )
        kept = {p for _, p in _owned(confluent)}
        moved = {tp.partition for tp in python.assignment()}
        assert kept | moved == {0, 1, 2, 3}
        # Incremental: only the two partitions that moved were ever revoked from confluent.
        assert [sorted(parts) for parts in revoked if parts] == [sorted(moved)]
    finally:
        python.close()
    _until(lambda: len(confluent.assignment()) == 4, lambda: confluent.poll(0.1))
    confluent.close()


@pytest.mark.parametrize(
    ("assignor", "expected"),
    [
        # range co-partitions: the same partition numbers of both topics on one member
        (
            "range",
            [
                [("orders", 0), ("orders", 1), ("refunds", 0)],
                [("orders", 2), ("orders", 3), ("refunds", 1)],
            ],
        ),
        ("uniform", None),
    ],
    ids=["range", "uniform"],
)
def test_kip848_remote_assignor_is_the_one_asked_for(
    groups_broker: RunningBroker, assignor: str, expected: list[list[tuple[str, int]]] | None
) -> None:
    group = f"remote-{assignor}"
    members = [
        Consumer(
            {
                "bootstrap.servers": groups_broker.bootstrap,
                "group.id": group,
                "group.protocol": "consumer",
                "group.remote.assignor": assignor,
            }
        )
        for _ in range(2)
    ]
    try:
        for member in members:
            member.subscribe(["orders", "refunds"])
        _until(
            lambda: [len(m.assignment()) for m in members] == [3, 3],
            *(lambda m=m: m.poll(0.1) for m in members),
        )
        owned = sorted(_owned(m) for m in members)
        assert sorted(sum(owned, [])) == [("orders", p) for p in range(4)] + [
            ("refunds", 0),
            ("refunds", 1),
        ]
        if expected is not None:
            assert owned == expected
        admin = AdminClient({"bootstrap.servers": groups_broker.bootstrap})
        described = admin.describe_consumer_groups([group])[group].result(timeout=30)
        assert described.partition_assignor == assignor
    finally:
        for member in members:
            member.close()


@pytest.mark.parametrize("protocol", ["classic", "consumer"])
def test_regex_subscription_picks_up_a_new_topic(
    groups_broker: RunningBroker, protocol: str
) -> None:
    consumer = Consumer(
        {
            "bootstrap.servers": groups_broker.bootstrap,
            "group.id": f"regex-{protocol}",
            "group.protocol": protocol,
            "topic.metadata.refresh.interval.ms": 300,
        }
    )
    try:
        consumer.subscribe(["^(orders|returns)$"])
        _until(lambda: len(consumer.assignment()) == 4, lambda: consumer.poll(0.1))
        admin = AdminClient({"bootstrap.servers": groups_broker.bootstrap})
        admin.create_topics([NewTopic("returns", 1)])["returns"].result(timeout=30)
        _until(lambda: len(consumer.assignment()) == 5, lambda: consumer.poll(0.1))
        assert _owned(consumer) == [("orders", p) for p in range(4)] + [("returns", 0)]
    finally:
        consumer.close()


def test_max_poll_interval_expiry_hands_partitions_over(groups_broker: RunningBroker) -> None:
    def member(max_poll_ms: int) -> Consumer:
        consumer = Consumer(
            {
                "bootstrap.servers": groups_broker.bootstrap,
                "group.id": "stalls",
                "session.timeout.ms": 1000,
                "heartbeat.interval.ms": 200,
                "max.poll.interval.ms": max_poll_ms,
            }
        )
        consumer.subscribe(["orders"])
        return consumer

    stalled, healthy = member(1500), member(60_000)
    try:
        _until(
            lambda: len(stalled.assignment()) == 2 and len(healthy.assignment()) == 2,
            lambda: stalled.poll(0.1),
            lambda: healthy.poll(0.1),
        )
        # ``stalled`` stops polling: it leaves the group, and the rebalance gives ``healthy`` all.
        _until(lambda: len(healthy.assignment()) == 4, lambda: healthy.poll(0.1))
        message = stalled.poll(1)
        assert message is not None and message.error() is not None
        assert message.error().name() == "_MAX_POLL_EXCEEDED"
    finally:
        stalled.close()
        healthy.close()
