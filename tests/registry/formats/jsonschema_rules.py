"""The JSON Schema compatibility rule table as data: one row per rule, shared by tests and docs.

Each row is a writer (old) schema, a reader (new) schema, the Confluent difference
type the pair must produce, where, and whether the reader can read the writer's
data (BACKWARD with reader=new) and the reverse (FORWARD, reader=old). The rules
and verdicts follow Confluent Schema Registry's JSON Schema diff
(``io.confluent.kafka.schemaregistry.json.diff``, ``SchemaDiff.COMPATIBLE_CHANGES``)
and its test vectors ``diff-schema-examples*.json``; the schemas are our own.
"""

from __future__ import annotations

import dataclasses
from typing import Any

__all__ = ["RULES", "Rule"]

D2020 = "https://json-schema.org/draft/2020-12/schema"


@dataclasses.dataclass(frozen=True)
class Rule:
    kind: str
    location: str
    writer: Any
    reader: Any
    compatible: bool
    reverse_compatible: bool
    note: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.note or self.location}"


def _s(**keywords: Any) -> dict[str, Any]:
    return {"type": "string", **keywords}


def _n(**keywords: Any) -> dict[str, Any]:
    return {"type": "number", **keywords}


def _a(**keywords: Any) -> dict[str, Any]:
    return {"type": "array", **keywords}


def _o(properties: dict[str, Any], **keywords: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, **keywords}


STR = {"type": "string"}
NUM = {"type": "number"}
CLOSED = {"additionalProperties": False}

