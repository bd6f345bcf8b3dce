"""Protobuf compatibility: every rule of the table in both directions, levels, references, messages."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from registry.compatibility import CompatibilityLevel, ExistingVersion, check_compatibility
from registry.formats.base import Incompatibility, ResolvedReference
from registry.formats.protobuf import PROTOBUF, ProtobufSchema
from registry.formats.protobuf_compat import COMPATIBLE_CHANGES, diff_files
from tests.registry.formats.protobuf_rules import RULES, Rule, proto2, proto3

DOCS = Path(__file__).resolve().parents[3] / "docs" / "compatibility.md"


def parse(text: str, references: tuple[ResolvedReference, ...] = ()) -> ProtobufSchema:
    return PROTOBUF.parse(text, references)


def check(reader: str, writer: str) -> list[Incompatibility]:
    return PROTOBUF.check_compatibility(parse(reader), parse(writer))


def differences(writer: str, reader: str) -> list[tuple[str, str]]:
    return diff_files(parse(writer).linked, parse(reader).linked)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_reader_new_writer_old(rule: Rule) -> None:
    assert (rule.kind, rule.location) in differences(rule.writer, rule.reader)
    assert (rule.kind in COMPATIBLE_CHANGES) == rule.compatible
    found = check(reader=rule.reader, writer=rule.writer)
    assert (found == []) is rule.compatible, found
    if not rule.compatible:
        assert (rule.kind, rule.location) in [(i.error_type, i.location) for i in found]


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.id)
def test_rule_reversed(rule: Rule) -> None:
    found = check(reader=rule.writer, writer=rule.reader)
    assert (found == []) is rule.reverse_compatible, found


def test_docs_table_lists_every_rule() -> None:
    text = DOCS.read_text(encoding="utf-8")
    section = text.split("## Protobuf", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([A-Z_]+)` \|", section, flags=re.MULTILINE))
    assert documented == {rule.kind for rule in RULES}


def test_docs_table_verdicts_match_the_rules() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Protobuf", 1)[1].split("\n## ", 1)[0]
    rows = re.findall(
        r"^\| `([A-Z_]+)` \|.*\| (compatible|\*\*incompatible\*\*) \| (compatible|\*\*incompatible\*\*) \|$",
        section,
        re.MULTILINE,
    )
    verdicts = {kind: (back == "compatible", forth == "compatible") for kind, back, forth in rows}
    assert verdicts == {rule.kind: (rule.compatible, rule.reverse_compatible) for rule in RULES}


@pytest.mark.parametrize(
    ("before", "after"),
    [
        ("int32", "int64"),
        ("int32", "uint32"),
        ("uint64", "bool"),
        ("sint32", "sint64"),
        ("string", "bytes"),
        ("fixed32", "sfixed32"),
        ("fixed64", "sfixed64"),
    ],
)
def test_scalars_of_one_group_are_compatible_both_ways(before: str, after: str) -> None:
    old = proto3(f"message M {{ {before} a = 1; }}")
    new = proto3(f"message M {{ {after} a = 1; }}")
    assert check(reader=new, writer=old) == []
    assert check(reader=old, writer=new) == []


@pytest.mark.parametrize(
    ("before", "after"),
    [("int32", "sint32"), ("float", "double"), ("fixed32", "int32"), ("string", "int64")],
)
def test_scalars_of_different_groups_are_incompatible(before: str, after: str) -> None:
    found = check(
        reader=proto3(f"message M {{ {after} a = 1; }}"),
        writer=proto3(f"message M {{ {before} a = 1; }}"),
    )
    assert [(i.error_type, i.location) for i in found] == [("FIELD_SCALAR_KIND_CHANGED", "#/M/1")]


def test_enum_and_int32_share_a_group() -> None:
    old = proto3("enum E { A = 0; }\nmessage M { int32 a = 1; }")
    new = proto3("enum E { A = 0; }\nmessage M { E a = 1; }")
    assert check(reader=new, writer=old) == []


def test_syntax_change_is_no_difference_as_in_confluent() -> None:
    old = proto2("message M { optional int32 a = 1; optional string b = 2; }")
    new = proto3("message M { optional int32 a = 1; optional string b = 2; }")
    assert differences(old, new) == []
    assert check(reader=new, writer=old) == []


def test_map_value_type_change_is_found_at_the_field() -> None:
    old = proto3("message M { map<string, int32> counts = 1; }")
    new = proto3("message M { map<string, string> counts = 1; }")
    assert [(i.error_type, i.location) for i in check(new, old)] == [
        ("FIELD_SCALAR_KIND_CHANGED", "#/M/1")
    ]
    assert check(old, old) == []


def test_map_and_repeated_message_are_different_kinds() -> None:
    old = proto3("message M { map<string, int32> counts = 1; }")
    new = proto3(
        "message E { string key = 1; int32 value = 2; }\nmessage M { repeated E counts = 1; }"
    )
    assert ("FIELD_KIND_CHANGED", "#/M/1") in [(i.error_type, i.location) for i in check(new, old)]


def test_nested_message_change_reports_nested_path() -> None:
    old = proto3("message M { message Inner { int32 a = 1; } Inner inner = 1; }")
    new = proto3("message M { message Inner { string a = 1; } Inner inner = 1; }")
    assert [(i.error_type, i.location) for i in check(new, old)] == [
        ("FIELD_SCALAR_KIND_CHANGED", "#/M/Inner/1")
    ]


def test_field_moved_out_of_a_oneof_is_compatible() -> None:
    old = proto3("message M { oneof pay { string card = 2; bytes token = 3; } }")
    new = proto3("message M { string card = 2; oneof pay { bytes token = 3; } }")
    assert check(new, old) == []


def test_type_change_of_a_field_moved_into_a_oneof_is_found() -> None:
    old = proto3("message M { int32 a = 1; }")
    new = proto3("message M { oneof o { string a = 1; } }")
    assert ("FIELD_SCALAR_KIND_CHANGED", "#/M/1") in [
        (i.error_type, i.location) for i in check(new, old)
    ]


def test_referenced_message_change_is_detected_through_the_field() -> None:
    root = proto3('import "item.proto";\nmessage M { Item item = 1; }')
    v1 = ResolvedReference("item.proto", "item", 1, proto3("message Item { int32 sku = 1; }"))
    v2 = ResolvedReference("item.proto", "item", 2, proto3("message Item { string sku = 1; }"))
    found = PROTOBUF.check_compatibility(parse(root, (v2,)), parse(root, (v1,)))
    assert [(i.error_type, i.location) for i in found] == [
        ("FIELD_SCALAR_KIND_CHANGED", "#/Item/1"),
        ("FIELD_NAMED_TYPE_CHANGED", "#/M/1"),
    ]
    assert PROTOBUF.check_compatibility(parse(root, (v1,)), parse(root, (v1,))) == []


def test_recursive_messages_terminate() -> None:
    root = proto3('import "node.proto";\nmessage M { Node node = 1; }')
    v1 = ResolvedReference(
        "node.proto", "node", 1, proto3("message Node { Node next = 1; int32 v = 2; }")
    )
    v2 = ResolvedReference(
        "node.proto", "node", 2, proto3("message Node { Node next = 1; int64 v = 2; }")
    )
    assert PROTOBUF.check_compatibility(parse(root, (v2,)), parse(root, (v1,))) == []


def test_incompatibility_message_uses_confluent_wording_and_roles() -> None:
    old = proto3("message M { int32 a = 1; }\nmessage N {}")
    new = proto3("message M { int32 a = 1; }")
    backward = PROTOBUF.check_compatibility(parse(new), parse(old))
    assert backward[0].confluent_message() == (
        "{errorType:'MESSAGE_REMOVED', description:'The new schema is missing a MESSAGE type at "
        "path '#/N' in the old schema', additionalInfo:''}"
    )
    forward = PROTOBUF.check_compatibility(
        parse(old), parse(new), reader_role="old", writer_role="new"
    )
    assert forward == []


V1 = proto2("message M { optional int32 a = 1; }\nmessage N { optional int32 b = 1; }")
V2 = proto2("message M { optional int32 a = 1; }\nmessage O {}")
# Adds P: BACKWARD with v2 (an added message), not with v1 (N is gone), never FORWARD.
ADDS = proto2("message M { optional int32 a = 1; }\nmessage O {}\nmessage P {}")
# Removes O: old readers still read it (FORWARD, transitively too), new readers lose O.
REMOVES = proto2("message M { optional int32 a = 1; }")
LEVEL_CASES = [
    (CompatibilityLevel.BACKWARD, ADDS, True),
    (CompatibilityLevel.BACKWARD_TRANSITIVE, ADDS, False),
    (CompatibilityLevel.FORWARD, ADDS, False),
    (CompatibilityLevel.FORWARD, REMOVES, True),
    (CompatibilityLevel.FORWARD_TRANSITIVE, REMOVES, True),
    (CompatibilityLevel.BACKWARD, REMOVES, False),
    (CompatibilityLevel.FULL, ADDS, False),
    (CompatibilityLevel.FULL, proto2("message M { optional int64 a = 1; }\nmessage O {}"), True),
    (
        CompatibilityLevel.FULL_TRANSITIVE,
        proto2("message M { optional int64 a = 1; }\nmessage O {}"),
        False,
    ),
    (CompatibilityLevel.NONE, proto3("message Z {}", "elsewhere"), True),
]


@pytest.mark.parametrize(
    ("level", "candidate", "compatible"), LEVEL_CASES, ids=lambda v: str(v)[:12]
)
def test_all_seven_levels(level: CompatibilityLevel, candidate: str, compatible: bool) -> None:
    existing = [ExistingVersion(1, parse(V1)), ExistingVersion(2, parse(V2))]
    messages = check_compatibility(level, parse(candidate), existing)
    assert (messages == []) is compatible, messages
    if not compatible:
        assert messages[-1] == f"{{compatibility: '{level.value}'}}"


# -- reserved numbers and names: no difference of their own, as in Confluent's SchemaDiff -----
# Confluent's Protobuf diff has no difference type for ``reserved`` (its COMPATIBLE_CHANGES
# and Difference.Type list none): reserving a removed field, removing a reservation and
# reusing a reserved number are judged by the fields alone, in both directions. A reused
# number meets the field it once had in a transitive check, where its type is compared.

RESERVED_CASES = [
    (  # a field removed and its number and name reserved
        proto3("message M { int32 a = 1; string b = 2; }"),
        proto3('message M { int32 a = 1; reserved 2; reserved "b"; }'),
        [("FIELD_REMOVED", "#/M/2")],
    ),
    (  # a reservation removed, the number and name reused with a field
        proto3('message M { int32 a = 1; reserved 2 to 4; reserved "b"; }'),
        proto3("message M { int32 a = 1; string b = 2; }"),
        [("FIELD_ADDED", "#/M/2")],
    ),
    (  # only the reservations change
        proto3("message M { int32 a = 1; reserved 2, 5 to max; }"),
        proto3('message M { int32 a = 1; reserved 3; reserved "x"; }'),
        [],
    ),
    (  # enum value reservations
        proto3("enum E { A = 0; B = 1; }"),
        proto3('enum E { A = 0; reserved 1; reserved "B"; }'),
        [("ENUM_CONST_REMOVED", "#/E/1")],
    ),
    (
        proto3("enum E { A = 0; reserved 1 to 3; }"),
        proto3("enum E { A = 0; C = 2; }"),
        [("ENUM_CONST_ADDED", "#/E/2")],
    ),
]


@pytest.mark.parametrize(("writer", "reader", "expected"), RESERVED_CASES)
def test_reserved_numbers_and_names_are_no_difference(
    writer: str, reader: str, expected: list[tuple[str, str]]
) -> None:
    assert differences(writer, reader) == expected
    assert [(kind, path) for kind, path in differences(reader, writer)] == [
        (kind.replace("REMOVED", "@").replace("ADDED", "REMOVED").replace("@", "ADDED"), path)
        for kind, path in expected
    ]
    assert check(reader=reader, writer=writer) == []  # BACKWARD
    assert check(reader=writer, writer=reader) == []  # FORWARD


def test_a_reused_reserved_number_is_caught_transitively_by_its_type() -> None:
    v1 = parse(proto3("message M { int32 a = 1; int64 b = 2; }"))
    v2 = parse(proto3("message M { int32 a = 1; reserved 2; }"))
    reuse = parse(proto3("message M { int32 a = 1; string b = 2; }"))
    existing = [ExistingVersion(1, v1), ExistingVersion(2, v2)]
    assert check_compatibility(CompatibilityLevel.BACKWARD, reuse, existing) == []
    for level in (CompatibilityLevel.BACKWARD_TRANSITIVE, CompatibilityLevel.FULL_TRANSITIVE):
        messages = check_compatibility(level, reuse, existing)
        assert any("FIELD_SCALAR_KIND_CHANGED" in m and "#/M/2" in m for m in messages), messages
    same_group = parse(proto3("message M { int32 a = 1; uint64 b = 2; }"))  # int64's group
    assert check_compatibility(CompatibilityLevel.FULL_TRANSITIVE, same_group, existing) == []


def test_groups_compare_like_nested_messages() -> None:
    old = proto2("message M { optional group G = 1 { optional int32 a = 1; } }")
    added = proto2(
        "message M { optional group G = 1 { optional int32 a = 1; optional string b = 2; } }"
    )
    changed = proto2("message M { optional group G = 1 { optional string a = 1; } }")
    assert check(reader=added, writer=old) == [] and check(reader=old, writer=added) == []
    assert ("FIELD_SCALAR_KIND_CHANGED", "#/M/G/1") in differences(old, changed)
    assert check(reader=changed, writer=old) != []
