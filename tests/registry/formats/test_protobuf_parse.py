"""Protobuf schemas: parsing text and descriptors, canonical and normal forms, errors, references."""

from __future__ import annotations

import base64
import contextlib
import os
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry.errors import InvalidSchema
from registry.formats import get_format
from registry.formats.base import ResolvedReference
from registry.formats.protobuf import PROTOBUF
from registry.formats.protobuf_known import CONFLUENT_FILES

ORDER = """
syntax = "proto3";
package com.acme;

import "google/protobuf/timestamp.proto";
import "confluent/meta.proto";

option java_package = "com.acme.orders";

// An order as the shop sees it.
message Order {
  // Unique per shop.
  int64 id = 1 [(confluent.field_meta).doc = "the id"];
  google.protobuf.Timestamp placed_at = 2;
  map<string, Item> items = 3;
  optional string note = 4;
  oneof payment {
    string card = 5;
    bytes token = 6;
  }
  Status status = 7 [deprecated = true];
  repeated int32 codes = 8 [packed = false];

  message Item {
    string sku = 1;
    double price = 2;
  }
  enum Status {
    NEW = 0;
    PAID = 1;
  }
  reserved 10 to 12, 15;
  reserved "legacy";
}

service Orders {
  rpc Get(Order) returns (stream Order.Item);
}
"""
CUSTOMER_PROTO2 = """
syntax = "proto2";
package shop;
message Customer {
  required string name = 1;
  optional int32 age = 2 [default = 7];
  extensions 100 to max;
}
"""


def compile_with_protoc(
    tmp_path: Path, files: dict[str, str], target: str
) -> descriptor_pb2.FileDescriptorSet:
    import grpc_tools

    for name, text in {**files, **CONFLUENT_FILES}.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    include = Path(grpc_tools.__file__).parent / "_proto"
    out = tmp_path / "out.pb"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", f"-I{tmp_path}", f"-I{include}",
         f"--descriptor_set_out={out}", "--include_imports", target],
        check=True,
        cwd=tmp_path,
        env={**os.environ},
    )  # fmt: skip
    return descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())


def test_format_table_has_protobuf() -> None:
    assert get_format("protobuf") is PROTOBUF
    assert get_format("PROTOBUF").schema_type == "PROTOBUF"


def test_canonical_form_is_stable_and_keeps_leading_comments() -> None:
    schema = PROTOBUF.parse(ORDER)
    text = schema.canonical_string
    assert "// An order as the shop sees it.\nmessage Order {" in text
    assert "  // Unique per shop.\n  int64 id = 1" in text
    assert PROTOBUF.parse(text).canonical_string == text
    assert PROTOBUF.parse(ORDER.replace("\n\n", "\n").replace("  ", "\t")).canonical_string == text


def test_protoc_descriptor_and_text_share_one_canonical_form(tmp_path: Path) -> None:
    stripped = "\n".join(line for line in ORDER.splitlines() if "//" not in line)
    descriptors = compile_with_protoc(tmp_path, {"order.proto": stripped}, "order.proto")
    order = next(f for f in descriptors.file if f.name == "order.proto")
    encoded = base64.b64encode(order.SerializeToString()).decode()
    assert PROTOBUF.parse(encoded).canonical_string == PROTOBUF.parse(stripped).canonical_string


def test_serialized_form_round_trips() -> None:
    schema = PROTOBUF.parse(CUSTOMER_PROTO2)
    file = descriptor_pb2.FileDescriptorProto.FromString(base64.b64decode(schema.serialized))
    assert file.name == "default" and file.package == "shop"
    assert PROTOBUF.parse(schema.serialized).canonical_string == schema.canonical_string


def test_proto2_features_survive() -> None:
    text = PROTOBUF.parse(CUSTOMER_PROTO2).canonical_string
    assert "required string name = 1;" in text
    assert "optional int32 age = 2 [default = 7];" in text
    assert "extensions 100 to max;" in text


def test_editions_are_parsed() -> None:
    schema = PROTOBUF.parse(
        'edition = "2023";\npackage e;\nmessage M {\n  int32 a = 1 [features.field_presence = IMPLICIT];\n}\n'
    )
    assert schema.canonical_string.startswith('edition = "2023";')
    assert "[features.field_presence = IMPLICIT]" in schema.canonical_string
    assert PROTOBUF.parse(schema.canonical_string).canonical_string == schema.canonical_string


def test_normal_form_qualifies_names_and_sorts() -> None:
    messy = (
        'syntax = "proto3";\npackage p;\nimport "google/protobuf/timestamp.proto";\n'
        'import "google/protobuf/duration.proto";\n'
        'message M { google.protobuf.Timestamp b = 2 [json_name = "x", deprecated = true]; '
        "N a = 1; }\nmessage N {}\n"
    )
    normal = PROTOBUF.parse(messy).normalized()
    text = normal.canonical_string
    assert (
        '.p.N a = 1;\n  .google.protobuf.Timestamp b = 2 [deprecated = true, json_name = "x"];'
        in text
    )
    assert text.index("duration.proto") < text.index("timestamp.proto")
    assert normal.normalized() is normal
    assert PROTOBUF.parse(text).normalized().canonical_string == text


