"""Consumer groups: rebalance time (classic vs KIP-848) and end-to-end latency vs NATS JetStream.

Run: ``python bench/groups.py [--rounds 5] [--seconds 5] [--rate 1000] [--heartbeat-ms 1000]
[--reconcile-ms 50[,250,...]]``.

Each round starts a fresh Charter broker (a subprocess, Kafka's default
``group.initial.rebalance.delay.ms`` of 3 s, KIP-848 heartbeat interval
``--heartbeat-ms``, and the first ``--reconcile-ms`` as the interval given to a
KIP-848 member waiting for partitions being revoked) and measures, with
confluent-kafka (librdkafka):

* **join → stable, empty group** — from ``subscribe()`` of the first member of a
  new group until it owns every partition; classic (``heartbeat.interval.ms`` =
  ``--heartbeat-ms``) and ``group.protocol=consumer`` (KIP-848).
* **join → stable, second member, equal heartbeat** — a second member joins a
  stable group of one; until both own half the partitions each, disjointly. The
  newcomer subscribes 200 ms after the running member's last heartbeat (``join``)
  and half an interval after it (``join mid``: the average case). For KIP-848 also
  with each further ``--reconcile-ms`` value, on a broker of its own.
* **join → stable, second member, defaults** — on a broker with Charter's default
  settings: classic with librdkafka's defaults (``heartbeat.interval.ms`` 3 s),
  KIP-848 with the broker's ``group_consumer_heartbeat_interval_ms``; the newcomer
  joins half the protocol's interval after the running member's last heartbeat.
* **end-to-end latency** — a producer sends ``--rate`` records/s for
  ``--seconds`` (one record per send, acks=all) while a group member (classic)
  consumes them; latency is receive time minus the time the record was
  scheduled to be sent (carried in the record), so a sender held up by a slow
  ack or a stalled loop counts that wait instead of hiding it (no coordinated
  omission); twice: on a topic with ``flush.messages=1`` (every append fsynced
  before the ack, the default) and on one with ``flush.messages`` unbounded (no
  fsync per append: JetStream's durability, which syncs to disk periodically).
  The same against NATS JetStream at 127.0.0.1:4222 (nats-py, a file stream,
  publish awaiting the ack, a durable pull consumer fetching and acking). The
  nats-server here (2.9) cannot sync every message (``sync_interval: always``
  arrived in 2.10), so equal durability is Charter without fsync.

The report gives, per figure, the median and range over the rounds, and the
KIP-848/classic and Charter/JetStream ratios computed within each round.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
READY = "Kafka listener ready on "
PARTITIONS = 4


CLASSIC_HEARTBEAT_S = 3.0  # librdkafka's default heartbeat.interval.ms
NO_FSYNC = str(2**63 - 1)  # flush.messages: Kafka's default, never fsync by count


def _serve(data_dir: Path, heartbeat_ms: int, reconcile_ms: int) -> None:
    """Run a broker; ``heartbeat_ms`` 0 keeps Charter's default KIP-848 intervals."""
    import logging

    sys.path.insert(0, str(ROOT))
    from broker.app import run_broker
    from charter.compose import build_broker, open_migrated_database
    from charter.config import Settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    intervals = (
        {
            "group_consumer_heartbeat_interval_ms": heartbeat_ms,
            "group_consumer_reconcile_interval_ms": reconcile_ms,
        }
        if heartbeat_ms
        else {}
    )
    settings = Settings(
        data_dir=data_dir,
        host="127.0.0.1",
        kafka_port=0,
        **intervals,
        # the records are plain text, not schema-framed: the gate's default ("full") would
        # refuse them; this measures groups, not the gate (bench/gate.py does that)
        value_schema_validation="none",
    )
    run_broker(build_broker(settings, open_migrated_database(settings)))


def _start(
    data_dir: Path, heartbeat_ms: int, reconcile_ms: int
) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            str(data_dir),
            "--heartbeat-ms",
            str(heartbeat_ms),
            "--reconcile-ms",
            str(reconcile_ms),
        ],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if READY in line:
            threading.Thread(target=process.stderr.read, daemon=True).start()  # keep draining
            return process, "127.0.0.1:" + line.rsplit(":", 1)[1].strip()
    raise RuntimeError("broker did not start")


