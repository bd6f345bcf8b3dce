"""One consumer-group member as its own process, for the group interop tests.

``python -m tests.interop.group_member CLIENT BOOTSTRAP GROUP TOPIC [key=value ...]`` with
CLIENT one of ``confluent``, ``confluent-consumer`` (``group.protocol=consumer``),
``kafka-python``, ``aiokafka``; ``key=value`` extras are client configs (for the two
Python clients keyword arguments such as ``group_instance_id=a``, digits as ints). It prints one JSON object per line on stdout:
``{"event": "assigned", "partitions": [...]}`` after every rebalance and
``{"event": "record", "partition": p, "offset": o, "value": v}`` for each record,
printed once its offset is committed (synchronously), so a record seen twice in
the output was delivered twice. SIGTERM closes the consumer (leaving the group).
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

_stop = False


class _AssignmentTracker:
    """Prints the member's assignment whenever it changes (checked after every poll)."""

    def __init__(self) -> None:
        self.current: list[int] | None = None

    def update(self, partitions: object) -> None:
        now = sorted(partitions)  # type: ignore[call-overload]
        if now != self.current:
            self.current = now
            _emit(event="assigned", partitions=now)


def _emit(**fields: object) -> None:
    sys.stdout.write(json.dumps(fields) + "\n")
    sys.stdout.flush()


def _on_term(signum: int, frame: object) -> None:
    global _stop
    _stop = True


def run_confluent(
    bootstrap: str, group: str, topic: str, extra: dict[str, str], kip848: bool
) -> None:
    from confluent_kafka import Consumer

    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
    }
    if kip848:
        config["group.protocol"] = "consumer"
    else:
        config.update({"session.timeout.ms": 6000, "heartbeat.interval.ms": 500})
    config.update(extra)
    consumer = Consumer(config)
    consumer.subscribe([topic])
    tracker = _AssignmentTracker()
    try:
        while not _stop:
            message = consumer.poll(0.2)
            tracker.update(p.partition for p in consumer.assignment())
            if message is None or message.error():
                continue
            consumer.commit(message=message, asynchronous=False)
            _emit(
                event="record",
                partition=message.partition(),
                offset=message.offset(),
                value=message.value().decode(),
            )
    finally:
        consumer.close()
        _emit(event="closed")


def _keywords(extra: dict[str, str]) -> dict[str, object]:
    return {key: int(value) if value.isdigit() else value for key, value in extra.items()}


def run_kafka_python(bootstrap: str, group: str, topic: str, extra: dict[str, str]) -> None:
    from kafka import KafkaConsumer, OffsetAndMetadata

    options: dict[str, object] = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 500}
    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **(options | _keywords(extra)),
    )

    consumer.subscribe([topic])
    tracker = _AssignmentTracker()
    try:
        while not _stop:
            polled = consumer.poll(timeout_ms=200)
            tracker.update(tp.partition for tp in consumer.assignment())
            for tp, messages in polled.items():
                for message in messages:
                    consumer.commit({tp: OffsetAndMetadata(message.offset + 1, "", -1)})
                    _emit(
                        event="record",
                        partition=message.partition,
                        offset=message.offset,
                        value=message.value.decode(),
                    )
    finally:
        consumer.close()
        _emit(event="closed")


async def run_aiokafka(bootstrap: str, group: str, topic: str, extra: dict[str, str]) -> None:
    from aiokafka import AIOKafkaConsumer, TopicPartition
    from aiokafka.structs import OffsetAndMetadata

    options: dict[str, object] = {"session_timeout_ms": 6000, "heartbeat_interval_ms": 500}
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        **(options | _keywords(extra)),
    )

    await consumer.start()
    consumer.subscribe([topic])
    tracker = _AssignmentTracker()
    try:
        while not _stop:
            batches = await consumer.getmany(timeout_ms=200)
            tracker.update(tp.partition for tp in consumer.assignment())
            for tp, messages in batches.items():
                for message in messages:
                    await consumer.commit(
                        {
                            TopicPartition(tp.topic, tp.partition): OffsetAndMetadata(
                                message.offset + 1, ""
                            )
                        }
                    )
                    _emit(
                        event="record",
                        partition=message.partition,
                        offset=message.offset,
                        value=message.value.decode(),
                    )
    finally:
        await consumer.stop()
        _emit(event="closed")


def main() -> None:
    client, bootstrap, group, topic, *rest = sys.argv[1:]
    extra = dict(item.split("=", 1) for item in rest)
    signal.signal(signal.SIGTERM, _on_term)
    _emit(event="started", time=time.time())
    if client in ("confluent", "confluent-consumer"):
        run_confluent(bootstrap, group, topic, extra, kip848=client == "confluent-consumer")
    elif client == "kafka-python":
        run_kafka_python(bootstrap, group, topic, extra)
    elif client == "aiokafka":
        asyncio.run(run_aiokafka(bootstrap, group, topic, extra))
    else:
        raise SystemExit(f"unknown client {client}")


if __name__ == "__main__":
    main()
