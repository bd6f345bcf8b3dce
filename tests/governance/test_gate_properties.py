"""Properties of the gate over the wire: a valid record always passes; a mutated one never
crashes the broker and never lands unless it really is a valid record of its schema.

Batches go through a raw Kafka connection (exact error codes), to the composed broker
with the schema gate (``tests.governance.stack``).
"""

from __future__ import annotations

import io
import struct
import types
from collections.abc import Iterator

import crc32c
import fastavro
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode

from broker.protocol.records import Record, build_batch, iter_records, read_batches
from tests.broker.test_server_handlers import _Client, _produce
from tests.governance.records import ORDER, POSITIVE_AMOUNT, order
from tests.governance.stack import Stack, start_stack

pytestmark = pytest.mark.slow

_PARSED = fastavro.parse_schema(ORDER)
_CRC_AT = 17  # the batch CRC (int32) covers everything from the attributes (byte 21) on
_RECORDS_AT = 61  # the first record of a batch
_SETTINGS = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def governed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Stack, int, _Client]]:
    stack = start_stack(tmp_path_factory.mktemp("gate-properties") / "data")
    stack.create_topic("props")
    schema_id = stack.schema_id("props-value", ORDER, rule_set=POSITIVE_AMOUNT)
    client = _Client(types.SimpleNamespace(port=stack.broker.port))
    yield stack, schema_id, client
    client.close()
    stack.stop()


def _batch(values: list[bytes]) -> bytes:
    records = [
        Record(offset_delta=i, timestamp_delta=0, key=None, value=v) for i, v in enumerate(values)
    ]
    return build_batch(records, timestamp=1_700_000_000_000)


def _recrc(batch: bytearray) -> bytes:
    struct.pack_into(">I", batch, _CRC_AT, crc32c.crc32c(bytes(batch[21:])))
    return bytes(batch)


def _really_valid(value: bytes, schema_id: int) -> bool:
    """Whether ``value`` is a framed Order of ``schema_id`` with a positive amount."""
    if len(value) < 5 or value[0] != 0 or int.from_bytes(value[1:5], "big") != schema_id:
        return False
    stream = io.BytesIO(value[5:])
    try:
        decoded = fastavro.schemaless_reader(stream, _PARSED, None)
    except Exception:
        return False
    return stream.tell() == len(value) - 5 and decoded["amount"] > 0.0


orders = st.builds(
    lambda i, a, c: {"id": i, "amount": a, "customer": c},
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(min_value=1e-9, max_value=1e12, allow_nan=False),
    st.text(max_size=40),
)


def _avro(value: dict) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, _PARSED, value)
    return buffer.getvalue()


@_SETTINGS
@given(values=st.lists(orders, min_size=1, max_size=5))
def test_valid_records_always_pass(governed, values) -> None:
    stack, schema_id, client = governed
    framed = [b"\x00" + schema_id.to_bytes(4, "big") + _avro(v) for v in values]
    answer = _produce(client, "props", _batch(framed))
    assert answer.error_code == ErrorCode.none, answer.error_message


mutations = st.one_of(
    st.tuples(st.just("flip"), st.integers(0, 10_000), st.integers(1, 255)),
    st.tuples(st.just("cut"), st.integers(0, 10_000), st.just(0)),
    st.tuples(st.just("insert"), st.integers(0, 10_000), st.integers(0, 255)),
)


def _mutate(data: bytes, mutation: tuple[str, int, int], start: int = 0) -> bytes:
    kind, where, byte = mutation
    span = len(data) - start
    if span <= 0:
        return data
    at = start + where % span
    if kind == "flip":
        return data[:at] + bytes([data[at] ^ byte]) + data[at + 1 :]
    if kind == "cut":
        return data[:at]
    return data[:at] + bytes([byte]) + data[at:]


@_SETTINGS
@given(value=orders, mutation=mutations)
def test_a_mutated_value_never_lands_unchecked(governed, value, mutation) -> None:
    stack, schema_id, client = governed
    mutated = _mutate(order(schema_id, value["amount"], value["id"]), mutation)
    answer = _produce(client, "props", _batch([mutated]))
    assert answer.error_code in (ErrorCode.none, ErrorCode.invalid_record)
    if answer.error_code == ErrorCode.none:
        assert _really_valid(mutated, schema_id), mutated
    else:
        assert answer.record_errors[0].batch_index == 0
    assert _produce(client, "props", _batch([order(schema_id)])).error_code == ErrorCode.none


@_SETTINGS
@given(value=orders, mutation=mutations)
def test_garbage_records_with_a_valid_crc_are_refused(governed, value, mutation) -> None:
    stack, schema_id, client = governed
    batch = _batch([order(schema_id, value["amount"], value["id"]), order(schema_id)])
    mutated = bytearray(_mutate(batch, mutation, start=_RECORDS_AT))
    struct.pack_into(">i", mutated, 8, len(mutated) - 12)  # the batch length follows the edit
    sent = _recrc(mutated)
    answer = _produce(client, "props", sent)
    assert answer.error_code in (
        ErrorCode.none,
        ErrorCode.invalid_record,
        ErrorCode.corrupt_message,
    ), answer.error_message
    if answer.error_code == ErrorCode.none:  # then every record in it is a valid one
        (header,) = read_batches(sent)
        records = list(iter_records(sent, header, max_decompressed_bytes=1 << 20))
        assert all(_really_valid(r.value or b"", schema_id) for r in records)
    assert _produce(client, "props", _batch([order(schema_id)])).error_code == ErrorCode.none


def test_a_record_count_that_does_not_add_up_is_corrupt_message(governed) -> None:
    stack, schema_id, client = governed
    batch = bytearray(_batch([order(schema_id), order(schema_id)]))
    struct.pack_into(">i", batch, 57, 3)  # the record count says 3; the batch holds 2
    answer = _produce(client, "props", _recrc(batch))
    assert answer.error_code == ErrorCode.corrupt_message, answer.error_message
    assert _produce(client, "props", _batch([order(schema_id)])).error_code == ErrorCode.none
