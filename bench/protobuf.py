"""Protobuf schemas: the registry's parse + compatibility path against the parser called directly.

Run: ``python bench/protobuf.py [--schemas 100] [--runs 5] [--records 100000]``.

Side by side in one run:

* **parse + compatibility, registry path** — for each of ``--schemas`` generated
  ``.proto`` files (nested messages, a oneof, a map, an enum, an import of a
  shared referenced file and of a well-known type) and its next version (one
  field added): ``PROTOBUF.parse`` of both (cold cache: canonical text,
  fingerprint, custom-option interpretation, the descriptor pool) and
  ``PROTOBUF.check_compatibility``, as ``register`` does.
* **parse + compatibility, parser directly** — the same files through the chosen
  parser itself: ``parse_proto`` + ``link`` + ``build_pool`` for both versions and
  ``diff_files`` on them, with none of the registry's wrapping.
* **decode** — the payload validator (message-index array, class lookup,
  ``FromString``, required-field check) against ``Order.FromString`` on the
  same bytes, per record.
* **gate** — the produce gate's real path, ``SchemaGate.check`` on batches of
  1,000 framed records (magic byte, schema id, subject check, message-index
  array, decode with the message's descriptor) against ``ParseFromString``
  into a fresh ``Order`` per record, the same bytes, interleaved per 1,000
  records; and, for information,
  the gate with one CEL rule over two scalar fields (``message.id > 0 &&
  message.status != 0``, as bench/gate.py's Avro rule reads two fields),
  which adds the conversion of the message into the rules' dict view.

Each figure is the median of ``--runs`` runs, with the range. Ratios are
registry/direct, validator/``FromString`` and gate/``ParseFromString``;
targets are 2x, 1.5x and 1.5x.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from governance.gate import ACCEPT, GateConfig, GateContext, GateRecord  # noqa: E402
from governance.schema_gate import SchemaGate  # noqa: E402
from registry.formats.base import ParsedSchema, ResolvedReference  # noqa: E402
from registry.formats.protobuf import PROTOBUF  # noqa: E402
from registry.formats.protobuf_compat import diff_files  # noqa: E402
from registry.formats.protobuf_link import build_pool, link  # noqa: E402
from registry.formats.protobuf_parse import parse_proto  # noqa: E402
from registry.store import Reference, StoredSchema  # noqa: E402

COMMON = """syntax = "proto3";
package acme.common;

message Money {
  string currency = 1;
  int64 units = 2;
  int32 nanos = 3;
}
message Address {
  string street = 1;
  string city = 2;
  string country = 3;
}
"""


def schema(index: int, extra_field: bool) -> str:
    extra = "    string channel = 9;\n" if extra_field else ""
    return f"""syntax = "proto3";
package acme.shop{index};

import "google/protobuf/timestamp.proto";
import "acme/common.proto";

// Order number {index}.
message Order{index} {{
  int64 id = 1;
  google.protobuf.Timestamp placed_at = 2;
  acme.common.Address ship_to = 3;
  repeated Line lines = 4;
  map<string, string> labels = 5;
  Status status = 6;
  oneof payment {{
    Card card = 7;
    string voucher = 8;
  }}
{extra}
  message Line {{
    string sku = 1;
    int32 quantity = 2;
    acme.common.Money price = 3;
    message Discount {{
      string code = 1;
      double percent = 2;
    }}
    repeated Discount discounts = 4;
  }}
  message Card {{
    string last4 = 1;
    int32 expiry_month = 2;
    int32 expiry_year = 3;
  }}
  enum Status {{
    STATUS_UNSPECIFIED = 0;
    PLACED = 1;
    PAID = 2;
    SHIPPED = 3;
  }}
}}
"""


def registry_path(pairs: list[tuple[str, str]], references: tuple[ResolvedReference, ...]) -> None:
    PROTOBUF.clear_cache()
    for old_text, new_text in pairs:
        old = PROTOBUF.parse(old_text, references)
        new = PROTOBUF.parse(new_text, references)
        assert PROTOBUF.check_compatibility(new, old) == []


def direct_path(pairs: list[tuple[str, str]]) -> None:
    common = link(parse_proto(COMMON, "acme/common.proto"), {})
    build_pool(common)
    imports = {"acme/common.proto": common}
    for old_text, new_text in pairs:
        old = link(parse_proto(old_text), imports)
        build_pool(old)
        new = link(parse_proto(new_text), imports)
        build_pool(new)
        diff_files(old, new)


class OneSchema:
    """The gate's ``SchemaLookup`` over one parsed schema registered as ``bench-value`` v1."""

    def __init__(self, text: str, parsed: ParsedSchema, rule_set: dict[str, Any] | None) -> None:
        reference = Reference("acme/common.proto", "acme-common", 1)
        self.stored = StoredSchema(1, "PROTOBUF", text, (reference,), None, rule_set)
        self._parsed = parsed

    def schema(self, schema_id: int) -> StoredSchema | None:
        return self.stored if schema_id == 1 else None

    def parsed(self, schema_id: int) -> ParsedSchema:
        return self._parsed

    def subject_version(self, subject: str, schema_id: int) -> int | None:
        return 1 if (subject, schema_id) == ("bench-value", 1) else None


