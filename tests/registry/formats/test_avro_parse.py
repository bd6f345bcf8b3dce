"""Avro parsing: validation errors, canonical string, Parsing Canonical Form + Rabin, normal form,
references and recursive schemas."""

from __future__ import annotations

import json

import fastavro.schema
import pytest

from registry.errors import InvalidSchema
from registry.formats import base
from registry.formats.avro import AVRO, AvroSchema
from registry.formats.avro_write import dumps
from registry.formats.base import ResolvedReference
from tests.registry.schemas import record_dict as record


def parse(schema: object, references: tuple[ResolvedReference, ...] = ()) -> AvroSchema:
    text = schema if isinstance(schema, str) else json.dumps(schema)
    return AVRO.parse(text, references)


# -- invalid schemas -----------------------------------------------------------------------

INVALID = [
    ("{not json", "not valid JSON"),
    ('{"type": "double", "default": NaN}', "NaN is not valid JSON"),
    ("42", "expected a type name"),
    ('"foo"', '"foo" is not a defined name'),
    (record({"name": "a", "type": "Missing"}), '"Missing" is not a defined name'),
    ({"type": "record", "name": "1abc", "fields": []}, "Invalid name"),
    ({"type": "record", "name": "R", "namespace": "a..b", "fields": []}, "Invalid namespace"),
    ({"type": "record", "fields": []}, "No name in schema"),
    ({"type": "record", "name": "R"}, "Record has no fields"),
    ({"type": "record", "name": "int", "fields": []}, "primitive type names cannot be redefined"),
    (record({"name": "a", "type": "int"}, {"name": "a", "type": "long"}), "Duplicate field a"),
    (record({"name": "a"}), "No field type"),
    (record({"name": "a-b", "type": "int"}), "Invalid field name"),
    (record({"name": "a", "type": "int", "order": "up"}), "Invalid order"),
    ({"type": "enum", "name": "E", "symbols": ["A", "A"]}, "Duplicate enum symbol: A"),
    ({"type": "enum", "name": "E", "symbols": ["A", "B-"]}, "Invalid symbol"),
    ({"type": "enum", "name": "E"}, "has no symbols"),
    ({"type": "enum", "name": "E", "symbols": ["A"], "default": "B"}, 'The Enum Default: "B"'),
    ({"type": "fixed", "name": "F"}, "Invalid or no size"),
    ({"type": "fixed", "name": "F", "size": -1}, "Invalid or no size"),
    ({"type": "array"}, "Array has no items type"),
    ({"type": "map"}, "Map has no values type"),
    ({"type": {"type": "string"}}, "No type"),
    ({"type": "widget"}, "Type not supported"),
    (["null", ["int"]], "Nested union"),
    (["int", "int"], "Duplicate in union: int"),
    (
        [{"type": "fixed", "name": "F", "size": 1}, {"type": "fixed", "name": "G", "size": 1}, "F"],
        "Duplicate in union: F",
    ),
    (
        record(
            {"name": "a", "type": {"type": "fixed", "name": "F", "size": 1}},
            {"name": "b", "type": {"type": "fixed", "name": "F", "size": 1}},
        ),
        "Can't redefine: F",
    ),
    (record({"name": "a", "type": "int", "default": "x"}), "Invalid default for field a"),
    (record({"name": "a", "type": "int", "default": 2**31}), "Invalid default for field a"),
    (record({"name": "a", "type": "long", "default": 1.5}), "Invalid default for field a"),
    (record({"name": "a", "type": "boolean", "default": 0}), "Invalid default for field a"),
    (record({"name": "a", "type": ["string", "null"], "default": None}), 'not a ["string","null"]'),
    (
        record(
            {"name": "a", "type": {"type": "enum", "name": "E", "symbols": ["X"]}, "default": "Y"}
        ),
        "Invalid default",
    ),
    (
        record({"name": "a", "type": {"type": "fixed", "name": "F", "size": 2}, "default": "abc"}),
        "Invalid default",
    ),
    (
        record({"name": "a", "type": {"type": "array", "items": "int"}, "default": ["x"]}),
        "Invalid default",
    ),
    (
        record({"name": "a", "type": {"type": "map", "values": "int"}, "default": []}),
        "Invalid default",
    ),
    (
        record(
            {"name": "a", "type": record({"name": "x", "type": "int"}, name="S"), "default": {}}
        ),
        "Invalid default",
    ),
]


@pytest.mark.parametrize(("schema", "message"), INVALID)
def test_invalid_schemas_are_rejected_with_a_clear_message(schema: object, message: str) -> None:
    with pytest.raises(InvalidSchema) as raised:
        parse(schema)
    assert message in raised.value.message
    assert raised.value.error_code == 42201


