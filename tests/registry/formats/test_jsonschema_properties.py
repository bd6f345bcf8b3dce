"""Property tests: self-compatibility, widening is backward compatible, writer data stays valid."""

from __future__ import annotations

import copy
import json
import math
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from registry.formats.jsonschema import JSON, JsonParsedSchema

NAMES = st.sampled_from(["a", "b", "c", "d"])
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def string_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    low = draw(st.none() | st.integers(0, 3))
    high = draw(st.none() | st.integers(3, 6))
    if low is not None:
        schema["minLength"] = low
    if high is not None:
        schema["maxLength"] = high
    if draw(st.booleans()):
        schema["pattern"] = "^[a-c]*$"
    return schema


@st.composite
def number_schemas(draw: st.DrawFn) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": draw(st.sampled_from(["integer", "number"]))}
    low = draw(st.none() | st.integers(-10, 0))
    high = draw(st.none() | st.integers(1, 10))
    if low is not None:
        schema["minimum"] = low
    if high is not None:
        schema["maximum"] = high
    if schema["type"] == "integer" and draw(st.booleans()):
        schema["multipleOf"] = draw(st.sampled_from([2, 3]))
    return schema


LEAVES = st.one_of(
    string_schemas(),
    number_schemas(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True).map(
        lambda values: {"enum": values}
    ),
)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def objects(draw: st.DrawFn) -> dict[str, Any]:
        properties = draw(st.dictionaries(NAMES, children, max_size=3))
        schema: dict[str, Any] = {"type": "object", "properties": properties}
        required = [name for name in properties if draw(st.booleans())]
        if required:
            schema["required"] = required
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        return schema

    @st.composite
    def arrays(draw: st.DrawFn) -> dict[str, Any]:
        schema: dict[str, Any] = {"type": "array", "items": draw(children)}
        if draw(st.booleans()):
            schema["maxItems"] = draw(st.integers(1, 3))
        return schema

    return st.one_of(objects(), arrays())


SCHEMAS = st.recursive(LEAVES, _extend, max_leaves=6)


def parse(schema: Any) -> JsonParsedSchema:
    return JSON.parse(json.dumps(schema))


# -- widening: each step keeps every writer instance valid and is a compatible change ------


def _subschemas(schema: dict[str, Any]) -> list[dict[str, Any]]:
    found = [schema]
    for child in schema.get("properties", {}).values():
        found += _subschemas(child)
    if isinstance(schema.get("items"), dict):
        found += _subschemas(schema["items"])
    return found


def _widen_once(schema: dict[str, Any], choice: int, extra_value: str) -> bool:
    """Widen ``schema`` in place by the ``choice``-th applicable step; False if none applies."""
    steps: list[Any] = []
    kind = schema.get("type")
    if kind == "string":
        for key in ("maxLength", "minLength", "pattern"):
            if key in schema:
                steps.append(lambda key=key: schema.pop(key))
        if "maxLength" in schema:
            steps.append(lambda: schema.update(maxLength=schema["maxLength"] + 2))
        if schema.get("minLength", 0) > 0:
            steps.append(lambda: schema.update(minLength=schema["minLength"] - 1))
    elif kind in ("integer", "number"):
        for key in ("maximum", "minimum", "multipleOf"):
            if key in schema:
                steps.append(lambda key=key: schema.pop(key))
        if kind == "integer" and "multipleOf" not in schema:
            steps.append(lambda: schema.update(type="number"))
    elif "enum" in schema and extra_value not in schema["enum"]:
        steps.append(lambda: schema["enum"].append(extra_value))
    elif kind == "object":
        if schema.get("required"):
            steps.append(lambda: schema["required"].pop())
        if schema.get("additionalProperties") is False:
            steps.append(lambda: schema.pop("additionalProperties"))
            if "e" not in schema["properties"]:
                steps.append(lambda: schema["properties"].update(e={"type": "string"}))
        elif schema["properties"]:
            name = sorted(schema["properties"])[0]
            steps.append(lambda: _remove_property(schema, name))
    elif kind == "array":
        if "maxItems" in schema:
            steps.append(lambda: schema.pop("maxItems"))
        if "items" in schema:
            steps.append(lambda: schema.pop("items"))
    if not steps:
        return False
    steps[choice % len(steps)]()
    return True


