"""What lineage costs the produce path of a topic the gate does not read (validation ``none``).

Run: ``python bench/lineage_unread.py [--appends 500] [--rounds 5]``.

In this process, over a fresh SQLite database and log directory: the broker's
per-partition produce steps for a ``none`` topic (``BrokerGate.context``,
``inspects``, ``PartitionLog.append`` without fsync) with the gate that
``charter`` wires (``SchemaGate`` with a ``LineageRecorder``), without and with
``BrokerGate.observe_unread`` (read the first value's 5 bytes, count the batch).
Each round alternates the two over the same batches; it reports the cost per
produce request partition (µs) and with/without as a ratio, for three
batches: 1,000 framed 100-byte values uncompressed, the same lz4-compressed,
and one record (the worst case: least append work per observation).
Figures are medians with ranges over the rounds (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from support import spread  # noqa: E402

from broker.gate import BrokerGate  # noqa: E402
from broker.protocol.records import (  # noqa: E402
    COMPRESSION_LZ4,
    COMPRESSION_NONE,
    Record,
    build_batch,
    read_batches,
)
from broker.settings import BrokerSettings  # noqa: E402
from broker.topics import TopicManager  # noqa: E402
from broker.topics import log_end as log_end_store  # noqa: E402
from broker.topics import store as broker_store  # noqa: E402
from charter.db import apply_migrations, open_database  # noqa: E402
from governance.lineage import LineageRecorder  # noqa: E402
from governance.schema_gate import SchemaGate  # noqa: E402

VALUE = b"\x00\x00\x00\x00\x07" + bytes(range(95))


def _batch(count: int, codec: int) -> bytes:
    return build_batch([Record(i, 0, None, VALUE) for i in range(count)], compression=codec)


def _run(
    topics: TopicManager, gate: BrokerGate, batch: bytes, appends: int, observe: bool
) -> float:
    """Seconds per produce request partition, as ``broker.handlers.produce`` does it."""
    headers = read_batches(batch)
    log_ = topics.partition("t", 0)
    start = time.perf_counter()
    for _ in range(appends):
        context = gate.context(
            topics, "t", 0, principal="User:ANONYMOUS", client_id="bench", producer_id=-1
        )
        assert context is not None and not gate.inspects(context)
        log_.append(batch, headers, now_ms=0, defer_flush=True)
        if observe:
            gate.observe_unread(context, batch, headers)
    return (time.perf_counter() - start) / appends


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    batches = {
        "1000 records": _batch(1000, COMPRESSION_NONE),
        "1000 records lz4": _batch(1000, COMPRESSION_LZ4),
        "1 record": _batch(1, COMPRESSION_NONE),
    }
    with tempfile.TemporaryDirectory() as tmp:
        database = open_database(f"sqlite:///{Path(tmp) / 'charter.db'}")
        apply_migrations(database, [broker_store, log_end_store])
        topics = TopicManager(database, Path(tmp) / "log", BrokerSettings(data_dir=Path(tmp)))
        lineage = LineageRecorder(None)
        gate = BrokerGate(SchemaGate(schemas=None, lineage=lineage))  # type: ignore[arg-type]
        try:
            topics.create("t", 1, configs={"charter.value.schema.validation": "none"})
            for name, batch in batches.items():
                before: list[float] = []
                after: list[float] = []
                ratios: list[float] = []
                for _ in range(args.rounds):
                    before.append(_run(topics, gate, batch, args.appends, False) * 1e6)
                    after.append(_run(topics, gate, batch, args.appends, True) * 1e6)
                    ratios.append(after[-1] / before[-1])
                print(f"{name} ({len(batch):,} bytes):")
                print(f"  without lineage: {spread(before, 1, ' µs')}")
                print(f"  with lineage:    {spread(after, 1, ' µs')}")
                print(f"  with / without:  {spread(ratios, 3)}")
            (seen,) = lineage.snapshot()
            assert seen["schema_id"] == 7, seen
        finally:
            topics.close()
            database.close()


if __name__ == "__main__":
    main()