RULES: list[Rule] = [
    # -- types ---------------------------------------------------------------------
    Rule("TYPE_CHANGED", "#/", STR, NUM, False, False),
    Rule("TYPE_EXTENDED", "#/", {"type": "integer"}, NUM, True, False),
    Rule("TYPE_NARROWED", "#/", NUM, {"type": "integer"}, False, True),
    Rule("SCHEMA_ADDED", "#/items", _a(), _a(items=STR), False, True),
    Rule("SCHEMA_REMOVED", "#/items", _a(items=STR), _a(), True, False),
    Rule("ID_CHANGED", "#/", {"$id": "urn:a", **STR}, {"$id": "urn:b", **STR}, True, True),
    Rule("TITLE_CHANGED", "#/", {"title": "A", **STR}, {"title": "B", **STR}, True, True),
    Rule(
        "DESCRIPTION_CHANGED",
        "#/",
        {"description": "a", **STR},
        {"description": "b", **STR},
        True,
        True,
    ),
    Rule("DEFAULT_CHANGED", "#/", _s(default="a"), _s(default="b"), True, True),
    # -- strings -------------------------------------------------------------------
    Rule("MAX_LENGTH_ADDED", "#/maxLength", _s(), _s(maxLength=5), False, True),
    Rule("MAX_LENGTH_REMOVED", "#/maxLength", _s(maxLength=5), _s(), True, False),
    Rule("MAX_LENGTH_INCREASED", "#/maxLength", _s(maxLength=5), _s(maxLength=9), True, False),
    Rule("MAX_LENGTH_DECREASED", "#/maxLength", _s(maxLength=9), _s(maxLength=5), False, True),
    Rule("MIN_LENGTH_ADDED", "#/minLength", _s(), _s(minLength=2), False, True),
    Rule("MIN_LENGTH_REMOVED", "#/minLength", _s(minLength=2), _s(), True, False),
    Rule("MIN_LENGTH_INCREASED", "#/minLength", _s(minLength=2), _s(minLength=3), False, True),
    Rule("MIN_LENGTH_DECREASED", "#/minLength", _s(minLength=3), _s(minLength=2), True, False),
    Rule("PATTERN_ADDED", "#/pattern", _s(), _s(pattern="^[a-z]+$"), False, True),
    Rule("PATTERN_REMOVED", "#/pattern", _s(pattern="^[a-z]+$"), _s(), True, False),
    Rule("PATTERN_CHANGED", "#/pattern", _s(pattern="^a"), _s(pattern="^b"), False, False),
    # -- numbers -------------------------------------------------------------------
    Rule("MAXIMUM_ADDED", "#/maximum", _n(), _n(maximum=10), False, True),
    Rule("MAXIMUM_REMOVED", "#/maximum", _n(maximum=10), _n(), True, False),
    Rule("MAXIMUM_INCREASED", "#/maximum", _n(maximum=10), _n(maximum=11), True, False),
    Rule("MAXIMUM_DECREASED", "#/maximum", _n(maximum=11), _n(maximum=10), False, True),
    Rule("MINIMUM_ADDED", "#/minimum", _n(), _n(minimum=1), False, True),
    Rule("MINIMUM_REMOVED", "#/minimum", _n(minimum=1), _n(), True, False),
    Rule("MINIMUM_INCREASED", "#/minimum", _n(minimum=1), _n(minimum=2), False, True),
    Rule("MINIMUM_DECREASED", "#/minimum", _n(minimum=2), _n(minimum=1), True, False),
    Rule(
        "EXCLUSIVE_MAXIMUM_ADDED", "#/exclusiveMaximum", _n(), _n(exclusiveMaximum=5), False, True
    ),
    Rule(
        "EXCLUSIVE_MAXIMUM_REMOVED", "#/exclusiveMaximum", _n(exclusiveMaximum=5), _n(), True, False
    ),
    Rule(
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "#/exclusiveMaximum",
        _n(exclusiveMaximum=5),
        _n(exclusiveMaximum=6),
        True,
        False,
    ),
    Rule(
        "EXCLUSIVE_MAXIMUM_DECREASED",
        "#/exclusiveMaximum",
        _n(exclusiveMaximum=6),
        _n(exclusiveMaximum=5),
        False,
        True,
    ),
    Rule(
        "EXCLUSIVE_MINIMUM_ADDED", "#/exclusiveMinimum", _n(), _n(exclusiveMinimum=0), False, True
    ),
    Rule(
        "EXCLUSIVE_MINIMUM_REMOVED", "#/exclusiveMinimum", _n(exclusiveMinimum=0), _n(), True, False
    ),
    Rule(
        "EXCLUSIVE_MINIMUM_INCREASED",
        "#/exclusiveMinimum",
        _n(exclusiveMinimum=0),
        _n(exclusiveMinimum=1),
        False,
        True,
    ),
    Rule(
        "EXCLUSIVE_MINIMUM_DECREASED",
        "#/exclusiveMinimum",
        _n(exclusiveMinimum=1),
        _n(exclusiveMinimum=0),
        True,
        False,
    ),
    Rule("MULTIPLE_OF_ADDED", "#/multipleOf", _n(), _n(multipleOf=5), False, True),
    Rule("MULTIPLE_OF_REMOVED", "#/multipleOf", _n(multipleOf=5), _n(), True, False),
    Rule("MULTIPLE_OF_EXPANDED", "#/multipleOf", _n(multipleOf=5), _n(multipleOf=10), False, True),
    Rule("MULTIPLE_OF_REDUCED", "#/multipleOf", _n(multipleOf=10), _n(multipleOf=5), True, False),
    Rule(
        "MULTIPLE_OF_REDUCED",
        "#/multipleOf",
        _n(multipleOf=0.5),
        _n(multipleOf=0.25),
        True,
        False,
        note="fractional",
    ),
    Rule("MULTIPLE_OF_CHANGED", "#/multipleOf", _n(multipleOf=10), _n(multipleOf=11), False, False),
    # -- enum and const --------------------------------------------------------------
    Rule("ENUM_ARRAY_EXTENDED", "#/enum", {"enum": ["a"]}, {"enum": ["a", "b"]}, True, False),
    Rule("ENUM_ARRAY_NARROWED", "#/enum", {"enum": ["a", "b"]}, {"enum": ["a"]}, False, True),
    Rule("ENUM_ARRAY_CHANGED", "#/enum", {"enum": ["a", "b"]}, {"enum": ["a", "c"]}, False, False),
    Rule("ENUM_ARRAY_CHANGED", "#/const", {"const": 1}, {"const": 2}, False, False),
    Rule(
        "PRODUCT_TYPE_NARROWED",
        "#/",
        _s(enum=["red"]),
        _s(),
        True,
        False,
        note="enum removed from a typed schema",
    ),
    # -- objects: required ----------------------------------------------------------
    Rule(
        "REQUIRED_ATTRIBUTE_ADDED",
        "#/required/a",
        _o({"a": STR}),
        _o({"a": STR}, required=["a"]),
        False,
        True,
    ),
    Rule(
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "#/required/a",
        _o({"a": STR}),
        _o({"a": _s(default="x")}, required=["a"]),
        True,
        True,
    ),
    Rule(
        "REQUIRED_ATTRIBUTE_REMOVED",
        "#/required/a",
        _o({"a": STR}, required=["a"]),
        _o({"a": STR}),
        True,
        False,
    ),
    # -- objects: properties and content models ------------------------------------
    Rule(
        "PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}),
        _o({"a": STR, "b": NUM}),
        False,
        True,
    ),
    Rule(
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR, "b": NUM}),
        _o({"a": STR}),
        True,
        False,
    ),
    Rule(
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}),
        _o({"a": STR, "b": True}),
        True,
        True,
    ),
    Rule(
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}, **CLOSED),
        _o({"a": STR, "b": NUM}, **CLOSED),
        True,
        False,
    ),
    Rule(
        "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}, **CLOSED),
        _o({"a": STR, "b": NUM}, required=["b"], **CLOSED),
        False,
        False,
    ),
    Rule(
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}, **CLOSED),
        _o({"a": STR, "b": _n(default=0)}, required=["b"], **CLOSED),
        True,
        False,
    ),
    Rule(
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR, "b": NUM}, **CLOSED),
        _o({"a": STR}, **CLOSED),
        False,
        True,
    ),
    Rule(
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR, "b": False}, **CLOSED),
        _o({"a": STR}, **CLOSED),
        True,
        True,
    ),
    Rule(
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}, additionalProperties=STR),
        _o({"a": STR, "b": STR}, additionalProperties=STR),
        True,
        True,
    ),
    Rule(
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/properties/I_1",
        _o({"a": STR}, patternProperties={"^I_": {"type": "integer"}}, **CLOSED),
        _o({"a": STR, "I_1": NUM}, patternProperties={"^I_": {"type": "integer"}}, **CLOSED),
        True,
        False,
        note="patternProperties",
    ),
    Rule(
        "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR}, additionalProperties=STR),
        _o({"a": STR, "b": NUM}, additionalProperties=STR),
        False,
        False,
    ),
    Rule(
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR, "b": STR}, **CLOSED),
        _o({"a": STR}, additionalProperties=STR),
        True,
        False,
    ),
    Rule(
        "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/properties/b",
        _o({"a": STR, "b": NUM}, **CLOSED),
        _o({"a": STR}, additionalProperties=STR),
        False,
        False,
    ),
    Rule(
        "ADDITIONAL_PROPERTIES_ADDED",
        "#/additionalProperties",
        _o({}, **CLOSED),
        _o({}),
        True,
        False,
    ),
    Rule(
        "ADDITIONAL_PROPERTIES_REMOVED",
        "#/additionalProperties",
        _o({}),
        _o({}, **CLOSED),
        False,
        True,
    ),
    Rule(
        "ADDITIONAL_PROPERTIES_NARROWED",
        "#/additionalProperties",
        _o({}),
        _o({}, additionalProperties=NUM),
        False,
        True,
    ),
    Rule(
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "#/additionalProperties",
        _o({}, additionalProperties=NUM),
        _o({}),
        True,
        False,
    ),
    Rule("MAX_PROPERTIES_ADDED", "#/maxProperties", _o({}), _o({}, maxProperties=3), False, True),
    Rule("MAX_PROPERTIES_REMOVED", "#/maxProperties", _o({}, maxProperties=3), _o({}), True, False),
    Rule(
        "MAX_PROPERTIES_INCREASED",
        "#/maxProperties",
        _o({}, maxProperties=3),
        _o({}, maxProperties=4),
        True,
        False,
    ),
    Rule(
        "MAX_PROPERTIES_DECREASED",
        "#/maxProperties",
        _o({}, maxProperties=4),
        _o({}, maxProperties=3),
        False,
        True,
    ),
    Rule("MIN_PROPERTIES_ADDED", "#/minProperties", _o({}), _o({}, minProperties=1), False, True),
    Rule("MIN_PROPERTIES_REMOVED", "#/minProperties", _o({}, minProperties=1), _o({}), True, False),
    Rule(
        "MIN_PROPERTIES_INCREASED",
        "#/minProperties",
        _o({}, minProperties=1),
        _o({}, minProperties=2),
        False,
        True,
    ),
    Rule(
        "MIN_PROPERTIES_DECREASED",
        "#/minProperties",
        _o({}, minProperties=2),
        _o({}, minProperties=1),
        True,
        False,
    ),
    Rule(
        "UNEVALUATED_PROPERTIES_REMOVED",
        "#/unevaluatedProperties",
        {"$schema": D2020, **_o({"a": STR})},
        {"$schema": D2020, **_o({"a": STR}, unevaluatedProperties=False)},
        False,
        True,
    ),
    Rule(
        "UNEVALUATED_PROPERTIES_ADDED",
        "#/unevaluatedProperties",
        {"$schema": D2020, **_o({"a": STR}, unevaluatedProperties=False)},
        {"$schema": D2020, **_o({"a": STR})},
        True,
        False,
    ),
    Rule(
        "UNEVALUATED_PROPERTIES_NARROWED",
        "#/unevaluatedProperties",
        {"$schema": D2020, **_o({"a": STR})},
        {"$schema": D2020, **_o({"a": STR}, unevaluatedProperties=STR)},
        False,
        True,
    ),
    Rule(
        "UNEVALUATED_PROPERTIES_EXTENDED",
        "#/unevaluatedProperties",
        {"$schema": D2020, **_o({"a": STR}, unevaluatedProperties=STR)},
        {"$schema": D2020, **_o({"a": STR})},
        True,
        False,
    ),
    # -- objects: dependencies ------------------------------------------------------
    Rule(
        "DEPENDENCY_ARRAY_ADDED",
        "#/dependencies/a",
        _o({"a": STR, "b": STR}),
        _o({"a": STR, "b": STR}, dependencies={"a": ["b"]}),
        False,
        True,
    ),
    Rule(
        "DEPENDENCY_ARRAY_REMOVED",
        "#/dependencies/a",
        _o({"a": STR, "b": STR}, dependencies={"a": ["b"]}),
        _o({"a": STR, "b": STR}),
        True,
        False,
    ),
    Rule(
        "DEPENDENCY_ARRAY_EXTENDED",
        "#/dependencies/a",
        _o({"a": STR}, dependencies={"a": ["b"]}),
        _o({"a": STR}, dependencies={"a": ["b", "c"]}),
        False,
        True,
    ),
    Rule(
        "DEPENDENCY_ARRAY_NARROWED",
        "#/dependencies/a",
        _o({"a": STR}, dependencies={"a": ["b", "c"]}),
        _o({"a": STR}, dependencies={"a": ["b"]}),
        True,
        False,
    ),
    Rule(
        "DEPENDENCY_ARRAY_CHANGED",
        "#/dependencies/a",
        _o({"a": STR}, dependencies={"a": ["b"]}),
        _o({"a": STR}, dependencies={"a": ["c"]}),
        False,
        False,
    ),
    Rule(
        "DEPENDENCY_ARRAY_ADDED",
        "#/dependencies/a",
        {"$schema": D2020, **_o({"a": STR})},
        {"$schema": D2020, **_o({"a": STR}, dependentRequired={"a": ["b"]})},
        False,
        True,
        note="dependentRequired (2020-12)",
    ),
    Rule(
        "DEPENDENCY_SCHEMA_ADDED",
        "#/dependencies/a",
        _o({"a": STR}),
        _o({"a": STR}, dependencies={"a": {"required": ["b"]}}),
        False,
        True,
    ),
    Rule(
        "DEPENDENCY_SCHEMA_REMOVED",
        "#/dependencies/a",
        _o({"a": STR}, dependencies={"a": {"required": ["b"]}}),
        _o({"a": STR}),
        True,
        False,
    ),
    Rule(
        "DEPENDENCY_SCHEMA_REMOVED",
        "#/dependencies/a",
        {"$schema": D2020, **_o({"a": STR}, dependentSchemas={"a": {"required": ["b"]}})},
        {"$schema": D2020, **_o({"a": STR})},
        True,
        False,
        note="dependentSchemas (2020-12)",
    ),
    # -- arrays ----------------------------------------------------------------------
    Rule("MAX_ITEMS_ADDED", "#/maxItems", _a(), _a(maxItems=3), False, True),
    Rule("MAX_ITEMS_REMOVED", "#/maxItems", _a(maxItems=3), _a(), True, False),
    Rule("MAX_ITEMS_INCREASED", "#/maxItems", _a(maxItems=3), _a(maxItems=4), True, False),
    Rule("MAX_ITEMS_DECREASED", "#/maxItems", _a(maxItems=4), _a(maxItems=3), False, True),
    Rule("MIN_ITEMS_ADDED", "#/minItems", _a(), _a(minItems=1), False, True),
    Rule("MIN_ITEMS_REMOVED", "#/minItems", _a(minItems=1), _a(), True, False),
    Rule("MIN_ITEMS_INCREASED", "#/minItems", _a(minItems=1), _a(minItems=2), False, True),
    Rule("MIN_ITEMS_DECREASED", "#/minItems", _a(minItems=2), _a(minItems=1), True, False),
    Rule("UNIQUE_ITEMS_ADDED", "#/uniqueItems", _a(), _a(uniqueItems=True), False, True),
    Rule("UNIQUE_ITEMS_REMOVED", "#/uniqueItems", _a(uniqueItems=True), _a(), True, False),
    Rule(
        "MAX_CONTAINS_DECREASED",
        "#/maxContains",
        {"$schema": D2020, **_a(contains=STR, maxContains=3)},
        {"$schema": D2020, **_a(contains=STR, maxContains=2)},
        False,
        True,
    ),
    Rule(
        "MIN_CONTAINS_INCREASED",
        "#/minContains",
        {"$schema": D2020, **_a(contains=STR, minContains=1)},
        {"$schema": D2020, **_a(contains=STR, minContains=2)},
        False,
        True,
    ),
    Rule(
        "ADDITIONAL_ITEMS_REMOVED",
        "#/additionalItems",
        _a(items=[STR]),
        _a(items=[STR], additionalItems=False),
        False,
        True,
    ),
    Rule(
        "ADDITIONAL_ITEMS_ADDED",
        "#/additionalItems",
        _a(items=[STR], additionalItems=False),
        _a(items=[STR]),
        True,
        False,
    ),
    Rule(
        "ADDITIONAL_ITEMS_NARROWED",
        "#/additionalItems",
        _a(items=[STR]),
        _a(items=[STR], additionalItems=NUM),
        False,
        True,
    ),
    Rule(
        "ADDITIONAL_ITEMS_EXTENDED",
        "#/additionalItems",
        _a(items=[STR], additionalItems=NUM),
        _a(items=[STR]),
        True,
        False,
    ),
    Rule(
        "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR]),
        _a(items=[STR, NUM]),
        False,
        True,
    ),
    Rule(
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR, NUM]),
        _a(items=[STR]),
        True,
        False,
    ),
    Rule(
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR]),
        _a(items=[STR, True]),
        True,
        True,
    ),
    Rule(
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR], additionalItems=False),
        _a(items=[STR, NUM], additionalItems=False),
        True,
        False,
    ),
    Rule(
        "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR, NUM], additionalItems=False),
        _a(items=[STR], additionalItems=False),
        False,
        True,
    ),
    Rule(
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR, False], additionalItems=False),
        _a(items=[STR], additionalItems=False),
        True,
        True,
    ),
    Rule(
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR], additionalItems=STR),
        _a(items=[STR, STR], additionalItems=STR),
        True,
        True,
    ),
    Rule(
        "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR], additionalItems=STR),
        _a(items=[STR, NUM], additionalItems=STR),
        False,
        False,
    ),
    Rule(
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR, STR], additionalItems=STR),
        _a(items=[STR], additionalItems=STR),
        True,
        True,
    ),
    Rule(
        "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "#/items/1",
        _a(items=[STR, NUM], additionalItems=STR),
        _a(items=[STR], additionalItems=STR),
        False,
        False,
    ),
    Rule(
        "ITEM_ADDED_TO_OPEN_CONTENT_MODEL",
        "#/items/1",
        {"$schema": D2020, **_a(prefixItems=[STR])},
        {"$schema": D2020, **_a(prefixItems=[STR, NUM])},
        False,
        True,
        note="prefixItems (2020-12)",
    ),
    Rule(
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "#/items/1",
        {"$schema": D2020, **_a(prefixItems=[STR], items=False)},
        {"$schema": D2020, **_a(prefixItems=[STR, NUM], items=False)},
        True,
        False,
        note="prefixItems with items false (2020-12)",
    ),
    Rule(
        "UNEVALUATED_ITEMS_REMOVED",
        "#/unevaluatedItems",
        {"$schema": D2020, **_a(prefixItems=[STR])},
        {"$schema": D2020, **_a(prefixItems=[STR], unevaluatedItems=False)},
        False,
        True,
    ),
    Rule(
        "UNEVALUATED_ITEMS_EXTENDED",
        "#/unevaluatedItems",
        {"$schema": D2020, **_a(prefixItems=[STR], unevaluatedItems=NUM)},
        {"$schema": D2020, **_a(prefixItems=[STR])},
        True,
        False,
    ),
    # -- combined schemas ------------------------------------------------------------
    Rule("SUM_TYPE_EXTENDED", "#/", STR, {"oneOf": [NUM, STR]}, True, False),
    Rule(
        "SUM_TYPE_EXTENDED",
        "#/",
        {"type": ["string"]},
        {"type": ["string", "null"]},
        True,
        False,
        note="type array",
    ),
    Rule("SUM_TYPE_NARROWED", "#/", {"anyOf": [STR, NUM]}, {"anyOf": [STR]}, False, True),
    Rule(
        "PRODUCT_TYPE_EXTENDED",
        "#/",
        {"allOf": [STR]},
        {"allOf": [STR, _s(maxLength=3)]},
        False,
        True,
    ),
    Rule(
        "PRODUCT_TYPE_NARROWED",
        "#/",
        {"allOf": [STR, _s(maxLength=3)]},
        {"allOf": [STR]},
        True,
        False,
    ),
    Rule("COMBINED_TYPE_EXTENDED", "#/", {"oneOf": [STR, NUM]}, {"anyOf": [STR, NUM]}, True, False),
    Rule("COMBINED_TYPE_CHANGED", "#/", {"oneOf": [STR, NUM]}, {"allOf": [STR, NUM]}, False, False),
    Rule(
        "COMBINED_TYPE_SUBSCHEMAS_CHANGED", "#/", {"oneOf": [STR]}, {"oneOf": [NUM]}, False, False
    ),
    Rule("NOT_TYPE_NARROWED", "#/not", {"not": NUM}, {"not": {"type": "integer"}}, True, False),
    Rule("NOT_TYPE_EXTENDED", "#/not", {"not": {"type": "integer"}}, {"not": NUM}, False, True),
]