@pytest.mark.parametrize("depth", [101, 500, 5000])
def test_deeply_nested_schema_is_an_error_not_a_crash(depth: int) -> None:
    text = '{"type":"array","items":' * depth + '"int"' + "}" * depth
    with pytest.raises(InvalidSchema, match="nested"):
        AVRO.parse(text)


def test_nesting_up_to_the_limit_is_accepted_and_checkable() -> None:
    schema: object = "int"
    default: object = 1
    for index in range(99):
        schema = {
            "type": "record",
            "name": f"R{index}",
            "fields": [{"name": "f", "type": schema, "default": default}],
        }
        default = {"f": default}
    parsed = parse(schema)
    assert parsed.normalized().canonical_string
    assert parsed.parsing_canonical_form
    assert AVRO.check_compatibility(parsed, parsed) == []


@pytest.mark.parametrize(
    "schema",
    [
        record({"name": "a", "type": ["null", "string"], "default": None}),
        record({"name": "a", "type": "double", "default": 1}),
        record({"name": "a", "type": "float", "default": "NaN"}),
        record({"name": "a", "type": {"type": "fixed", "name": "F", "size": 2}, "default": "ab"}),
        record(
            {
                "name": "a",
                "type": record({"name": "x", "type": "int", "default": 1}, name="S"),
                "default": {},
            }
        ),
        record({"name": "ünïcode", "type": "int"}),
        {"type": "record", "name": "R", "namespace": "", "fields": []},
    ],
)
def test_valid_schemas_parse(schema: object) -> None:
    assert parse(schema).schema_type == "AVRO"


# -- canonical string (Avro Java's Schema.toString) ------------------------------------------


def test_primitive_object_form_becomes_its_name() -> None:
    assert parse('{ "type" : "string" }').canonical_string == '"string"'
    assert parse('"int"').canonical_string == '"int"'


def test_whitespace_and_quoting_differences_give_one_canonical_string_and_fingerprint() -> None:
    compact = parse(record({"name": "a", "type": "int"}))
    spaced = parse(json.dumps(record({"name": "a", "type": {"type": "int"}}), indent=4))
    assert compact.canonical_string == spaced.canonical_string
    assert compact.fingerprint == spaced.fingerprint
    assert (
        compact.canonical_string
        == '{"type":"record","name":"R","fields":[{"name":"a","type":"int"}]}'
    )


def test_canonical_string_keeps_attributes_in_avro_java_order() -> None:
    schema = {
        "aliases": ["Old"],
        "fields": [
            {
                "custom": 1,
                "aliases": ["b"],
                "order": "descending",
                "default": 5,
                "doc": "field doc",
                "type": {"logicalType": "timestamp-millis", "type": "long"},
                "name": "a",
            },
            {"name": "c", "type": "int", "order": "ascending"},
        ],
        "doc": "record doc",
        "namespace": "com.acme",
        "name": "Event",
        "type": "record",
        "owner": "team",
    }
    assert parse(schema).canonical_string == (
        '{"type":"record","name":"Event","namespace":"com.acme","doc":"record doc",'
        '"fields":[{"name":"a","type":{"type":"long","logicalType":"timestamp-millis"},'
        '"doc":"field doc","default":5,"order":"descending","aliases":["b"],"custom":1},'
        '{"name":"c","type":"int"}],"owner":"team","aliases":["Old"]}'
    )


def test_canonical_string_writes_names_relative_to_the_enclosing_namespace() -> None:
    schema = record(
        {"name": "a", "type": {"type": "enum", "name": "com.acme.E", "symbols": ["X"]}},
        {"name": "b", "type": "com.acme.E"},
        {"name": "c", "type": {"type": "fixed", "name": "F", "namespace": "other", "size": 2}},
        {"name": "d", "type": "other.F"},
        {"name": "e", "type": {"type": "record", "name": "G", "namespace": "", "fields": []}},
        name="com.acme.R",
    )
    assert parse(schema).canonical_string == (
        '{"type":"record","name":"R","namespace":"com.acme","fields":['
        '{"name":"a","type":{"type":"enum","name":"E","symbols":["X"]}},'
        '{"name":"b","type":"E"},'
        '{"name":"c","type":{"type":"fixed","name":"F","namespace":"other","size":2}},'
        '{"name":"d","type":"other.F"},'
        '{"name":"e","type":{"type":"record","name":"G","namespace":"","fields":[]}}]}'
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1e10, "1.0E10"),
        (1.5e-5, "1.5E-5"),
        (0.001, "0.001"),
        (100.0, "100.0"),
        (1234567.5, "1234567.5"),
        (12345678.0, "1.2345678E7"),
        (-0.0, "-0.0"),
        (2**70, str(2**70)),
        ("tab\tand\x01", '"tab\\tand\\u0001"'),
        ("\x1f", '"\\u001F"'),
        ("é/€", '"é/€"'),
    ],
)
def test_json_values_are_written_as_jackson_writes_them(value: object, text: str) -> None:
    assert dumps(value) == text


