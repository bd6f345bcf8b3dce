"""Benchmark: FULL_TRANSITIVE Avro compatibility check, ours vs the Apache Avro reference checker.

Scenario: a subject with 100 live versions of a record schema; version 1 has 101
fields and every later version adds one field with a default, so the new
version 101 has 200 fields. FULL_TRANSITIVE checks the new version against
every live version in both directions (200 reader/writer checks).

Measured side by side in one run, best of several repetitions:
- cold: parse all 101 schema texts (empty parse cache), then run the 200 checks;
- warm: schemas already parsed (the registry's parse cache), run the 200 checks.

Run: ``python bench/compatibility.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import avro.schema  # noqa: E402
from avro.compatibility import (  # noqa: E402
    ReaderWriterCompatibilityChecker,
    SchemaCompatibilityType,
)

from registry.formats.avro import AVRO  # noqa: E402

LIVE_VERSIONS = 100
FIRST_FIELDS = 100


def _field(index: int, with_default: bool) -> dict[str, Any]:
    """Field ``index``: a rotating mix of primitives, unions, enums, arrays, maps and records."""
    name = f"f{index}"
    kind = index % 8
    if kind == 0:
        field: dict[str, Any] = {"name": name, "type": "int", "default": 0}
    elif kind == 1:
        field = {"name": name, "type": "string", "default": ""}
    elif kind == 2:
        field = {"name": name, "type": ["null", "long"], "default": None}
    elif kind == 3:
        field = {
            "name": name,
            "type": {"type": "enum", "name": f"E{index}", "symbols": ["A", "B", "C"]},
            "default": "A",
        }
    elif kind == 4:
        field = {"name": name, "type": {"type": "array", "items": "double"}, "default": []}
    elif kind == 5:
        field = {"name": name, "type": {"type": "map", "values": "string"}, "default": {}}
    elif kind == 6:
        field = {
            "name": name,
            "type": {
                "type": "record",
                "name": f"Nested{index}",
                "fields": [
                    {"name": "x", "type": "int"},
                    {"name": "y", "type": ["null", "string"], "default": None},
                ],
            },
            "default": {"x": 0},
        }
    else:
        field = {
            "name": name,
            "type": {"type": "long", "logicalType": "timestamp-millis"},
            "default": 0,
        }
    if not with_default:
        field.pop("default")
    return field


def schema_versions() -> list[str]:
    """Texts of versions 1..101; the first 101 fields have no default, later ones do."""
    versions = []
    for version in range(1, LIVE_VERSIONS + 2):
        fields = [_field(i, with_default=False) for i in range(FIRST_FIELDS)]
        fields += [
            _field(i, with_default=True) for i in range(FIRST_FIELDS, FIRST_FIELDS + version - 1)
        ]
        schema = {"type": "record", "name": "Event", "namespace": "com.acme", "fields": fields}
        versions.append(json.dumps(schema, indent=2))
    return versions


def ours(texts: list[str], cold: bool) -> int:
    if cold:
        AVRO.clear_cache()
    parsed = [AVRO.parse(text) for text in texts]
    new, live = parsed[-1], parsed[:-1]
    incompatible = 0
    for old in live:
        incompatible += bool(AVRO.check_compatibility(new, old))  # backward
        incompatible += bool(
            AVRO.check_compatibility(old, new, reader_role="old", writer_role="new")
        )
    return incompatible


def reference(texts: list[str], preparsed: list[Any] | None) -> int:
    parsed = preparsed if preparsed is not None else [avro.schema.parse(text) for text in texts]
    new, live = parsed[-1], parsed[:-1]
    incompatible = 0
    for old in live:
        for reader, writer in ((new, old), (old, new)):
            result = ReaderWriterCompatibilityChecker().get_compatibility(reader, writer)
            incompatible += result.compatibility is not SchemaCompatibilityType.compatible
    return incompatible


def best_of(repeat: int, run: Callable[[], int]) -> tuple[float, int]:
    timings, answer = [], 0
    for _ in range(repeat):
        start = time.perf_counter()
        answer = run()
        timings.append(time.perf_counter() - start)
    return min(timings), answer


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="repetitions; the best is reported")
    args = parser.parse_args()

    texts = schema_versions()
    field_count = len(json.loads(texts[-1])["fields"])
    preparsed = [avro.schema.parse(text) for text in texts]
    AVRO.clear_cache()
    ours(texts, cold=False)  # fill the parse cache for the warm runs

    rows = [
        (
            "cold (parse 101 + 200 checks)",
            best_of(args.repeat, lambda: ours(texts, cold=True)),
            best_of(args.repeat, lambda: reference(texts, None)),
        ),
        (
            "warm (200 checks, pre-parsed)",
            best_of(args.repeat, lambda: ours(texts, cold=False)),
            best_of(args.repeat, lambda: reference(texts, preparsed)),
        ),
    ]
    print(
        f"FULL_TRANSITIVE: version {LIVE_VERSIONS + 1} ({field_count} fields) vs {LIVE_VERSIONS} live versions"
    )
    print(f"machine: {machine()}; best of {args.repeat}")
    print(f"{'case':<32}{'charter':>12}{'apache avro':>14}{'ratio':>9}")
    for label, (our_time, our_answer), (ref_time, ref_answer) in rows:
        assert our_answer == ref_answer == 0, "every version should be compatible"
        print(
            f"{label:<32}{our_time * 1000:>10.1f}ms{ref_time * 1000:>12.1f}ms{ref_time / our_time:>8.1f}x"
        )


if __name__ == "__main__":
    main()
