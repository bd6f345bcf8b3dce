"""The produce gate's cost: the same Avro records to a topic without and with validation.

Run: ``python bench/gate.py [--records 100000] [--rounds 5]``.

One Charter broker (``charter.compose.build_broker``, a subprocess, so the
client does not share its interpreter) over a fresh data directory; the
registry runs in this process (``charter.app.create_app``) over the same
SQLite database, as ``charter up``'s two processes do. The schema (12 fields:
a nested record, an array, an enum) is registered under ``gate-none-value``
and ``gate-full-value`` with one CEL rule (``message.price > 0.0 &&
message.quantity > 0``). Each round produces the same pre-serialized, framed
records with confluent-kafka (acks=all, linger.ms 5, batch.size 1 MB) to
``gate-none`` (``charter.value.schema.validation=none``: no record decoded)
and ``gate-full`` (``full``: framing, subject, Avro decode, the rule), in
alternating order, and reports records/s and full/none.

The per-record gate cost is measured in this process on the same bytes:
``SchemaGate.check_encoded`` (the native batch check the broker runs first,
``governance.native_gate``; the Python figure again when it is not built) and
``SchemaGate.check`` (the Python path) over batches of 1,000 records
(framing, schema lookup, decode, rule) against fastavro's
``schemaless_reader`` alone on the same batch, alternating batch by batch
(the best of three passes); the report gives gate/fastavro for both. Targets (issue 10): full >= 0.8 of none; gate <= 1.5x
fastavro. Also the broker adapter's part, which ``none`` never pays: decoding
a 1,000-record batch of the same values into the gate's records
(``broker.gate``). Figures are medians with ranges over the rounds
(docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from support import spread  # noqa: E402

READY = "Kafka listener ready on "
SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "Trade",
    "namespace": "bench",
    "fields": [
        {"name": "trade_id", "type": "long"},
        {"name": "symbol", "type": "string"},
        {"name": "price", "type": "double"},
        {"name": "quantity", "type": "int"},
        {"name": "side", "type": {"type": "enum", "name": "Side", "symbols": ["BUY", "SELL"]}},
        {"name": "venue", "type": "string"},
        {"name": "ts", "type": "long"},
        {"name": "trader", "type": "string"},
        {"name": "fees", "type": "float"},
        {"name": "settled", "type": "boolean"},
        {
            "name": "counterparty",
            "type": {
                "type": "record",
                "name": "Party",
                "fields": [
                    {"name": "id", "type": "long"},
                    {"name": "name", "type": "string"},
                    {"name": "country", "type": "string"},
                ],
            },
        },
        {"name": "tags", "type": {"type": "array", "items": "string"}},
    ],
}
RULE = "message.price > 0.0 && message.quantity > 0"
RULE_SET = {
    "domainRules": [
        {"name": "sane_trade", "kind": "CONDITION", "mode": "WRITE", "type": "CEL", "expr": RULE}
    ]
}


def _serve_broker(data_dir: Path) -> None:
    from broker.app import run_broker
    from charter import compose
    from charter.config import Settings
    from charter.events import start_broker_events

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    settings = Settings(data_dir=data_dir, host="127.0.0.1", kafka_port=0)
    database = compose.open_migrated_database(settings)
    app = compose.build_broker(settings, database)
    governance = compose.governance_for(database)
    events = start_broker_events(database, app.schemas, governance=governance)
    try:
        run_broker(app)
    finally:
        events.stop()
        governance.close()


def _payloads(count: int) -> list[bytes]:
    import fastavro

    parsed = fastavro.parse_schema(SCHEMA)
    payloads = []
    for index in range(count):
        value = {
            "trade_id": 1_000_000 + index,
            "symbol": ("ACME", "INIT", "GLOB")[index % 3],
            "price": 100.0 + index % 50,
            "quantity": 1 + index % 500,
            "side": ("BUY", "SELL")[index % 2],
            "venue": "XPAR",
            "ts": 1_700_000_000_000 + index,
            "trader": f"trader-{index % 20}",
            "fees": 1.25,
            "settled": index % 2 == 0,
            "counterparty": {"id": index % 1000, "name": "Counterparty Ltd", "country": "FR"},
            "tags": ["equity", "lit"][: 1 + index % 2],
        }
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, parsed, value)
        payloads.append(buffer.getvalue())
    return payloads


def _cpu_seconds(pid: int) -> float:
    """User plus system CPU time of process ``pid`` so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _produce(
    bootstrap: str, topic: str, values: list[bytes], records: int, broker_pid: int
) -> tuple[float, float]:
    """Records/s, and the broker's CPU microseconds per record, for one run."""
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "compression.type": "none",
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1_048_576,
        }
    )
    failures: list[object] = []

    def delivered(err: Any, _msg: Any) -> None:
        if err is not None:
            failures.append(err)

    producer.produce(topic, value=values[0], on_delivery=delivered)
    producer.flush(30)
    cpu_start = _cpu_seconds(broker_pid)
    start = time.perf_counter()
    for index in range(records):
        value = values[index % len(values)]
        while True:
            try:
                producer.produce(topic, value=value, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.005)
    remaining = producer.flush(300)
    elapsed = time.perf_counter() - start
    cpu = _cpu_seconds(broker_pid) - cpu_start
    if remaining or failures:
        raise RuntimeError(f"{remaining} undelivered, {len(failures)} failed: {failures[:3]}")
    return records / elapsed, cpu / records * 1e6


