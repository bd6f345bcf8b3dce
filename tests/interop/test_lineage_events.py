"""Lineage emitted for the catalog, through real clients: the gate's ``producer_seen`` (topic,
client id, principal, schema id, count) and the group coordinator's ``group_offsets_committed``
(the topics a group commits, and who committed) on the broker outbox."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from broker.topics.store import broker_outbox
from charter import compose
from tests.governance.records import ORDER, order
from tests.governance.stack import Stack, start_stack

pytestmark = pytest.mark.slow


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Stack]:
    running = start_stack(tmp_path / "data")
    yield running
    running.stop()


def _events(stack: Stack, name: str) -> list[dict[str, Any]]:
    outbox = broker_outbox(stack.broker.database)
    return [dict(e.payload) for e in outbox.events_since(0, limit=10_000) if e.name == name]


def test_producers_and_committing_groups_are_emitted(stack: Stack) -> None:
    stack.create_topic("orders")
    schema_id = stack.schema_id("orders-value", ORDER)
    producer = Producer({"bootstrap.servers": stack.bootstrap, "client.id": "checkout-svc"})
    for n in range(3):
        producer.produce("orders", order(schema_id, order_id=n))
    assert producer.flush(30) == 0
    compose.governance_for(stack.broker.database).lineage.flush()
    (seen,) = _events(stack, "producer_seen")
    assert {k: seen[k] for k in ("topic", "client_id", "principal", "schema_id", "count")} == {
        "topic": "orders",
        "client_id": "checkout-svc",
        "principal": "User:ANONYMOUS",
        "schema_id": schema_id,
        "count": 3,
    }

    consumer = Consumer(
        {
            "bootstrap.servers": stack.bootstrap,
            "group.id": "billing",
            "client.id": "billing-svc",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
        }
    )
    try:
        consumer.subscribe(["orders"])
        read = []
        deadline = time.monotonic() + 30
        while len(read) < 3 and time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                read.append(message)
        assert len(read) == 3
        consumer.commit(asynchronous=False)
    finally:
        consumer.close()
    deadline = time.monotonic() + 15
    while not _events(stack, "group_offsets_committed") and time.monotonic() < deadline:
        time.sleep(0.1)
    (committed, *_) = _events(stack, "group_offsets_committed")
    assert committed["group_id"] == "billing"
    assert committed["offsets"] == [{"topic": "orders", "partition": 0, "offset": 3}]
    assert committed["principals"] == ["User:ANONYMOUS"]
    assert committed["client_ids"] == ["billing-svc"]