def test_shortened_names_never_change_meaning() -> None:
    text = 'syntax = "proto3";\npackage p;\nmessage B {}\nmessage A {\n  message B {}\n  .p.B outer = 1;\n  B inner = 2;\n}\n'
    canonical = PROTOBUF.parse(text).canonical_string
    assert ".p.B outer = 1;" in canonical and "A.B inner = 2;" in canonical
    assert PROTOBUF.parse(canonical).canonical_string == canonical


def test_imports_resolve_through_references_and_well_known_files() -> None:
    customer = ResolvedReference("shop/customer.proto", "customer", 1, CUSTOMER_PROTO2)
    root = (
        'syntax = "proto3";\npackage orders;\nimport "shop/customer.proto";\n'
        'import "confluent/type/decimal.proto";\nimport "google/type/date.proto";\n'
        "message Order { shop.Customer customer = 1; confluent.type.Decimal total = 2; google.type.Date day = 3; }\n"
    )
    schema = PROTOBUF.parse(root, [customer])
    assert "shop.Customer customer = 1;" in schema.canonical_string
    with pytest.raises(
        InvalidSchema, match=r'line 3 column 1: Import "shop/customer.proto" was not found'
    ):
        PROTOBUF.parse(root)


def test_confluent_meta_matches_confluent_kafka_descriptor() -> None:
    from confluent_kafka.schema_registry.confluent import meta_pb2

    ours = PROTOBUF.parse(CONFLUENT_FILES["confluent/meta.proto"]).linked.file
    theirs = descriptor_pb2.FileDescriptorProto.FromString(meta_pb2.DESCRIPTOR.serialized_pb)
    ours.ClearField("name")
    theirs.ClearField("name")
    for message in ours.message_type:
        for nested in message.nested_type:
            for field in nested.field:
                field.ClearField("json_name")
    ours.ClearField("source_code_info")
    assert ours == theirs


BAD_SCHEMAS = [
    ('syntax = "proto3";\nmessage A {\n  int32 a = 1\n}\n', r"line 4 column 1: Expected \";\""),
    ('syntax = "proto4";', r'line 1 column 10: Unrecognized syntax identifier "proto4"'),
    (
        'syntax = "proto3";\nmessage A { Missing m = 1; }',
        r'line 2 column 13: "Missing" is not defined',
    ),
    (
        'syntax = "proto3";\nmessage A { required int32 a = 1; }',
        r"line 2 column 13: Required fields are not allowed in proto3",
    ),
    (
        'syntax = "proto2";\nmessage A { int32 a = 1; }',
        r'line 2 column 13: Expected "required", "optional", or "repeated"',
    ),
    (
        'syntax = "proto3";\nmessage A { int32 a = 0; }',
        r"line 2 column 23: Field numbers must be positive",
    ),
    ('syntax = "proto3";\nmessage A { int32 a = 1; int32 b = 1; }', r"duplicate field number"),
    ('syntax = "proto3";\nenum E { A = 1; }', r"line 2 column 6: .*first value must be zero"),
    ('syntax = "proto3";\nmessage A {}\nmessage A {}', r"duplicate symbol"),
    (
        'syntax = "proto3";\nmessage A { int32 a = 1 [default = 3]; }',
        r"line 2 column 26: Explicit default values are not allowed in proto3",
    ),
    (
        'syntax = "proto3";\nmessage A { map<double, string> m = 1; }',
        r"line 2 column 17: Key in map fields cannot be",
    ),
    (
        'syntax = "proto3";\nmessage A { int32 a = 1 [bogus = true]; }',
        r'line 2 column 26: Option "bogus" unknown',
    ),
    (
        'syntax = "proto3";\nmessage A { int32 a = 1 [(nope) = true]; }',
        r'Option "\(nope\)" unknown',
    ),
    (
        'syntax = "proto3";\nmessage A { string s = 1; } /* open',
        r"line 2 column 29: End-of-file inside block comment",
    ),
    (
        'syntax = "proto3";\nmessage A { string s = 1 [json_name = "x]; }',
        r"line 2 column 39: Unterminated string literal",
    ),
    ('syntax = "proto3";\nmessage A {', r"Reached end of input in message definition"),
    ("message A { optional int32 a = 1; } @", r"line 1 column 37: Invalid character '@'"),
    ("garbage", r"line 1 column 1: Expected top-level statement"),
    (
        'syntax = "proto3";\nmessage A { int32 a = 1; }\nmessage B { A.x y = 1; }',
        r'"A.x" is resolved to "A.x", which is not defined',
    ),
    (
        'syntax = "proto3";\nimport "confluent/meta.proto";\nmessage A { int32 a = 1 [(confluent.field_meta).nope = 1]; }',
        r'Error while parsing option value for "\(confluent.field_meta\).nope"',
    ),
]