def _gate_cost(database: Any, schema_id: int, values: list[bytes]) -> tuple[float, float, float]:
    """Microseconds per record: ``SchemaGate.check`` (the Python path), ``check_encoded`` (the
    native batch check the broker runs first; the Python figure again when it is not built)
    and fastavro's decode, on the same bytes."""
    import fastavro

    from broker.protocol.records import Record, build_batch, read_batches, records_section
    from broker.schemas import SchemaState
    from governance.gate import GateConfig, GateContext, GateRecord
    from governance.schema_gate import SchemaGate

    gate = SchemaGate(SchemaState(database))
    context = GateContext("gate-full", 0, "User:ANONYMOUS", "bench", -1, GateConfig())
    batches = [
        [GateRecord(i, None, v, (), 0) for i, v in enumerate(values[start : start + 1000])]
        for start in range(0, len(values), 1000)
    ]
    sections = []
    for batch in batches:
        encoded = build_batch([Record(r.index, 0, None, r.value) for r in batch], timestamp=0)
        sections.append(records_section(encoded, read_batches(encoded)[0], 1 << 26))
    parsed = fastavro.parse_schema(SCHEMA)
    payloads = [
        [v[5:] for v in values[start : start + 1000]] for start in range(0, len(values), 1000)
    ]
    gate.check(context, batches[0])  # compile and cache
    native = gate.check_encoded(context, sections[0], len(batches[0])) is not None
    best_gate = best_native = best_decode = float("inf")
    clock = time.perf_counter
    for _ in range(3):
        # Batch by batch, alternately, so that all three see the same load on a shared machine.
        gate_time = native_time = decode_time = 0.0
        for batch, section, raw in zip(batches, sections, payloads, strict=True):
            start = clock()
            gate.check(context, batch)
            middle = clock()
            if native:
                gate.check_encoded(context, section, len(batch))
            else:
                gate.check(context, batch)
            after = clock()
            for payload in raw:
                fastavro.schemaless_reader(io.BytesIO(payload), parsed, None)
            gate_time += middle - start
            native_time += after - middle
            decode_time += clock() - after
        best_gate = min(best_gate, gate_time / len(values) * 1e6)
        best_native = min(best_native, native_time / len(values) * 1e6)
        best_decode = min(best_decode, decode_time / len(values) * 1e6)
    return best_gate, best_native, best_decode


