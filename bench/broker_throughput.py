"""Broker throughput: confluent-kafka produce/consume against Charter's broker and raw sinks.

Run: ``python bench/broker_throughput.py [--records 150000] [--size 1000] [--rounds 5]``.

Side by side in each round, with the same client settings (acks=all,
linger.ms 5, batch.size 1 MB, one partition, no compression, gate off):

* **raw-sink** — the ceiling for a Python server on this machine: a raw asyncio
  socket server that speaks just enough Kafka for librdkafka to produce to it.
  It answers ApiVersions and Metadata with fixed pre-encoded responses and
  InitProducerId is not offered; for each Produce request (it advertises only
  Produce v7, non-flexible, so its parsing is a few ``struct`` calls) it appends
  the request's record bytes to a file and answers with a hand-encoded
  response. No fsync, no decoding with a codec library, no CRC check, no log
  index. The issue's target is charter produce >= 0.5 of this.
* **fsync-sink** — the same server, fsyncing the file after every append (the
  broker fsyncs appends by default too).
* **charter** — ``broker.app.run_broker`` over a fresh data directory.

All servers run as subprocesses so the client does not share their GIL. The
produce figure is records/s and MB/s from the first ``produce()`` to the end of
``flush()``; consume reads the first ``--records`` records back from offset 0
with ``Consumer.consume`` (manual assignment), against the Charter broker only
(the sinks keep no index to serve fetches). Each round starts the three servers
over fresh directories and produces to them in turn (the order rotates from
round to round), ``--repeats`` times each, keeping each server's fastest run: a
run lasts well under a second, so on a shared machine one burst of other work
would otherwise decide a round. The ratios of each round are computed within
that round, and the report gives their median and range over the rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import struct
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from support import spread

ROOT = Path(__file__).resolve().parents[1]
READY = "ready on "


# --------------------------------------------------------------------------- the sink


def _sink_api_versions(version: int) -> bytes:
    # Produce 7..7, Metadata 1..1, ApiVersions 0..3, and Fetch 4..4 although it is never
    # served: librdkafka only writes record batch v2 when the broker lists Fetch v4+.
    # v0: error, [key, min, max]; v1-2 add throttle_time; v3 is flexible.
    apis = [(0, 7, 7), (1, 4, 4), (3, 1, 1), (18, 0, 3)]
    if version >= 3:
        entries = b"".join(struct.pack(">hhh", *api) + b"\x00" for api in apis)
        return (
            struct.pack(">h", 0) + bytes([len(apis) + 1]) + entries + struct.pack(">i", 0) + b"\x00"
        )
    body = struct.pack(">hi", 0, len(apis)) + b"".join(struct.pack(">hhh", *api) for api in apis)
    return body + (struct.pack(">i", 0) if version >= 1 else b"")


def _string(text: str) -> bytes:
    data = text.encode()
    return struct.pack(">h", len(data)) + data


def _sink_metadata(port: int, topics: list[str]) -> bytes:
    # Metadata v1 body: brokers [node, host, port, rack], controller, topics [err, name, internal, partitions]
    body = (
        struct.pack(">i", 1) + struct.pack(">i", 0) + _string("127.0.0.1") + struct.pack(">i", port)
    )
    body += struct.pack(">h", -1) + struct.pack(">i", 0) + struct.pack(">i", len(topics))
    for topic in topics:
        body += struct.pack(">h", 0) + _string(topic) + b"\x00" + struct.pack(">i", 1)
        body += struct.pack(">hiii", 0, 0, 0, 1) + struct.pack(">i", 0) + struct.pack(">ii", 1, 0)
    return body


async def _sink_connection(reader, writer, port: int, sink_file, fsync: bool) -> None:
    offset = 0
    try:
        while True:
            size = struct.unpack(">i", await reader.readexactly(4))[0]
            frame = await reader.readexactly(size)
            api_key, api_version, correlation_id, client_len = struct.unpack_from(">hhih", frame)
            position = 10 + max(client_len, 0)
            if api_key == 18:
                body = _sink_api_versions(api_version)
            elif api_key == 3:
                count = struct.unpack_from(">i", frame, position)[0]
                position += 4
                topics = []
                for _ in range(max(count, 0)):
                    length = struct.unpack_from(">h", frame, position)[0]
                    topics.append(frame[position + 2 : position + 2 + length].decode())
                    position += 2 + length
                body = _sink_metadata(port, topics)
            elif api_key == 0:
                txn_len = struct.unpack_from(">h", frame, position)[0]
                position += 2 + max(txn_len, 0)
                acks = struct.unpack_from(">h", frame, position)[0]
                position += 2 + 4 + 4  # acks, timeout, topic count (1)
                name_len = struct.unpack_from(">h", frame, position)[0]
                name = frame[position + 2 : position + 2 + name_len]
                position += 2 + name_len + 4  # partitions count (1)
                partition, records_len = struct.unpack_from(">ii", frame, position)
                position += 8
                records = frame[position : position + records_len]
                sink_file.write(records)
                sink_file.flush()
                if fsync:
                    os.fsync(sink_file.fileno())
                base = offset
                # records_count of each batch is at byte 57 of the batch; one batch per request here.
                offset += struct.unpack_from(">i", records, 57)[0]
                if acks == 0:
                    continue
                body = (
                    struct.pack(">i", 1) + struct.pack(">h", name_len) + name + struct.pack(">i", 1)
                )
                body += struct.pack(">ihqqq", partition, 0, base, -1, 0) + struct.pack(">i", 0)
            else:
                print(
                    f"sink: closing on unsupported API key {api_key}", file=sys.stderr, flush=True
                )
                return
            writer.write(struct.pack(">ii", len(body) + 4, correlation_id) + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _run_sink(data_dir: Path, *, fsync: bool) -> None:
    sink_file = open(data_dir / "sink.bin", "ab")  # noqa: SIM115 (lives as long as the server)
    port_holder: list[int] = []
    server = await asyncio.start_server(
        lambda r, w: _sink_connection(r, w, port_holder[0], sink_file, fsync), "127.0.0.1", 0
    )
    port_holder.append(server.sockets[0].getsockname()[1])
    print(f"sink ready on 127.0.0.1:{port_holder[0]}", file=sys.stderr, flush=True)
    await server.serve_forever()


def _run_charter(data_dir: Path) -> None:
    import logging

    sys.path.insert(0, str(ROOT))
    from broker.app import run_broker
    from charter.compose import build_broker, open_migrated_database
    from charter.config import Settings

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    # the broker alone, as the peers run: no schema gate (bench/gate.py measures the gate)
    settings = Settings(
        data_dir=data_dir, host="127.0.0.1", kafka_port=0, value_schema_validation="none"
    )
    database = open_migrated_database(settings)
    run_broker(build_broker(settings, database))


# --------------------------------------------------------------------------- the client side


def _start(kind: str, data_dir: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, __file__, f"--serve-{kind}", str(data_dir)],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stderr is not None
    for line in process.stderr:
        if READY in line:
            return process, int(line.rsplit(":", 1)[1])
    raise RuntimeError(f"{kind} server did not start")


def _produce(bootstrap: str, topic: str, records: int, size: int) -> float:
    from confluent_kafka import Producer

    producer = Producer(
        {
            "bootstrap.servers": bootstrap,
            "acks": "all",
            "linger.ms": 5,
            "batch.size": 1_000_000,
            "compression.type": "none",
            "enable.idempotence": False,  # the sink offers no InitProducerId
            "queue.buffering.max.messages": 500_000,
            "queue.buffering.max.kbytes": 1_048_576,
        }
    )
    failures: list[object] = []

    def delivered(err, _msg) -> None:
        if err is not None:
            failures.append(err)

    payload = os.urandom(size)
    producer.produce(topic, value=b"warm-up", on_delivery=delivered)
    producer.flush(30)
    start = time.perf_counter()
    for _ in range(records):
        while True:
            try:
                producer.produce(topic, value=payload, on_delivery=delivered)
                break
            except BufferError:
                producer.poll(0.005)
    remaining = producer.flush(300)
    elapsed = time.perf_counter() - start
    if remaining or failures:
        raise RuntimeError(f"{remaining} undelivered, {len(failures)} failed: {failures[:3]}")
    return elapsed


def _consume(bootstrap: str, topic: str, records: int) -> float:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": "bench",
            "enable.auto.commit": False,
            "fetch.max.bytes": 52_428_800,
            "max.partition.fetch.bytes": 10_485_760,
        }
    )
    consumer.assign([TopicPartition(topic, 0, 0)])
    wanted = records + 1  # plus the warm-up record
    seen = 0
    start = time.perf_counter()
    while seen < wanted:
        for message in consumer.consume(num_messages=10_000, timeout=1.0):
            if message.error() is None:
                seen += 1
    elapsed = time.perf_counter() - start
    consumer.close()
    return elapsed


def _stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


KINDS = ("raw-sink", "fsync-sink", "charter")


def _round(
    scratch: Path, order: list[str], records: int, size: int, repeats: int
) -> dict[str, float]:
    """One round: all servers up at once, ``repeats`` produce runs against each in turn
    (best run kept), then one consume from charter."""
    servers: dict[str, tuple[subprocess.Popen[str], str]] = {}
    seconds: dict[str, float] = {}
    try:
        for kind in order:
            data_dir = scratch / kind
            data_dir.mkdir()
            process, port = _start(kind, data_dir)
            servers[kind] = (process, f"127.0.0.1:{port}")
        for _ in range(repeats):
            for kind in order:
                elapsed = _produce(servers[kind][1], "bench", records, size)
                seconds[f"{kind} produce"] = min(seconds.get(f"{kind} produce", elapsed), elapsed)
        seconds["charter consume"] = _consume(servers["charter"][1], "bench", records)
    finally:
        for process, _bootstrap in servers.values():
            _stop(process)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=150_000)
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=3, help="produce runs per server per round")
    parser.add_argument("--serve-raw-sink", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve-fsync-sink", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--serve-charter", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_raw_sink:
        asyncio.run(_run_sink(args.serve_raw_sink, fsync=False))
        return
    if args.serve_fsync_sink:
        asyncio.run(_run_sink(args.serve_fsync_sink, fsync=True))
        return
    if args.serve_charter:
        _run_charter(args.serve_charter)
        return

    megabytes = args.records * args.size / 1e6
    print(
        f"{args.records} records of {args.size} B, acks=all, linger.ms=5, batch.size=1 MB, "
        f"1 partition, no compression, {args.rounds} rounds of best-of-{args.repeats} produce "
        f"runs; load average "
        f"{os.getloadavg()[0]:.1f} at start\n"
    )
    print(f"{'round':<7}{'run':<20}{'seconds':>9}{'records/s':>12}{'MB/s':>9}")
    ratios: dict[str, list[float]] = {"raw": [], "fsync": [], "consume": []}
    for number in range(args.rounds):
        order = list(KINDS[number % 3 :] + KINDS[: number % 3])
        with tempfile.TemporaryDirectory(prefix="charter-bench-") as scratch:
            seconds = _round(Path(scratch), order, args.records, args.size, args.repeats)
        for name, elapsed in seconds.items():
            print(
                f"{number + 1:<7}{name:<20}{elapsed:>9.2f}{args.records / elapsed:>12,.0f}"
                f"{megabytes / elapsed:>9.1f}"
            )
        ratios["raw"].append(seconds["raw-sink produce"] / seconds["charter produce"])
        ratios["fsync"].append(seconds["fsync-sink produce"] / seconds["charter produce"])
        ratios["consume"].append(seconds["charter produce"] / seconds["charter consume"])
        print(
            f"{'':<7}charter produce / raw-sink {ratios['raw'][-1]:.2f}, / fsync-sink "
            f"{ratios['fsync'][-1]:.2f}; consume / produce {ratios['consume'][-1]:.2f}",
            flush=True,
        )
    print(
        f"\nmedian and range over {args.rounds} rounds (load average now {os.getloadavg()[0]:.1f}):"
    )
    print(f"charter produce / raw-sink produce   = {spread(ratios['raw'])} (target >= 0.5)")
    print(f"charter produce / fsync-sink produce = {spread(ratios['fsync'])}")
    print(f"charter consume / charter produce    = {spread(ratios['consume'])} (target >= 1)")


if __name__ == "__main__":
    main()
