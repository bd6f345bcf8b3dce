"""A consumer of the ``resumer`` group that commits each record it reads: what the restart
tests use to show committed offsets survive."""

from __future__ import annotations

import time

from confluent_kafka import Consumer


def consume_and_commit(bootstrap: str, topic: str, count: int, **config: object) -> list[int]:
    """Up to ``count`` integer values of ``topic`` read as group ``resumer`` (from the earliest
    offset when it has none committed), each committed synchronously; at most 60 s."""
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "resumer",
            "auto.offset.reset": "earliest",
            "enable.auto.commit": False,
            **config,
        }
    )
    consumer.subscribe([topic])
    values: list[int] = []
    deadline = time.monotonic() + 60
    try:
        while len(values) < count and time.monotonic() < deadline:
            message = consumer.poll(0.2)
            if message is None or message.error():
                continue
            values.append(int(message.value()))
            consumer.commit(message=message, asynchronous=False)
    finally:
        consumer.close()
    return values