def _broker_cost(values: list[bytes]) -> float:
    """Microseconds per record for the broker adapter to decode a batch into ``GateRecord``s."""
    from broker.gate import BrokerGate
    from broker.protocol.records import Record, build_batch, read_batches
    from governance.gate import ACCEPT, GateConfig, GateContext

    class _Accept:
        def inspects(self, context: Any) -> bool:
            return True

        def check(self, context: Any, records: Any) -> Any:
            return ACCEPT

    batch = build_batch(
        [Record(i, i, None, v) for i, v in enumerate(values[:1000])], timestamp=1_700_000_000_000
    )
    headers = read_batches(batch)
    adapter = BrokerGate(_Accept())
    context = GateContext("gate-full", 0, "User:ANONYMOUS", "bench", -1, GateConfig())
    best = float("inf")
    for _ in range(20):
        start = time.perf_counter()
        adapter._evaluate(context, batch, headers, 1 << 26)  # what admit runs on its worker
        best = min(best, (time.perf_counter() - start) / 1000 * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--serve-broker", type=Path)
    args = parser.parse_args()
    if args.serve_broker:
        _serve_broker(args.serve_broker)
        return

    from confluent_kafka.admin import AdminClient, NewTopic

    from charter.app import create_app
    from charter.config import Settings

    with tempfile.TemporaryDirectory(prefix="charter-bench-gate-") as scratch:
        data_dir = Path(scratch) / "data"
        app = create_app(Settings(data_dir=data_dir))
        client = app.test_client()
        body = {"schema": json.dumps(SCHEMA), "ruleSet": RULE_SET}
        schema_id = 0
        for subject in ("gate-none-value", "gate-full-value"):
            answer = client.post(
                f"/subjects/{subject}/versions",
                json=body,
                content_type="application/vnd.schemaregistry.v1+json",
            )
            assert answer.status_code == 200, answer.json
            schema_id = answer.json["id"]
        values = [b"\x00" + schema_id.to_bytes(4, "big") + p for p in _payloads(10_000)]

        process = subprocess.Popen(
            [sys.executable, __file__, "--serve-broker", str(data_dir)],
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert process.stderr is not None
            port = next(int(line.rsplit(":", 1)[1]) for line in process.stderr if READY in line)
            bootstrap = f"127.0.0.1:{port}"
            admin = AdminClient({"bootstrap.servers": bootstrap})
            topics = [
                NewTopic("gate-none", 1, 1, config={"charter.value.schema.validation": "none"}),
                NewTopic("gate-full", 1, 1, config={"charter.value.schema.validation": "full"}),
            ]
            for future in admin.create_topics(topics).values():
                future.result(30)
            time.sleep(0.5)  # the broker's follower has the registrations
            rates: dict[str, list[float]] = {"gate-none": [], "gate-full": []}
            cpus: dict[str, list[float]] = {"gate-none": [], "gate-full": []}
            cpu_ratios: list[float] = []
            ratios, gate_us, native_us, decode_us, broker_us = [], [], [], [], []
            cost_ratios, native_ratios = [], []
            for round_number in range(args.rounds):
                order = ["gate-none", "gate-full"]
                if round_number % 2:
                    order.reverse()
                for topic in order:
                    rate, cpu = _produce(bootstrap, topic, values, args.records, process.pid)
                    rates[topic].append(rate)
                    cpus[topic].append(cpu)
                ratios.append(rates["gate-full"][-1] / rates["gate-none"][-1])
                cpu_ratios.append(cpus["gate-none"][-1] / cpus["gate-full"][-1])
                gate_cost, native_cost, decode_cost = _gate_cost(
                    app.extensions["charter.database"], schema_id, values
                )
                gate_us.append(gate_cost)
                native_us.append(native_cost)
                decode_us.append(decode_cost)
                cost_ratios.append(gate_cost / decode_cost)
                native_ratios.append(native_cost / decode_cost)
                broker_us.append(_broker_cost(values))
                print(
                    f"round {round_number + 1}: none {rates['gate-none'][-1]:,.0f} rec/s, "
                    f"full {rates['gate-full'][-1]:,.0f} rec/s ({ratios[-1]:.2f}); broker CPU "
                    f"{cpus['gate-none'][-1]:.2f}/{cpus['gate-full'][-1]:.2f} us/record "
                    f"({cpu_ratios[-1]:.2f}); gate "
                    f"{gate_cost:.2f} us/record, native {native_cost:.3f} us, fastavro "
                    f"{decode_cost:.2f} us ({cost_ratios[-1]:.2f}x, native "
                    f"{native_ratios[-1]:.3f}x); broker decode {broker_us[-1]:.2f} us",
                    flush=True,
                )
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            app.extensions["charter.events"].stop()
            app.extensions["charter.governance"].close()
        print(
            f"records: {args.records} per run, {len(values[0])} bytes each (framed), {args.rounds} rounds"
        )
        print(f"validation none: {spread(rates['gate-none'], 0, ' rec/s')}")
        print(f"validation full + 1 CEL rule: {spread(rates['gate-full'], 0, ' rec/s')}")
        print(f"full / none: {spread(ratios)}  (target >= 0.80)")
        print(f"broker CPU per record, none: {spread(cpus['gate-none'], 2, ' us')}")
        print(f"broker CPU per record, full: {spread(cpus['gate-full'], 2, ' us')}")
        print(f"broker CPU none / full (full/none if CPU-bound): {spread(cpu_ratios)}")
        from governance.native_gate import AVAILABLE

        print(f"native batch check: {'built' if AVAILABLE else 'NOT built (Python figures)'}")
        print(f"gate per record, native batch check: {spread(native_us, 3, ' us')}")
        print(f"gate per record, Python path: {spread(gate_us, 2, ' us')}")
        print(f"fastavro schemaless decode per record: {spread(decode_us, 2, ' us')}")
        print(f"gate / fastavro, native: {spread(native_ratios, 3)}  (target <= 1.50)")
        print(f"gate / fastavro, Python path: {spread(cost_ratios)}")
        print(f"broker: batch into gate records, per record: {spread(broker_us, 2, ' us')}")


if __name__ == "__main__":
    main()
