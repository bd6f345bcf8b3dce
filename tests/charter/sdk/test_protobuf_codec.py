"""The SDK's Protobuf codec without a network: framing, dicts in and out, errors naming the field."""

from __future__ import annotations

import datetime
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from charter.sdk.errors import ValidationError
from charter.sdk.protobuf_codec import ProtobufCodec, looks_like_proto
from charter.sdk.schemas import as_schema

ORDER = """syntax = "proto3";
package sdk.unit;
import "google/protobuf/timestamp.proto";

enum Status { STATUS_UNKNOWN = 0; OPEN = 1; }

message Order {
  int64 id = 1;
  string customer = 2;
  repeated Line lines = 3;
  map<string, int32> quantities = 4;
  Status status = 5;
  google.protobuf.Timestamp placed_at = 6;
  optional string note = 7;
  bytes blob = 8;
  message Line {
    string sku = 1;
    uint32 count = 2;
  }
}
"""
CODEC = ProtobufCodec(7, ORDER)


def test_a_dict_is_framed_with_the_first_message_and_read_back() -> None:
    value = {
        "id": 5,
        "customer": "ada",
        "lines": [{"sku": "a", "count": 2}],
        "quantities": {"x": 1},
        "status": "OPEN",
        "placed_at": datetime.datetime(2024, 5, 1, tzinfo=datetime.UTC),
        "note": "",
        "blob": b"\x00\x01",
    }
    framed = CODEC.encode(value)
    assert framed[:6] == b"\x00" + struct.pack(">I", 7) + b"\x00"
    assert CODEC.decode(framed[5:]) == value


def test_a_message_instance_is_framed_with_its_own_index_path() -> None:
    line_class = CODEC.document.payload_validator.message_class([0, 1])  # type: ignore[attr-defined]
    framed = CODEC.encode(line_class(sku="s", count=3))
    assert framed[5:8] == b"\x04\x00\x02"
    assert CODEC.decode(framed[5:]) == {"sku": "s", "count": 3}


@pytest.mark.parametrize(
    ("value", "path", "words"),
    [
        ({"id": "7"}, "#/id", None),  # json_format's string int64 is accepted
        ({"id": 1.5}, "#/id", "expected an integer"),
        ({"lines": [{"count": -1}]}, "#/lines/0/count", "out of range for uint32"),
        ({"lines": {"sku": "a"}}, "#/lines", "expected a list"),
        ({"quantities": {"x": "1"}}, "#/quantities/x", "expected an integer"),
        ({"status": "CLOSED"}, "#/status", "is not a value of sdk.unit.Status"),
        ({"placed_at": datetime.datetime(2024, 1, 1)}, "#/placed_at", "aware datetime"),
        ({"blob": "text"}, "#/blob", "expected bytes"),
        ({"customerr": "x"}, "#/customerr", "no field 'customerr'"),
        ([1, 2], "#", "expected an object"),
    ],
)
def test_values_that_do_not_fit_name_the_field(value: object, path: str, words: str | None) -> None:
    if words is None:
        assert CODEC.decode(CODEC.encode(value)[5:])["id"] == 7
        return
    with pytest.raises(ValidationError) as error:
        CODEC.encode(value)
    assert error.value.path == path and words in error.value.message


def test_proto_text_is_recognised_as_a_protobuf_schema() -> None:
    assert looks_like_proto(ORDER) and looks_like_proto("// a comment\nsyntax = 'proto3';")
    assert not looks_like_proto('{"type": "string"}')
    assert as_schema(ORDER).schema_type == "PROTOBUF"
    assert as_schema('{"type": "string"}').schema_type == "AVRO"
    with pytest.raises(ValidationError):
        as_schema("not a schema at all")


@given(
    st.fixed_dictionaries(
        {},
        optional={
            "id": st.integers(-(2**63), 2**63 - 1),
            "customer": st.text(),
            "lines": st.lists(
                st.fixed_dictionaries({"sku": st.text(), "count": st.integers(0, 2**32 - 1)})
            ),
            "quantities": st.dictionaries(st.text(), st.integers(-(2**31), 2**31 - 1)),
            "note": st.text(),
            "blob": st.binary(),
        },
    )
)
def test_round_trip(value: dict[str, object]) -> None:
    decoded = CODEC.decode(CODEC.encode(value)[5:])
    assert {key: decoded[key] for key in value} == value