def test_field_order_is_case_insensitive_and_written_in_lower_case() -> None:
    schema = record({"name": "a", "type": "int", "order": "DESCENDING"})
    assert '"order":"descending"' in parse(schema).canonical_string


def test_enum_default_and_error_type_are_kept() -> None:
    schema = {"type": "enum", "name": "E", "symbols": ["A", "B"], "default": "A", "doc": "d"}
    assert parse(schema).canonical_string == (
        '{"type":"enum","name":"E","doc":"d","symbols":["A","B"],"default":"A"}'
    )
    assert parse({"type": "error", "name": "Oops", "fields": []}).canonical_string == (
        '{"type":"error","name":"Oops","fields":[]}'
    )


# -- Parsing Canonical Form and Rabin fingerprint -------------------------------------------

# CRC-64-AVRO fingerprints from the Avro specification's test data (signed 64-bit values).
SPEC_FINGERPRINTS = {
    '"null"': 7195948357588979594,
    '"int"': 8247732601305521295,
    '"string"': -8142146995180207161,
}


@pytest.mark.parametrize(("schema", "expected"), SPEC_FINGERPRINTS.items())
def test_rabin_fingerprint_matches_the_specification(schema: str, expected: int) -> None:
    assert parse(schema).rabin_fingerprint == expected % 2**64


def test_parsing_canonical_form_follows_the_specification() -> None:
    schema = {
        "type": "record",
        "namespace": "x.y",
        "name": "Foo",
        "doc": "dropped",
        "aliases": ["Bar"],
        "fields": [
            {
                "name": "a",
                "type": {"type": "long", "logicalType": "timestamp-millis"},
                "default": 1,
            },
            {"name": "b", "type": {"type": "enum", "name": "E", "symbols": ["P"], "default": "P"}},
            {"name": "c", "type": ["null", "E", {"type": "fixed", "name": "z.F", "size": 4}]},
            {"name": "d", "type": {"type": "array", "items": {"type": "map", "values": "Foo"}}},
        ],
    }
    assert parse(schema).parsing_canonical_form == (
        '{"name":"x.y.Foo","type":"record","fields":[{"name":"a","type":"long"},'
        '{"name":"b","type":{"name":"x.y.E","type":"enum","symbols":["P"]}},'
        '{"name":"c","type":["null","x.y.E",{"name":"z.F","type":"fixed","size":4}]},'
        '{"name":"d","type":{"type":"array","items":{"type":"map","values":"x.y.Foo"}}}]}'
    )


@pytest.mark.parametrize(
    "schema",
    [
        "long",
        {"type": "array", "items": ["null", "bytes"]},
        record(
            {"name": "a", "type": {"type": "enum", "name": "n.E", "symbols": ["A", "B"]}},
            {"name": "b", "type": {"type": "map", "values": "n.E"}},
            name="ns.R",
        ),
    ],
)
def test_pcf_and_fingerprint_agree_with_fastavro(schema: object) -> None:
    parsed = parse(json.dumps(schema))
    assert parsed.parsing_canonical_form == fastavro.schema.to_parsing_canonical_form(schema)
    fastavro_hex = fastavro.schema.fingerprint(parsed.parsing_canonical_form, "CRC-64-AVRO")
    assert parsed.rabin_fingerprint.to_bytes(8, "little").hex() == fastavro_hex


# -- normal form --------------------------------------------------------------------------


def test_equivalent_spellings_normalize_to_one_string() -> None:
    spellings = [
        {
            "type": "record",
            "name": "R",
            "namespace": "com.acme",
            "fields": [
                {"name": "a", "type": {"type": "int"}, "order": "ascending"},
                {"name": "b", "type": {"type": "enum", "name": "E", "symbols": ["X"]}},
                {"name": "c", "type": "E", "default": "X", "aliases": ["z", "y"]},
            ],
        },
        {
            "fields": [
                {"type": "int", "name": "a"},
                {"type": {"symbols": ["X"], "type": "enum", "name": "com.acme.E"}, "name": "b"},
                {"aliases": ["y", "z"], "default": "X", "type": "com.acme.E", "name": "c"},
            ],
            "name": "com.acme.R",
            "type": "record",
        },
    ]
    normal_forms = {parse(json.dumps(s, indent=2)).normalized().canonical_string for s in spellings}
    assert len(normal_forms) == 1
    text = normal_forms.pop()
    assert '"name":"com.acme.E"' in text
    assert '"ascending"' not in text
    again = parse(text).normalized()
    assert again.canonical_string == text  # idempotent