def _remove_property(schema: dict[str, Any], name: str) -> None:
    del schema["properties"][name]
    if name in schema.get("required", []):
        schema["required"].remove(name)
        if not schema["required"]:
            del schema["required"]


@st.composite
def widened_pairs(
    draw: st.DrawFn, *, may_clear: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    writer = draw(SCHEMAS)
    reader = copy.deepcopy(writer)
    for _ in range(draw(st.integers(1, 3))):
        nodes = _subschemas(reader)
        node = nodes[draw(st.integers(0, len(nodes) - 1))]
        if may_clear and draw(st.integers(0, 9)) == 0 and node is not reader:
            node.clear()  # any subschema may become {}
        else:
            _widen_once(node, draw(st.integers(0, 7)), draw(st.sampled_from(["x", "y", "z", "w"])))
    if draw(st.booleans()):
        reader = {"anyOf": [reader, {"type": "null"}]}
    return writer, reader


# -- simple instances valid under a generated schema ---------------------------------------


def instances(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    kind = schema.get("type")
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if kind == "string":
        low = schema.get("minLength", 0)
        high = max(low, schema.get("maxLength", low + 4))
        return st.text(alphabet="abc", min_size=low, max_size=high)
    if kind in ("integer", "number"):
        low, high = schema.get("minimum", -20), schema.get("maximum", 20)
        step = schema.get("multipleOf", 1)
        whole = st.integers(math.ceil(low / step), math.floor(high / step)).map(lambda n: n * step)
        if kind == "integer":
            return whole
        return whole | st.floats(low, high, allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "object":
        properties = schema["properties"]
        required = set(schema.get("required", ()))
        return st.fixed_dictionaries(
            {name: instances(sub) for name, sub in properties.items() if name in required},
            optional={
                name: instances(sub) for name, sub in properties.items() if name not in required
            },
        )
    if kind == "array":
        return st.lists(instances(schema["items"]), max_size=schema.get("maxItems", 3))
    return st.none()


@SETTINGS
@given(SCHEMAS)
def test_every_schema_is_compatible_with_itself(schema: dict[str, Any]) -> None:
    parsed = parse(schema)
    assert JSON.check_compatibility(parsed, parsed) == []
    # a separately parsed copy (other key order, so another cache entry) too
    reordered = JSON.parse(json.dumps(schema, sort_keys=True, indent=1))
    assert JSON.check_compatibility(reordered, parsed) == []


@SETTINGS
@given(widened_pairs())
def test_widening_is_backward_compatible(pair: tuple[dict[str, Any], dict[str, Any]]) -> None:
    writer, reader = pair
    assert JSON.check_compatibility(parse(reader), parse(writer)) == []


@SETTINGS
@given(widened_pairs(), st.data())
def test_writer_instances_validate_under_a_compatible_reader(
    pair: tuple[dict[str, Any], dict[str, Any]], data: st.DataObject
) -> None:
    writer, reader = pair
    writer_schema, reader_schema = parse(writer), parse(reader)
    assert JSON.check_compatibility(reader_schema, writer_schema) == []
    instance = data.draw(instances(writer))
    assume(writer_schema.is_valid(instance))
    assert reader_schema.is_valid(instance), (instance, reader)


@SETTINGS
@given(SCHEMAS, st.data())
def test_generated_instances_are_valid_for_their_schema(
    schema: dict[str, Any], data: st.DataObject
) -> None:
    instance = data.draw(instances(schema))
    parse(schema).validate(instance)


@SETTINGS
@given(widened_pairs(may_clear=False))
def test_narrowing_is_detected_as_incompatible(
    pair: tuple[dict[str, Any], dict[str, Any]],
) -> None:
    writer, reader = pair
    assume(writer != reader)
    # the reversed pair narrows: the old schema as reader must reject some new data
    assert JSON.check_compatibility(parse(writer), parse(reader)) != []