def _consumer(bootstrap: str, group: str, kip848: bool, heartbeat_ms: int | None) -> object:
    """A member; ``heartbeat_ms`` None leaves librdkafka's classic default (3 s)."""
    from confluent_kafka import Consumer

    config: dict[str, object] = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "latest",
        "fetch.wait.max.ms": 100,
    }
    if kip848:
        config["group.protocol"] = "consumer"
    elif heartbeat_ms is not None:
        config["heartbeat.interval.ms"] = heartbeat_ms
    return Consumer(config)


def _owned(consumer: object) -> set[int]:
    return {tp.partition for tp in consumer.assignment()}  # type: ignore[attr-defined]


def _rebalance(
    bootstrap: str, topic: str, kip848: bool, heartbeat_ms: int | None, settle_s: float = 0.2
) -> tuple[float, float]:
    """(empty group → stable, second member → stable) in milliseconds.

    The second member subscribes about ``settle_s`` after the first owns its partitions,
    i.e. after the first member's last heartbeat.
    """
    group = f"rebalance-{uuid.uuid4()}"
    first = _consumer(bootstrap, group, kip848, heartbeat_ms)
    start = time.perf_counter()
    first.subscribe([topic])  # type: ignore[attr-defined]
    while _owned(first) != set(range(PARTITIONS)):
        first.poll(0.005)  # type: ignore[attr-defined]
    empty_ms = (time.perf_counter() - start) * 1000
    settled = time.perf_counter() + settle_s
    while time.perf_counter() < settled:  # settle (commits, fetch start)
        first.poll(0.01)  # type: ignore[attr-defined]
    second = _consumer(bootstrap, group, kip848, heartbeat_ms)
    start = time.perf_counter()
    second.subscribe([topic])  # type: ignore[attr-defined]
    while True:
        first.poll(0.005)  # type: ignore[attr-defined]
        second.poll(0.005)  # type: ignore[attr-defined]
        a, b = _owned(first), _owned(second)
        if len(a) == len(b) == PARTITIONS // 2 and a | b == set(range(PARTITIONS)):
            break
    join_ms = (time.perf_counter() - start) * 1000
    second.close()  # type: ignore[attr-defined]
    first.close()  # type: ignore[attr-defined]
    return empty_ms, join_ms


def _percentiles(latencies_ms: list[float]) -> tuple[float, float]:
    ordered = sorted(latencies_ms)
    return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def _kafka_latency(
    bootstrap: str, topic: str, rate: int, seconds: float, hb: int
) -> tuple[float, float]:
    from confluent_kafka import Producer

    consumer = _consumer(bootstrap, f"latency-{uuid.uuid4()}", False, hb)
    consumer.subscribe([topic])  # type: ignore[attr-defined]
    while _owned(consumer) != set(range(PARTITIONS)):
        consumer.poll(0.01)  # type: ignore[attr-defined]
    for _ in range(50):
        consumer.poll(0.01)  # type: ignore[attr-defined]
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 0, "acks": "all"})
    for partition in range(PARTITIONS):  # warm up: connections and metadata, not measured
        producer.produce(topic, value=b"warm-up", partition=partition)
    producer.flush(30)
    total = int(rate * seconds)
    latencies: list[float] = []
    done = threading.Event()

    def consume() -> None:
        while len(latencies) < total and not done.is_set():
            message = consumer.poll(0.1)  # type: ignore[attr-defined]
            if message is None or message.error() or message.value() == b"warm-up":
                continue
            latencies.append((time.time() - float(message.value())) * 1000)

    reader = threading.Thread(target=consume)
    reader.start()
    start, wall = time.perf_counter(), time.time()
    for index in range(total):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        intended = repr(wall + index / rate).encode()  # latency counts from the schedule
        producer.produce(topic, value=intended, partition=index % PARTITIONS)
        producer.poll(0)
    producer.flush(30)
    reader.join(timeout=30)
    done.set()
    consumer.close()  # type: ignore[attr-defined]
    return _percentiles(latencies)