def test_normalization_keeps_meaningful_differences() -> None:
    first = parse(record({"name": "a", "type": "int"}, {"name": "b", "type": "int"}))
    swapped = parse(record({"name": "b", "type": "int"}, {"name": "a", "type": "int"}))
    assert first.normalized().canonical_string != swapped.normalized().canonical_string


# -- references ----------------------------------------------------------------------------

ADDRESS = ResolvedReference(
    name="com.acme.Address",
    subject="address-value",
    version=1,
    schema_str=json.dumps(
        {
            "type": "record",
            "name": "Address",
            "namespace": "com.acme",
            "fields": [
                {"name": "street", "type": "string"},
                {
                    "name": "kind",
                    "type": {"type": "enum", "name": "Kind", "symbols": ["HOME", "WORK"]},
                },
            ],
        }
    ),
)
PERSON = json.dumps(
    {
        "type": "record",
        "name": "Person",
        "namespace": "com.acme",
        "fields": [
            {"name": "home", "type": "com.acme.Address"},
            {"name": "work", "type": ["null", "Address"], "default": None},
        ],
    }
)


def test_referenced_named_types_resolve_and_stay_references_in_the_canonical_string() -> None:
    person = AVRO.parse(PERSON, [ADDRESS])
    assert person.canonical_string == (
        '{"type":"record","name":"Person","namespace":"com.acme","fields":['
        '{"name":"home","type":"Address"},'
        '{"name":"work","type":["null","Address"],"default":null}]}'
    )
    assert '"street"' in person.parsing_canonical_form  # the PCF is self-contained
    assert person.fastavro_schema["fields"][0]["type"]["name"] == "com.acme.Address"
    assert person.normalized().canonical_string.count("com.acme.Address") == 2


def test_nested_types_of_a_reference_are_usable() -> None:
    schema = record({"name": "k", "type": "com.acme.Kind"})
    assert AVRO.parse(json.dumps(schema), [ADDRESS]).canonical_string.count("HOME") == 1


def test_missing_reference_is_an_invalid_schema() -> None:
    with pytest.raises(InvalidSchema, match='"com.acme.Address" is not a defined name'):
        AVRO.parse(PERSON)


def test_invalid_reference_names_the_reference() -> None:
    broken = ResolvedReference("x", "x-value", 3, '{"type": "record"}')
    with pytest.raises(
        InvalidSchema, match="Invalid reference 'x' \\(subject 'x-value' version 3\\)"
    ):
        AVRO.parse(PERSON, [broken])


def test_fingerprint_covers_references() -> None:
    newer = ResolvedReference(ADDRESS.name, ADDRESS.subject, 2, ADDRESS.schema_str)
    assert AVRO.parse(PERSON, [ADDRESS]).fingerprint != AVRO.parse(PERSON, [newer]).fingerprint


# -- recursion, caching, interface ---------------------------------------------------------

LINKED_LIST = record(
    {"name": "value", "type": "int"},
    {"name": "next", "type": ["null", "Node"], "default": None},
    name="Node",
)


def test_recursive_schema_round_trips_through_every_form() -> None:
    parsed = parse(LINKED_LIST)
    assert parsed.canonical_string == (
        '{"type":"record","name":"Node","fields":[{"name":"value","type":"int"},'
        '{"name":"next","type":["null","Node"],"default":null}]}'
    )
    assert parsed.parsing_canonical_form.endswith('{"name":"next","type":["null","Node"]}]}')
    assert AVRO.check_compatibility(parsed, parsed) == []
    assert parse(parsed.normalized().canonical_string).canonical_string == parsed.canonical_string


def test_parse_is_cached_by_text_and_references() -> None:
    text = json.dumps(record({"name": "cached", "type": "int"}))
    assert AVRO.parse(text) is AVRO.parse(text)
    assert AVRO.parse(PERSON, [ADDRESS]) is AVRO.parse(PERSON, (ADDRESS,))


def test_avro_satisfies_the_format_interface() -> None:
    parsed: base.ParsedSchema = parse(LINKED_LIST)
    schema_format: base.SchemaFormat = AVRO
    assert schema_format.schema_type == parsed.schema_type == "AVRO"
    assert len(parsed.fingerprint) == 64
    from registry.formats import get_format

    assert get_format(None) is AVRO


def test_non_string_schema_text_is_an_invalid_schema() -> None:
    with pytest.raises(InvalidSchema, match="expected a JSON string"):
        AVRO.parse(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "module_name",
    [
        "registry.formats.avro",
        "registry.formats.avro_model",
        "registry.formats.avro_parse",
        "registry.formats.avro_write",
        "registry.formats.avro_compat",
    ],
)
def test_public_names_exist(module_name: str) -> None:
    import importlib

    module = importlib.import_module(module_name)
    assert module.__all__
    for name in module.__all__:
        assert hasattr(module, name), name
