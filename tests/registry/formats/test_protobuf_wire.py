"""Confluent's Protobuf framing: the message-index array, and the payload validator's round trips."""

from __future__ import annotations

import pytest
from confluent_kafka.schema_registry.protobuf import ProtobufSerializer, _create_index_array
from hypothesis import given
from hypothesis import strategies as st

from registry.formats.base import PayloadInvalid
from registry.formats.protobuf import PROTOBUF
from registry.formats.protobuf_wire import (
    message_descriptor,
    message_indexes_of,
    read_message_indexes,
    write_message_indexes,
)

SCHEMA = PROTOBUF.parse(
    """
syntax = "proto3";
package shop;
message Order {
  int64 id = 1;
  string note = 2;
  repeated Line lines = 3;
  message Line { string sku = 1; int32 quantity = 2; message Tag { string name = 1; } }
}
message Refund { int64 order_id = 1; }
"""
)
REQUIRED = PROTOBUF.parse('syntax = "proto2";\nmessage R { required string name = 1; }')


@given(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=8), st.binary(max_size=8))
def test_indexes_round_trip(indexes: list[int], rest: bytes) -> None:
    data = write_message_indexes(indexes) + rest
    assert read_message_indexes(data) == (indexes, len(data) - len(rest))


def test_first_message_is_the_single_zero_byte() -> None:
    assert write_message_indexes([0]) == b"\x00"
    assert read_message_indexes(b"\x00rest") == ([0], 1)
    assert write_message_indexes([1, 0]) == b"\x04\x02\x00"


@given(st.lists(st.integers(0, 1000), min_size=1, max_size=6))
def test_matches_confluent_serializer_encoding(indexes: list[int]) -> None:
    import io

    buffer = io.BytesIO()
    ProtobufSerializer._encode_varints(buffer, indexes)
    assert write_message_indexes(indexes) == buffer.getvalue()


@pytest.mark.parametrize("data", [b"", b"\x80", b"\x02", b"\x03\x02", b"\x7f"])
def test_truncated_or_negative_indexes_are_refused(data: bytes) -> None:
    with pytest.raises(ValueError):
        read_message_indexes(data)


def test_index_paths_find_nested_messages() -> None:
    file = SCHEMA.pool.FindFileByName("default")
    tag = message_descriptor(file, [0, 0, 0])
    assert tag.full_name == "shop.Order.Line.Tag"
    assert message_indexes_of(tag) == [0, 0, 0]
    assert message_indexes_of(message_descriptor(file, [1])) == [1]
    assert _create_index_array(tag) == [0, 0, 0]


def test_validator_round_trips_each_message() -> None:
    validator = SCHEMA.payload_validator
    order_class = validator.message_class([0])
    order = order_class(id=7, note="hi", lines=[{"sku": "a", "quantity": 2}])
    decoded = validator(b"\x00" + order.SerializeToString())
    assert decoded == order and decoded.lines[0].quantity == 2
    refund = validator.message_class([1])(order_id=7)
    assert validator(write_message_indexes([1]) + refund.SerializeToString()).order_id == 7
    tag = validator.message_class([0, 0, 0])(name="x")
    assert validator(write_message_indexes([0, 0, 0]) + tag.SerializeToString()).name == "x"


@given(st.integers(-(2**63), 2**63 - 1), st.text(max_size=20))
def test_validator_round_trips_any_values(order_id: int, note: str) -> None:
    order = SCHEMA.payload_validator.message_class([0])(id=order_id, note=note)
    assert SCHEMA.payload_validator(b"\x00" + order.SerializeToString()) == order


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"\x00\x0a\x05ab", "not a valid shop.Order"),  # length runs past the end
        (b"\x00\x12\x02\xff\xfe", "not a valid shop.Order"),  # a string that is not UTF-8
        (write_message_indexes([5]), "out of range"),
        (write_message_indexes([0, 3]), "out of range"),
        (b"\x81", "ends inside a varint"),
        (b"", "ends inside a varint"),
    ],
)
def test_validator_refuses_malformed_payloads(payload: bytes, message: str) -> None:
    with pytest.raises(PayloadInvalid, match=message):
        SCHEMA.payload_validator(payload)


def test_validator_refuses_missing_proto2_required_field() -> None:
    with pytest.raises(PayloadInvalid, match="not a valid R"):
        REQUIRED.payload_validator(b"\x00")
    assert REQUIRED.payload_validator(b"\x00\x0a\x01x").name == "x"