async def _jetstream_latency(rate: int, seconds: float) -> tuple[float, float]:
    import nats

    connection = await nats.connect("nats://127.0.0.1:4222")
    js = connection.jetstream()
    stream = f"BENCH_{uuid.uuid4().hex[:8]}"
    subject = f"{stream.lower()}.records"
    await js.add_stream(name=stream, subjects=[subject])
    subscription = await js.pull_subscribe(subject, durable="bench")
    await js.publish(subject, b"warm-up")
    total = int(rate * seconds)
    latencies: list[float] = []

    async def consume() -> None:
        while len(latencies) < total:
            try:
                messages = await subscription.fetch(batch=100, timeout=1)
            except nats.errors.TimeoutError:
                continue
            for message in messages:
                if message.data != b"warm-up":
                    latencies.append((time.time() - float(message.data)) * 1000)
                await message.ack()

    reader = asyncio.create_task(consume())
    start, wall = time.perf_counter(), time.time()
    for index in range(total):
        delay = start + index / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        # From the schedule, as for Kafka: a publish awaiting a slow ack delays the sends
        # behind it, and that wait is part of those records' latency (no coordinated omission).
        await js.publish(subject, repr(wall + index / rate).encode())
    await asyncio.wait_for(reader, 60)
    await js.delete_stream(stream)
    await connection.close()
    return _percentiles(latencies)


def _summary(values: list[float]) -> str:
    return f"{statistics.median(values):9.1f}  [{min(values):.1f} – {max(values):.1f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rate", type=int, default=1000)
    parser.add_argument("--heartbeat-ms", type=int, default=1000)
    parser.add_argument(
        "--reconcile-ms",
        default="50",
        help="KIP-848 intervals for a member waiting for revoked partitions; the first is the "
        "baseline broker's, each other one is measured on a broker of its own",
    )
    args = parser.parse_args()
    reconcile = [int(value) for value in str(args.reconcile_ms).split(",")]
    if args.serve:
        _serve(args.serve, args.heartbeat_ms, reconcile[0])
        return

    figures: dict[str, list[float]] = {}
    for round_number in range(1, args.rounds + 1):
        row = _round(args, reconcile)
        print(
            f"round {round_number}: " + ", ".join(f"{k} {v:.1f}" for k, v in row.items()),
            flush=True,
        )
        for key, value in row.items():
            figures.setdefault(key, []).append(value)
    print(
        f"\n{args.rounds} rounds, {args.rate} records/s for {args.seconds:g} s, "
        f"{PARTITIONS} partitions, heartbeat {args.heartbeat_ms} ms; median [min – max]"
    )
    for key, values in figures.items():
        print(f"{key:34s} {_summary(values)}")


def _kip848_join(heartbeat_ms: int, reconcile_ms: int) -> float:
    """KIP-848 second member join → stable on a fresh broker with ``reconcile_ms``."""
    from confluent_kafka.admin import AdminClient, NewTopic

    with tempfile.TemporaryDirectory() as scratch:
        process, bootstrap = _start(Path(scratch), heartbeat_ms, reconcile_ms)
        try:
            admin = AdminClient({"bootstrap.servers": bootstrap})
            admin.create_topics([NewTopic("rebalance", PARTITIONS)])["rebalance"].result(30)
            return _rebalance(bootstrap, "rebalance", True, heartbeat_ms)[1]
        finally:
            process.terminate()
            process.wait(timeout=30)