@pytest.mark.parametrize(("text", "expected"), BAD_SCHEMAS)
def test_bad_schemas_name_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(InvalidSchema, match=expected) as raised:
        PROTOBUF.parse(text)
    assert raised.value.error_code == 42201


GROUPS = """syntax = "proto2";
package shop;

message Order {
  required int64 id = 1;
  optional group Address = 2 [deprecated = true] {
    optional string city = 1;
    repeated group Line = 2 {
      optional string text = 1;
    }
  }
  repeated group Item = 3 {
    required string sku = 1;
  }
  oneof pay {
    group Card = 4 {
      optional string last4 = 1;
    }
    string voucher = 5;
  }
  message After {
    optional int32 x = 1;
  }
}
"""


def test_proto2_groups_are_parsed_as_protoc_builds_them(tmp_path: Path) -> None:
    schema = PROTOBUF.parse(GROUPS)
    assert schema.canonical_string == GROUPS  # written back as groups, where they were
    descriptors = compile_with_protoc(tmp_path, {"order.proto": GROUPS}, "order.proto")
    protoc = next(f for f in descriptors.file if f.name == "order.proto")
    ours = schema.file_descriptor_proto
    for mine, theirs in ((ours.message_type[0], protoc.message_type[0]),):
        assert [n.name for n in mine.nested_type] == [n.name for n in theirs.nested_type]
        assert [(f.name, f.number, f.type, f.label, f.type_name) for f in mine.field] == [
            (f.name, f.number, f.type, f.label, f.type_name) for f in theirs.field
        ]
        assert [f.HasField("oneof_index") for f in mine.field] == [
            f.HasField("oneof_index") for f in theirs.field
        ]
    encoded = base64.b64encode(protoc.SerializeToString()).decode()
    assert PROTOBUF.parse(encoded).canonical_string == GROUPS  # protoc's descriptor, same text


def test_group_payloads_decode() -> None:
    validator = PROTOBUF.parse(GROUPS).payload_validator
    order = validator.message_class([0])(id=1)
    order.address.city = "Lyon"
    order.address.line.add(text="first floor")
    order.item.add(sku="a-1")
    order.card.last4 = "4242"
    decoded = validator(b"\x00" + order.SerializeToString())
    assert decoded == order and decoded.WhichOneof("pay") == "card"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'syntax = "proto3";\nmessage A { group G = 1 { } }',
            "line 2 column 13: Groups are not supported in proto3",
        ),
        ('edition = "2023";\nmessage A { group G = 1 { } }', "no longer supported in editions"),
        (
            'syntax = "proto2";\nmessage A { optional group g = 1 { } }',
            "line 2 column 28: Group names must start with a capital",
        ),
        (
            'syntax = "proto2";\nmessage A { extensions 10 to 20; }\nextend A { optional group G = 10 { } }',
            "Groups in extend blocks are not supported",
        ),
        ('syntax = "proto2";\nmessage A { optional group G = 1 { optional int32 a = 1 }', "line 2"),
    ],
)
def test_bad_groups_name_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(InvalidSchema, match=expected) as raised:
        PROTOBUF.parse(text)
    assert raised.value.error_code == 42201


_PROTO_ALPHABET = st.sampled_from(
    list("{}[]()<>;,=.\"'/\\*-+ \n\t0123456789abcxyzAB_")
    + [
        "message",
        "syntax",
        "proto3",
        "enum",
        "oneof",
        "map",
        "option",
        "import",
        "repeated",
        "int32",
        "string",
        "reserved",
        "to",
        "max",
        "service",
        "rpc",
        "returns",
    ]
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_PROTO_ALPHABET, max_size=60).map(" ".join))
def test_fuzzed_text_parses_or_fails_with_invalid_schema(text: str) -> None:
    try:
        schema = PROTOBUF.parse(text)
    except InvalidSchema as error:
        assert error.message.startswith(("Invalid Protobuf schema", "Invalid schema"))
        return
    assert PROTOBUF.parse(schema.canonical_string).canonical_string == schema.canonical_string


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=80))
def test_fuzzed_base64_descriptors_never_crash(data: bytes) -> None:
    with contextlib.suppress(InvalidSchema):
        PROTOBUF.parse(base64.b64encode(data).decode() or "AA==")


MUTATIONS = [" ", ";", "}", "{", "=", "1", "message", '"']


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(ORDER)), st.integers(0, 8), st.sampled_from(MUTATIONS))
def test_mutated_realistic_schema_never_crashes(position: int, cut: int, insert: str) -> None:
    text = ORDER[:position] + insert + ORDER[position + cut :]
    with contextlib.suppress(InvalidSchema):
        PROTOBUF.parse(text)