RULE_SET = {
    "domainRules": [
        {
            "name": "lines",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.id > 0 && message.status != 0",
        }
    ]
}


def gate_run(gate: SchemaGate, batches: list[list[GateRecord]]) -> None:
    context = GateContext("bench", 0, "User:bench", "bench", -1, GateConfig())
    for batch in batches:
        verdict = gate.check(context, batch)
        assert verdict is ACCEPT, verdict


def parse_run(order_class: Any, bodies: list[bytes]) -> None:
    for body in bodies:
        order_class().ParseFromString(body)


def timed(work: Callable[[], None]) -> float:
    """Seconds ``work`` takes, with the cyclic GC paused as ``timeit`` does (a collection
    triggered by one side's garbage would otherwise land on whichever side runs next)."""
    gc.collect()
    gc.disable()
    try:
        start = time.perf_counter()
        work()
        return time.perf_counter() - start
    finally:
        gc.enable()


def summary(values: list[float]) -> str:
    return f"median {statistics.median(values):.4g} (range {min(values):.4g}–{max(values):.4g})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--schemas", type=int, default=100)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()

    common_text = PROTOBUF.parse(COMMON).canonical_string
    references = (ResolvedReference("acme/common.proto", "acme-common", 1, common_text),)
    pairs = [(schema(i, False), schema(i, True)) for i in range(args.schemas)]

    registry_s, direct_s = [], []
    for _ in range(args.runs):
        direct_s.append(timed(lambda: direct_path(pairs)))
        registry_s.append(timed(lambda: registry_path(pairs, references)))
    ratios = [r / d for r, d in zip(registry_s, direct_s, strict=True)]
    print(f"parse+compat of {args.schemas} schema pairs ({args.runs} runs)")
    print(
        f"  direct   s/run: {summary(direct_s)}  = {statistics.median(direct_s) / args.schemas * 1e3:.2f} ms/pair"
    )
    print(
        f"  registry s/run: {summary(registry_s)}  = {statistics.median(registry_s) / args.schemas * 1e3:.2f} ms/pair"
    )
    print(f"  ratio registry/direct: {summary(ratios)} (target <= 2)")

    parsed = PROTOBUF.parse(schema(0, False), references)
    validator = parsed.payload_validator
    order_class = validator.message_class([0])
    order = order_class(id=12345, status=2, voucher="SPRING")
    order.placed_at.seconds = 1_700_000_000
    order.ship_to.street, order.ship_to.city, order.ship_to.country = (
        "1 Main St",
        "Springfield",
        "US",
    )
    for number in range(3):
        line = order.lines.add(sku=f"sku-{number}", quantity=number + 1)
        line.price.currency, line.price.units = "EUR", 10 + number
        line.discounts.add(code="TEN", percent=10.0)
    order.labels["source"] = "web"
    body = order.SerializeToString()
    framed = b"\x00" + body
    records = args.records
    raw_s, validator_s = [], []
    for _ in range(args.runs):
        raw_s.append(timed(lambda: [order_class.FromString(body) for _ in range(records)]))
        validator_s.append(timed(lambda: [validator(framed) for _ in range(records)]))
    decode_ratios = [v / r for v, r in zip(validator_s, raw_s, strict=True)]
    print(f"decode of a {len(body)}-byte Order, {records} records ({args.runs} runs)")
    print(f"  FromString µs/record: {summary([s / records * 1e6 for s in raw_s])}")
    print(f"  validator  µs/record: {summary([s / records * 1e6 for s in validator_s])}")
    print(f"  ratio validator/FromString: {summary(decode_ratios)} (target <= 1.5)")

    text = schema(0, False)
    gates = {
        "gate": SchemaGate(OneSchema(text, parsed, None)),
        "gate + rule": SchemaGate(OneSchema(text, parsed, RULE_SET)),
    }
    record = b"\x00" + (1).to_bytes(4, "big") + framed
    batches = [
        [GateRecord(i, None, record, (), 0) for i in range(1000)]
        for _ in range(max(1, records // 1000))
    ]
    count = len(batches) * 1000
    chunk = [body] * 1000
    timings: dict[str, list[float]] = {"ParseFromString": [], **{name: [] for name in gates}}
    for _ in range(args.runs):
        # interleaved per 1,000 records, so a busy machine slows every side alike
        spent = dict.fromkeys(timings, 0.0)
        for batch in batches:
            spent["ParseFromString"] += timed(lambda: parse_run(order_class, chunk))
            for name, gate in gates.items():
                spent[name] += timed(lambda gate=gate, batch=batch: gate_run(gate, [batch]))
        for name, seconds in spent.items():
            timings[name].append(seconds)
    print(f"the gate's path (SchemaGate.check, batches of 1,000), {count} records")
    for name, values in timings.items():
        print(f"  {name:<16} µs/record: {summary([s / count * 1e6 for s in values])}")
    base = timings["ParseFromString"]
    for name in gates:
        ratio = [g / p for g, p in zip(timings[name], base, strict=True)]
        target = " (target <= 1.5)" if name == "gate" else ""
        print(f"  ratio {name}/ParseFromString: {summary(ratio)}{target}")


if __name__ == "__main__":
    main()
