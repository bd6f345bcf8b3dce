"""Differential tests: our Avro compatibility answers against Apache Avro's reference checker,
and a data round trip through fastavro for every pair we call compatible.

The reference is ``avro.compatibility.ReaderWriterCompatibilityChecker`` (the
Apache Avro Python port of Avro Java's ``SchemaCompatibility``). It differs from
Avro Java, and hence from Confluent Schema Registry, for short aliases inside a
namespace and for reader fields whose aliases match two writer fields (see
``test_reference_checker_differences`` in ``test_avro_compat``): the generated
schemas use no namespaces, and ambiguous-alias pairs are skipped here.
"""

from __future__ import annotations

import io
import json
import random
from typing import Any

import avro.schema
import fastavro
import pytest
from avro.compatibility import ReaderWriterCompatibilityChecker, SchemaCompatibilityType
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.formats.avro import AVRO
from tests.registry.formats.avro_strategies import evolution_chains, schemas


def _examples(count: int) -> settings:
    return settings(
        max_examples=count,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )


def reference_compatible(reader: Any, writer: Any) -> bool:
    checker = ReaderWriterCompatibilityChecker()
    result = checker.get_compatibility(
        avro.schema.parse(json.dumps(reader)), avro.schema.parse(json.dumps(writer))
    )
    return result.compatibility is SchemaCompatibilityType.compatible


def our_issues(reader: Any, writer: Any) -> list[Any]:
    return AVRO.check_compatibility(AVRO.parse(json.dumps(reader)), AVRO.parse(json.dumps(writer)))


def assert_same_answer(reader: Any, writer: Any) -> bool:
    ours = our_issues(reader, writer)
    if any(issue.error_type == "AMBIGUOUS_READER_FIELD" for issue in ours):
        # Avro Java rejects a reader field whose name and aliases match two writer fields;
        # the Python reference silently takes the first match (tested in test_avro_compat).
        return False
    expected = reference_compatible(reader, writer)
    assert (not ours) == expected, (
        f"reader={json.dumps(reader)}\nwriter={json.dumps(writer)}\n"
        f"ours={[i.confluent_message() for i in ours]} reference compatible={expected}"
    )
    return expected


@pytest.mark.slow
@_examples(200)
@given(evolution_chains(length=4))
def test_evolutions_agree_with_reference_checker(chain: list[Any]) -> None:
    """Every ordered pair of a 4-step evolution chain: 12 pairs per example."""
    for reader in chain:
        for writer in chain:
            if reader is not writer:
                assert_same_answer(reader, writer)


@pytest.mark.slow
@_examples(150)
@given(schemas(depth=2, top_record=False), schemas(depth=2, top_record=False))
def test_unrelated_schemas_agree_with_reference_checker(first: Any, second: Any) -> None:
    assert_same_answer(first, second)
    assert_same_answer(second, first)


def random_datum(schema: Any, rng: random.Random, names: dict[str, Any]) -> Any:
    """A random value of a standalone schema; ``bytes`` are UTF-8 so bytes->string reads work."""
    if isinstance(schema, list):
        return random_datum(rng.choice(schema), rng, names)
    if isinstance(schema, str):
        if schema in names:
            return random_datum(names[schema], rng, names)
        schema = {"type": schema}
    kind = schema["type"]
    if kind in ("record", "error", "enum", "fixed"):
        names[schema["name"]] = schema
    simple = {
        "null": lambda: None,
        "boolean": lambda: rng.random() < 0.5,
        "int": lambda: rng.randint(-(2**31), 2**31 - 1),
        "long": lambda: rng.randint(-(2**63), 2**63 - 1),
        "float": lambda: float(rng.randint(-1000, 1000)) / 4,
        "double": lambda: rng.uniform(-1e6, 1e6),
        "bytes": lambda: "".join(rng.choice("aé€") for _ in range(rng.randint(0, 4))).encode(),
        "string": lambda: "".join(rng.choice("xé€") for _ in range(rng.randint(0, 4))),
    }
    if kind in simple:
        return simple[kind]()
    if kind in ("record", "error"):
        return {f["name"]: random_datum(f["type"], rng, names) for f in schema["fields"]}
    if kind == "enum":
        return rng.choice(schema["symbols"])
    if kind == "fixed":
        # ASCII: fastavro picks a union branch by the value's Python type, so a fixed
        # value in a ["bytes", fixed] union is written in the bytes branch, which a
        # reader may then promote to string (valid only for UTF-8).
        return bytes(rng.randrange(0x20, 0x7F) for _ in range(schema["size"]))
    if kind == "array":
        return [random_datum(schema["items"], rng, names) for _ in range(rng.randint(0, 3))]
    return {f"k{i}": random_datum(schema["values"], rng, names) for i in range(rng.randint(0, 3))}


def _round_trip(reader: Any, writer: Any, seed: int, records: int = 3) -> None:
    writer_parsed = AVRO.parse(json.dumps(writer))
    reader_parsed = AVRO.parse(json.dumps(reader))
    rng = random.Random(seed)
    for _ in range(records):
        datum = random_datum(writer_parsed.standalone, rng, {})
        buffer = io.BytesIO()
        fastavro.schemaless_writer(buffer, writer_parsed.fastavro_schema, datum)
        buffer.seek(0)
        fastavro.schemaless_reader(
            buffer, writer_parsed.fastavro_schema, reader_parsed.fastavro_schema
        )
        assert buffer.tell() == len(buffer.getvalue()), "reader left bytes unread"


@pytest.mark.slow
@_examples(250)
@given(evolution_chains(length=3), st.integers(0, 2**32))
def test_compatible_pairs_read_written_data(chain: list[Any], seed: int) -> None:
    """Oracle: when we say compatible, fastavro reads writer data with the reader schema."""
    for reader in chain:
        for writer in chain:
            if not our_issues(reader, writer):
                _round_trip(reader, writer, seed)


@_examples(60)
@given(st.sampled_from(["null", "int", "long", "string"]), st.booleans(), st.booleans())
def test_recursive_schemas_agree_with_reference_checker(
    payload: str, reader_has_extra: bool, writer_has_extra: bool
) -> None:
    def linked_list(value_type: str, extra: bool) -> dict[str, Any]:
        fields: list[dict[str, Any]] = [
            {"name": "value", "type": value_type},
            {"name": "next", "type": ["null", "Node"], "default": None},
        ]
        if extra:
            fields.append({"name": "children", "type": {"type": "array", "items": "Node"}})
        return {"type": "record", "name": "Node", "fields": fields}

    reader = linked_list(payload, reader_has_extra)
    for writer_payload in ["null", "int", "long", "string"]:
        writer = linked_list(writer_payload, writer_has_extra)
        assert_same_answer(reader, writer)
