"""SDK throughput: serialization against confluent-kafka's AvroSerializer, produce against raw librdkafka.

Run: ``python bench/sdk.py [--records 200000] [--rounds 5]``.

One ``charter up`` (fresh data directory, free ports, one HTTP worker) serves
both measurements; each round runs the two sides back to back, alternating
which goes first, and the report gives the median and range of the per-round
ratios.

* **serialize** — ``--records`` distinct records of a 12-field Avro schema (a
  nested record, an array, an enum, a nullable union, a timestamp) turned into
  Confluent-framed bytes: the SDK's write path (``Producer._value_bytes``: schema
  cache, generated encoder with validation, contract-rule check) against
  ``AvroSerializer(value, SerializationContext(topic, VALUE))`` with its
  defaults (auto-register, schema cached after the first call). Both register
  the same schema in Charter's registry first. Target: SDK >= 1.5x.
* **produce** — the same records sent to one-partition topics of Charter's
  broker: ``charter.Producer.produce(topic, record, schema=...)`` then
  ``flush()``, against a raw ``confluent_kafka.Producer`` producing the bytes the
  SDK wrote (pre-serialized) then ``flush()``; same librdkafka settings
  (linger.ms 5, batch.size 1 MB, acks=all). Target: SDK >= 0.8x of raw. For
  context, a third side serializes with ``AvroSerializer`` and produces with the
  same raw producer (what a confluent-kafka application does today).

  The produce topics are created with ``charter.value.schema.validation`` set
  by ``--gate`` (default ``none``): with ``none`` the broker appends batches
  without decoding a record, so the clients' own per-record cost decides the
  rates (what the 0.8x target is about); with ``full`` the broker's gate
  decodes every record and bounds all sides alike.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from support import free_port, spread

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SCHEMA = {
    "type": "record",
    "name": "Order",
    "namespace": "bench",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "customer", "type": "string"},
        {"name": "amount", "type": "double"},
        {"name": "quantity", "type": "int"},
        {
            "name": "currency",
            "type": {"type": "enum", "name": "Currency", "symbols": ["EUR", "USD", "GBP"]},
        },
        {"name": "paid", "type": "boolean"},
        {"name": "note", "type": ["null", "string"], "default": None},
        {"name": "created_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "tags", "type": {"type": "array", "items": "string"}},
        {
            "name": "address",
            "type": {
                "type": "record",
                "name": "Address",
                "fields": [
                    {"name": "street", "type": "string"},
                    {"name": "city", "type": "string"},
                    {"name": "zip", "type": "string"},
                ],
            },
        },
        {"name": "score", "type": "float"},
        {"name": "channel", "type": "string"},
    ],
}
CLIENT = {"linger.ms": 5, "batch.size": 1_000_000, "acks": "all"}
GATE = {"validation": "none"}  # --gate: charter.value.schema.validation of the produce topics


def create_topic(bootstrap: str, topic: str) -> None:
    """One partition, the gate's validation mode from ``--gate``."""
    from confluent_kafka.admin import AdminClient, NewTopic

    config = {"charter.value.schema.validation": GATE["validation"]}
    admin = AdminClient({"bootstrap.servers": bootstrap})
    for future in admin.create_topics([NewTopic(topic, 1, 1, config=config)]).values():
        future.result(30)


def check_landed(bootstrap: str, topic: str, expected: int) -> None:
    """Every record was appended (a record the gate refused would be missing)."""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "bench-check"})
    try:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, 0), timeout=30)
    finally:
        consumer.close()
    assert high == expected, f"{topic}: {high} records appended, {expected} sent"


def records(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": number,
            "customer": f"customer-{number % 5000}",
            "amount": number * 0.25,
            "quantity": number % 100,
            "currency": ("EUR", "USD", "GBP")[number % 3],
            "paid": number % 2 == 0,
            "note": None if number % 4 else f"note {number}",
            "created_at": 1_700_000_000_000 + number,
            "tags": ["new", "web"][: number % 3],
            "address": {"street": f"{number} Main St", "city": "Lyon", "zip": "69001"},
            "score": (number % 10) / 4,
            "channel": "web",
        }
        for number in range(count)
    ]


