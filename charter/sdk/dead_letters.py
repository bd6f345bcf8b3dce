"""Writing one dead letter and waiting for it, so a record routed away is never lost unseen.

A dead letter is written instead of the record (the producer's ``DLQ`` rule
action, the consumer's ``on_error="dlq"``); if the cluster refuses it — on
Charter, a dead-letter topic whose gate validates values refuses their raw
bytes — the caller must hear of it rather than count the record as handled.
Only the dead letter is waited for (librdkafka's delivery report, served by
polling), not the rest of the producer's queue.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

__all__ = ["TIMEOUT_S", "write_dead_letter"]

TIMEOUT_S = 30.0
_POLL_S = 0.05
_HINT = "(on Charter, create the dead-letter topic with validation none)"


def write_dead_letter(
    producer: Any,
    topic: str,
    value: bytes | None,
    key: bytes | None,
    headers: Sequence[tuple[str, bytes]],
    timeout: float = TIMEOUT_S,
) -> str | None:
    """Produce one record with ``producer`` (confluent-kafka's) and wait for its delivery;
    None when written, else why not."""
    outcome: list[Any] = []

    def delivered(error: Any, _message: Any) -> None:
        outcome.append(error)

    deadline = time.monotonic() + timeout
    while True:
        try:
            producer.produce(topic, value, key, headers=list(headers), on_delivery=delivered)
            break
        except BufferError:  # the queue is full: serve deliveries, then retry
            producer.poll(_POLL_S)
        if time.monotonic() > deadline:
            return f"librdkafka's queue stayed full for {timeout:.0f} s"
    while not outcome and time.monotonic() < deadline:
        producer.poll(_POLL_S)
    if not outcome:
        return f"not delivered within {timeout:.0f} s {_HINT}"
    if outcome[0] is not None:
        return f"{outcome[0].str()} {_HINT}"
    return None