def _defaults_join() -> tuple[float, float]:
    """Second member join → stable, each protocol at its defaults, joining mid-heartbeat.

    A fresh broker with Charter's default settings; classic members keep librdkafka's
    ``heartbeat.interval.ms`` (3 s), KIP-848 members get the broker's interval. The newcomer
    subscribes half an interval after the running member's last heartbeat: the average
    case of a join at a random moment.
    """
    sys.path.insert(0, str(ROOT))
    from confluent_kafka.admin import AdminClient, NewTopic

    from charter.config import Settings

    kip848_s = Settings().group_consumer_heartbeat_interval_ms / 1000
    with tempfile.TemporaryDirectory() as scratch:
        process, bootstrap = _start(Path(scratch), 0, 0)
        try:
            admin = AdminClient({"bootstrap.servers": bootstrap})
            admin.create_topics([NewTopic("rebalance", PARTITIONS)])["rebalance"].result(30)
            classic = _rebalance(bootstrap, "rebalance", False, None, CLASSIC_HEARTBEAT_S / 2)[1]
            kip848 = _rebalance(bootstrap, "rebalance", True, None, kip848_s / 2)[1]
            return classic, kip848
        finally:
            process.terminate()
            process.wait(timeout=30)


def _round(args: argparse.Namespace, reconcile: list[int]) -> dict[str, float]:
    from confluent_kafka.admin import AdminClient, NewTopic

    row: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as scratch:
        process, bootstrap = _start(Path(scratch), args.heartbeat_ms, reconcile[0])
        try:
            admin = AdminClient({"bootstrap.servers": bootstrap})
            topics = [
                NewTopic("rebalance", PARTITIONS),
                NewTopic("latency", PARTITIONS),
                NewTopic("latency-nosync", PARTITIONS, config={"flush.messages": NO_FSYNC}),
            ]
            for future in admin.create_topics(topics).values():
                future.result(30)
            row["classic empty→stable ms"], row["classic join→stable ms"] = _rebalance(
                bootstrap, "rebalance", False, args.heartbeat_ms
            )
            row["kip848 empty→stable ms"], row["kip848 join→stable ms"] = _rebalance(
                bootstrap, "rebalance", True, args.heartbeat_ms
            )
            half = args.heartbeat_ms / 2000
            row["classic join mid ms"] = _rebalance(
                bootstrap, "rebalance", False, args.heartbeat_ms, half
            )[1]
            row["kip848 join mid ms"] = _rebalance(
                bootstrap, "rebalance", True, args.heartbeat_ms, half
            )[1]
            row["charter fsync p50 ms"], row["charter fsync p99 ms"] = _kafka_latency(
                bootstrap, "latency", args.rate, args.seconds, args.heartbeat_ms
            )
            row["charter no-fsync p50 ms"], row["charter no-fsync p99 ms"] = _kafka_latency(
                bootstrap, "latency-nosync", args.rate, args.seconds, args.heartbeat_ms
            )
            row["jetstream p50 ms"], row["jetstream p99 ms"] = asyncio.run(
                _jetstream_latency(args.rate, args.seconds)
            )
        finally:
            process.terminate()
            process.wait(timeout=30)
    for reconcile_ms in reconcile[1:]:
        row[f"kip848 join→stable ms @{reconcile_ms}"] = _kip848_join(
            args.heartbeat_ms, reconcile_ms
        )
        row[f"kip848 join {reconcile[0]}/{reconcile_ms} (x)"] = (
            row["kip848 join→stable ms"] / row[f"kip848 join→stable ms @{reconcile_ms}"]
        )
    row["classic default join ms"], row["kip848 default join ms"] = _defaults_join()
    row["classic/kip848 empty (x)"] = row["classic empty→stable ms"] / row["kip848 empty→stable ms"]
    row["classic/kip848 join (x)"] = row["classic join→stable ms"] / row["kip848 join→stable ms"]
    row["classic/kip848 join mid (x)"] = row["classic join mid ms"] / row["kip848 join mid ms"]
    row["classic/kip848 default join (x)"] = (
        row["classic default join ms"] / row["kip848 default join ms"]
    )
    row["charter fsync/jetstream p99 (x)"] = row["charter fsync p99 ms"] / row["jetstream p99 ms"]
    row["charter no-fsync/jetstream p99 (x)"] = (
        row["charter no-fsync p99 ms"] / row["jetstream p99 ms"]
    )
    return row


if __name__ == "__main__":
    main()