def start_platform(data_dir: Path) -> tuple[subprocess.Popen[str], str, str]:
    http_port, kafka_port = free_port(), free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("CHARTER_")}
    environment["PYTHONPATH"] = str(ROOT)
    log = (data_dir.parent / "charter.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "charter", "up", "--data-dir", str(data_dir),
         "--http-port", str(http_port), "--kafka-port", str(kafka_port), "--http-workers", "1"],
        stdout=log, stderr=subprocess.STDOUT, text=True, env=environment, start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (Path(log.name).read_text().count("listener ready")) < 2:
        if process.poll() is not None or time.monotonic() > deadline:
            raise SystemExit("charter up did not start:\n" + Path(log.name).read_text())
        time.sleep(0.2)
    return process, f"127.0.0.1:{kafka_port}", f"http://127.0.0.1:{http_port}"


def time_sdk_serialize(producer: Any, topic: str, values: list[dict[str, Any]]) -> float:
    serialize = producer._value_bytes  # what produce() runs before handing bytes to librdkafka
    started = time.perf_counter()
    for value in values:
        serialize(topic, value, SCHEMA)
    return len(values) / (time.perf_counter() - started)


def time_confluent_serialize(serializer: Any, topic: str, values: list[dict[str, Any]]) -> float:
    from confluent_kafka.serialization import MessageField, SerializationContext

    started = time.perf_counter()
    for value in values:
        serializer(value, SerializationContext(topic, MessageField.VALUE))
    return len(values) / (time.perf_counter() - started)


def time_sdk_produce(bootstrap: str, registry_url: str, values: list[dict[str, Any]]) -> float:
    from charter import Producer

    topic = f"sdk-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    producer = Producer(
        bootstrap, registry_url, **{k.replace(".", "_"): v for k, v in CLIENT.items()}
    )
    producer.produce(topic, values[0], schema=SCHEMA)  # warm-up: registration, metadata
    producer.flush(60)
    started = time.perf_counter()
    for value in values:
        producer.produce(topic, value, schema=SCHEMA)
    left = producer.flush(120)
    elapsed = time.perf_counter() - started
    assert left == 0, f"{left} records not delivered"
    check_landed(bootstrap, topic, len(values) + 1)
    return len(values) / elapsed


def _produce_waiting(producer: Any, topic: str, payload: bytes) -> None:
    """``produce``, waiting for room in librdkafka's queue when it is full."""
    while True:
        try:
            producer.produce(topic, payload)
            return
        except BufferError:
            producer.poll(0.1)


def time_raw_produce(
    bootstrap: str, payloads: list[bytes], register: Callable[[str], object]
) -> float:
    import confluent_kafka

    topic = f"raw-{uuid.uuid4().hex[:8]}"
    create_topic(bootstrap, topic)
    register(topic)  # the schema under this topic's subject too, so `--gate full` admits them
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **CLIENT})
    producer.produce(topic, payloads[0])
    producer.flush(60)
    started = time.perf_counter()
    for payload in payloads:
        _produce_waiting(producer, topic, payload)
    left = producer.flush(120)
    elapsed = time.perf_counter() - started
    assert left == 0, f"{left} records not delivered"
    check_landed(bootstrap, topic, len(payloads) + 1)
    return len(payloads) / elapsed


