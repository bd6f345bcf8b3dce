"""The Protobuf compatibility rule table as data: one row per difference type, shared by tests and docs.

Each row is a writer (old) and a reader (new) ``.proto`` text, the Confluent
difference type the pair must produce, where (Confluent's ``#/Message/number``
paths), and whether the reader can read the writer's data (BACKWARD with
reader=new) and the reverse (FORWARD, reader=old). The rules and verdicts
follow Confluent Schema Registry's Protobuf diff
(``io.confluent.kafka.schemaregistry.protobuf.diff``, ``SchemaDiff.COMPATIBLE_CHANGES``);
the schemas are our own.
"""

from __future__ import annotations

import dataclasses

__all__ = ["RULES", "Rule", "proto2", "proto3"]


def proto3(body: str, package: str = "shop") -> str:
    return f'syntax = "proto3";\npackage {package};\n{body}\n'


def proto2(body: str, package: str = "shop") -> str:
    return f'syntax = "proto2";\npackage {package};\n{body}\n'


@dataclasses.dataclass(frozen=True)
class Rule:
    kind: str
    location: str
    writer: str
    reader: str
    compatible: bool
    reverse_compatible: bool

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.location}"


ITEM = "message Item { string sku = 1; }"
RULES: list[Rule] = [
    Rule(
        "PACKAGE_CHANGED",
        "#/",
        proto3("message M { int32 a = 1; }", "shop"),
        proto3("message M { int32 a = 1; }", "store"),
        False,
        False,
    ),
    Rule(
        "MESSAGE_ADDED",
        "#/N",
        proto3("message M {}"),
        proto3("message M {}\nmessage N {}"),
        True,
        False,
    ),
    Rule(
        "MESSAGE_REMOVED",
        "#/N",
        proto3("message M {}\nmessage N {}"),
        proto3("message M {}"),
        False,
        True,
    ),
    Rule(
        "MESSAGE_MOVED",
        "#/M",
        proto3("message M {}\nmessage N {}"),
        proto3("message N {}\nmessage M {}"),
        True,
        True,
    ),
    Rule(
        "ENUM_ADDED",
        "#/E",
        proto3("message M {}"),
        proto3("message M {}\nenum E { A = 0; }"),
        True,
        True,
    ),
    Rule(
        "ENUM_REMOVED",
        "#/E",
        proto3("message M {}\nenum E { A = 0; }"),
        proto3("message M {}"),
        True,
        True,
    ),
    Rule(
        "ENUM_CONST_ADDED",
        "#/E/1",
        proto3("enum E { A = 0; }"),
        proto3("enum E { A = 0; B = 1; }"),
        True,
        True,
    ),
    Rule(
        "ENUM_CONST_REMOVED",
        "#/E/1",
        proto3("enum E { A = 0; B = 1; }"),
        proto3("enum E { A = 0; }"),
        True,
        True,
    ),
    Rule(
        "ENUM_CONST_CHANGED",
        "#/E/1",
        proto3("enum E { A = 0; B = 1; }"),
        proto3("enum E { A = 0; C = 1; }"),
        True,
        True,
    ),
    Rule(
        "FIELD_ADDED",
        "#/M/2",
        proto3("message M { int32 a = 1; }"),
        proto3("message M { int32 a = 1; string b = 2; }"),
        True,
        True,
    ),
    Rule(
        "FIELD_REMOVED",
        "#/M/2",
        proto3("message M { int32 a = 1; string b = 2; }"),
        proto3("message M { int32 a = 1; }"),
        True,
        True,
    ),
    Rule(
        "FIELD_NAME_CHANGED",
        "#/M/1",
        proto3("message M { int32 a = 1; }"),
        proto3("message M { int32 b = 1; }"),
        True,
        True,
    ),
    Rule(
        "FIELD_KIND_CHANGED",
        "#/M/1",
        proto3(f"{ITEM}\nmessage M {{ int32 a = 1; }}"),
        proto3(f"{ITEM}\nmessage M {{ Item a = 1; }}"),
        False,
        False,
    ),
    # Reusing a field number for a value of another kind is the same difference.
    Rule(
        "FIELD_SCALAR_KIND_CHANGED",
        "#/M/1",
        proto3("message M { int32 a = 1; }"),
        proto3("message M { string b = 1; }"),
        False,
        False,
    ),
    Rule(
        "FIELD_NAMED_TYPE_CHANGED",
        "#/M/1",
        proto3(f"{ITEM}\nmessage Other {{ string sku = 1; }}\nmessage M {{ Item a = 1; }}"),
        proto3(f"{ITEM}\nmessage Other {{ string sku = 1; }}\nmessage M {{ Other a = 1; }}"),
        False,
        False,
    ),
    Rule(
        "FIELD_NUMERIC_LABEL_CHANGED",
        "#/M/1",
        proto2("message M { optional int32 a = 1; }"),
        proto2("message M { repeated int32 a = 1; }"),
        False,
        False,
    ),
    Rule(
        "FIELD_STRING_OR_BYTES_LABEL_CHANGED",
        "#/M/1",
        proto2("message M { optional string a = 1; }"),
        proto2("message M { repeated string a = 1; }"),
        True,
        True,
    ),
    Rule(
        "REQUIRED_FIELD_ADDED",
        "#/M/2",
        proto2("message M { optional int32 a = 1; }"),
        proto2("message M { optional int32 a = 1; required string b = 2; }"),
        False,
        False,
    ),
    Rule(
        "REQUIRED_FIELD_REMOVED",
        "#/M/2",
        proto2("message M { optional int32 a = 1; required string b = 2; }"),
        proto2("message M { optional int32 a = 1; }"),
        False,
        False,
    ),
    Rule(
        "ONEOF_ADDED",
        "#/M/pay",
        proto3("message M { int32 a = 1; }"),
        proto3("message M { int32 a = 1; oneof pay { string card = 2; } }"),
        True,
        True,
    ),
    Rule(
        "ONEOF_REMOVED",
        "#/M/pay",
        proto3("message M { int32 a = 1; oneof pay { string card = 2; } }"),
        proto3("message M { int32 a = 1; }"),
        True,
        True,
    ),
    Rule(
        "ONEOF_FIELD_ADDED",
        "#/M/pay/3",
        proto3("message M { oneof pay { string card = 2; } }"),
        proto3("message M { oneof pay { string card = 2; bytes token = 3; } }"),
        True,
        False,
    ),
    Rule(
        "ONEOF_FIELD_REMOVED",
        "#/M/pay/3",
        proto3("message M { oneof pay { string card = 2; bytes token = 3; } }"),
        proto3("message M { oneof pay { string card = 2; } }"),
        False,
        True,
    ),
    Rule(
        "MULTIPLE_FIELDS_MOVED_TO_ONEOF",
        "#/M/pay",
        proto3("message M { string card = 2; bytes token = 3; }"),
        proto3("message M { oneof pay { string card = 2; bytes token = 3; } }"),
        False,
        True,
    ),
    Rule(
        "FIELD_MOVED_TO_EXISTING_ONEOF",
        "#/M/pay",
        proto3("message M { string card = 2; oneof pay { bytes token = 3; } }"),
        proto3("message M { oneof pay { string card = 2; bytes token = 3; } }"),
        False,
        True,
    ),
]