def time_confluent_produce(bootstrap: str, serializer: Any, values: list[dict[str, Any]]) -> float:
    import confluent_kafka
    from confluent_kafka.serialization import MessageField, SerializationContext

    topic = "bench-orders"  # the subject the serializer registered under
    context = SerializationContext(topic, MessageField.VALUE)
    producer = confluent_kafka.Producer({"bootstrap.servers": bootstrap, **CLIENT})
    producer.produce(topic, serializer(values[0], context))
    producer.flush(60)
    started = time.perf_counter()
    for value in values:
        payload = serializer(value, SerializationContext(topic, MessageField.VALUE))
        _produce_waiting(producer, topic, payload)
    left = producer.flush(120)
    elapsed = time.perf_counter() - started
    assert left == 0, f"{left} records not delivered"
    return len(values) / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--gate", choices=["none", "full"], default="none")
    args = parser.parse_args()
    GATE["validation"] = args.gate

    from confluent_kafka.schema_registry import SchemaRegistryClient
    from confluent_kafka.schema_registry.avro import AvroSerializer

    from charter import Producer

    values = records(args.records)
    with tempfile.TemporaryDirectory(prefix="charter-bench-sdk-") as scratch:
        process, bootstrap, registry_url = start_platform(Path(scratch) / "data")
        try:
            topic = "bench-orders"
            create_topic(bootstrap, topic)  # the serde side produces to it
            sdk = Producer(bootstrap, registry_url)
            confluent = AvroSerializer(
                SchemaRegistryClient({"url": registry_url}), json.dumps(SCHEMA)
            )
            time_sdk_serialize(sdk, topic, values[:1000])  # register, warm caches
            time_confluent_serialize(confluent, topic, values[:1000])
            payloads = [sdk._value_bytes(topic, value, SCHEMA) for value in values]

            def register(raw_topic: str) -> object:
                return sdk._value_bytes(raw_topic, values[0], SCHEMA)

            serialize_ratios, sdk_rates, confluent_rates = [], [], []
            produce_ratios, sdk_produce, raw_produce = [], [], []
            serde_ratios, serde_produce = [], []
            for round_number in range(args.rounds):
                sides = [
                    ("sdk", lambda: time_sdk_serialize(sdk, topic, values)),
                    ("confluent", lambda: time_confluent_serialize(confluent, topic, values)),
                ]
                if round_number % 2:
                    sides.reverse()
                rates = {name: run() for name, run in sides}
                sdk_rates.append(rates["sdk"])
                confluent_rates.append(rates["confluent"])
                serialize_ratios.append(rates["sdk"] / rates["confluent"])

                sends = [
                    ("sdk", lambda: time_sdk_produce(bootstrap, registry_url, values)),
                    ("raw", lambda: time_raw_produce(bootstrap, payloads, register)),
                    ("serde", lambda: time_confluent_produce(bootstrap, confluent, values)),
                ]
                if round_number % 2:
                    sends.reverse()
                rates = {name: run() for name, run in sends}
                sdk_produce.append(rates["sdk"])
                raw_produce.append(rates["raw"])
                produce_ratios.append(rates["sdk"] / rates["raw"])
                serde_produce.append(rates["serde"])
                serde_ratios.append(rates["sdk"] / rates["serde"])
                print(
                    f"round {round_number + 1}: serialize sdk {sdk_rates[-1]:,.0f}/s "
                    f"confluent {confluent_rates[-1]:,.0f}/s ({serialize_ratios[-1]:.2f}x); "
                    f"produce sdk {sdk_produce[-1]:,.0f}/s raw {raw_produce[-1]:,.0f}/s "
                    f"({produce_ratios[-1]:.2f}x) confluent serde {serde_produce[-1]:,.0f}/s",
                    flush=True,
                )
        finally:
            process.terminate()
            process.wait(timeout=30)
    print(f"\nserialize {args.records:,} records, {args.rounds} rounds")
    print(f"  SDK                      {spread([r / 1000 for r in sdk_rates], 0, 'k/s')}")
    print(f"  confluent AvroSerializer {spread([r / 1000 for r in confluent_rates], 0, 'k/s')}")
    print(f"  ratio (target >= 1.5)    {spread(serialize_ratios, 2, 'x')}")
    print(f"produce {args.records:,} records to Charter's broker (gate validation {args.gate})")
    print(f"  SDK Producer             {spread([r / 1000 for r in sdk_produce], 0, 'k/s')}")
    print(f"  raw confluent Producer   {spread([r / 1000 for r in raw_produce], 0, 'k/s')}")
    print(f"  ratio (target >= 0.8)    {spread(produce_ratios, 2, 'x')}")
    print(f"  AvroSerializer + raw     {spread([r / 1000 for r in serde_produce], 0, 'k/s')}")
    print(f"  SDK / AvroSerializer+raw {spread(serde_ratios, 2, 'x')}")


if __name__ == "__main__":
    main()
