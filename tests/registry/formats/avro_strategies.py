"""Hypothesis strategies for Avro schemas and their evolutions (test helper, not a test module).

Schemas are JSON values built from a small pool of names so that independently
drawn schemas still meet on names; every schema defines each named type once,
inline. Mutations are the schema changes people make: add or remove fields with
and without defaults, promote or demote types, widen or narrow unions and enums,
rename with and without aliases, nest records, arrays and maps, resize fixed.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from hypothesis import strategies as st

__all__ = ["defaults_fixed", "evolution_chains", "schemas"]

PRIMITIVES = ["null", "boolean", "int", "long", "float", "double", "bytes", "string"]
FIELD_NAMES = ["a", "b", "c", "d", "e", "f"]
SYMBOLS = ["S0", "S1", "S2", "S3"]
_counter = itertools.count()


def _fresh_name(prefix: str) -> str:
    return f"{prefix}{next(_counter)}"


def default_for(schema: Any) -> Any:
    """A valid default value for ``schema`` (a union's default matches its first branch)."""
    if isinstance(schema, str):
        return {
            "null": None,
            "boolean": False,
            "int": 0,
            "long": 1,
            "float": 0.5,
            "double": 2.5,
            "bytes": "b",
            "string": "s",
        }[schema]
    if isinstance(schema, list):
        return default_for(schema[0])
    kind = schema["type"]
    if kind in PRIMITIVES:
        return default_for(kind)
    if kind == "enum":
        return schema["symbols"][0]
    if kind == "fixed":
        return "x" * schema["size"]
    if kind == "array":
        return []
    if kind == "map":
        return {}
    return {field["name"]: default_for(field["type"]) for field in schema["fields"]}


def defaults_fixed(schema: Any) -> Any:
    """Make every field default and enum default valid again after a mutation (in place)."""
    if isinstance(schema, list):
        for branch in schema:
            defaults_fixed(branch)
    elif isinstance(schema, dict):
        kind = schema["type"]
        if kind == "record":
            for field in schema["fields"]:
                defaults_fixed(field["type"])
                if "default" in field:
                    field["default"] = default_for(field["type"])
        elif kind == "enum":
            if schema.get("default") not in schema["symbols"]:
                schema.pop("default", None)
        elif kind == "array":
            defaults_fixed(schema["items"])
        elif kind == "map":
            defaults_fixed(schema["values"])
    return schema


def _kind(schema: Any) -> str:
    if isinstance(schema, str):
        return schema
    if isinstance(schema, list):
        return "union"
    return schema["type"]


def _union_key(schema: Any) -> str:
    if isinstance(schema, dict) and schema["type"] in ("record", "enum", "fixed"):
        return schema["name"]
    return _kind(schema)


@st.composite
def _enum(draw: st.DrawFn) -> dict[str, Any]:
    symbols = draw(st.lists(st.sampled_from(SYMBOLS), min_size=1, max_size=4, unique=True))
    out: dict[str, Any] = {
        "type": "enum",
        "name": draw(st.sampled_from(["E", "Color"])),
        "symbols": symbols,
    }
    if draw(st.booleans()):
        out["default"] = draw(st.sampled_from(symbols))
    return out


@st.composite
def _fixed(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "type": "fixed",
        "name": draw(st.sampled_from(["F", "Hash"])),
        "size": draw(st.integers(0, 4)),
    }


@st.composite
def schemas(draw: st.DrawFn, depth: int = 3, top_record: bool = True) -> Any:
    """A schema; named types get names from a small pool, made unique within the schema."""
    schema = draw(_schema(depth, top_record))
    return _unique_names(defaults_fixed(schema))


def _unique_names(schema: Any) -> Any:
    seen: set[str] = set()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for branch in node:
                walk(branch)
        elif isinstance(node, dict):
            if node["type"] in ("record", "enum", "fixed"):
                if node["name"] in seen:
                    node["name"] = _fresh_name(node["name"] + "_")
                seen.add(node["name"])
            for child in _children(node):
                walk(child)

    walk(schema)
    # A renamed type may now duplicate a kind in a union: drop such branches.
    _dedupe_unions(schema)
    return schema


def _dedupe_unions(node: Any) -> None:
    if isinstance(node, list):
        keys: set[str] = set()
        kept = []
        for branch in node:
            key = _union_key(branch)
            if key not in keys:
                keys.add(key)
                kept.append(branch)
        node[:] = kept
        for branch in node:
            _dedupe_unions(branch)
    elif isinstance(node, dict):
        for child in _children(node):
            _dedupe_unions(child)


def _children(node: dict[str, Any]) -> list[Any]:
    kind = node["type"]
    if kind == "record":
        return [field["type"] for field in node["fields"]]
    if kind == "array":
        return [node["items"]]
    if kind == "map":
        return [node["values"]]
    return []


@st.composite
def _record(draw: st.DrawFn, depth: int) -> dict[str, Any]:
    names = draw(st.lists(st.sampled_from(FIELD_NAMES), min_size=0, max_size=4, unique=True))
    fields = []
    for name in names:
        field: dict[str, Any] = {"name": name, "type": draw(_schema(depth - 1, False))}
        if draw(st.booleans()):
            field["default"] = None  # replaced by a valid default in defaults_fixed
        fields.append(field)
    return {
        "type": "record",
        "name": draw(st.sampled_from(["R", "Inner", "Item"])),
        "fields": fields,
    }


@st.composite
def _union(draw: st.DrawFn, depth: int) -> list[Any]:
    branches = draw(
        st.lists(_schema(max(depth - 1, 0), False, allow_union=False), min_size=1, max_size=4)
    )
    out, keys = [], set()
    for branch in branches:
        key = _union_key(branch)
        if key not in keys:
            keys.add(key)
            out.append(branch)
    return out


def _schema(depth: int, top_record: bool, allow_union: bool = True) -> st.SearchStrategy[Any]:
    if top_record:
        return _record(max(depth, 1))
    options: list[st.SearchStrategy[Any]] = [st.sampled_from(PRIMITIVES), _enum(), _fixed()]
    if depth > 0:
        options += [
            _record(depth),
            st.builds(lambda items: {"type": "array", "items": items}, _schema(depth - 1, False)),
            st.builds(lambda values: {"type": "map", "values": values}, _schema(depth - 1, False)),
        ]
        if allow_union:
            options.append(_union(depth))
    return st.one_of(*options)


# -- mutations --------------------------------------------------------------------------


def _sites(schema: Any) -> list[tuple[Any, Any]]:
    """(container, key) for every schema position below the root, plus (None, None) for the root."""
    sites: list[tuple[Any, Any]] = [(None, None)]

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for index, branch in enumerate(node):
                sites.append((node, index))
                walk(branch)
        elif isinstance(node, dict):
            kind = node["type"]
            if kind == "record":
                for field in node["fields"]:
                    sites.append((field, "type"))
                    walk(field["type"])
            elif kind == "array":
                sites.append((node, "items"))
                walk(node["items"])
            elif kind == "map":
                sites.append((node, "values"))
                walk(node["values"])

    walk(schema)
    return sites


PROMOTIONS = {
    "int": ["long", "float", "double", "string"],
    "long": ["int", "float", "double"],
    "float": ["double", "int", "long"],
    "double": ["float", "long"],
    "string": ["bytes", "int"],
    "bytes": ["string", "boolean"],
    "boolean": ["int", "null"],
    "null": ["boolean", "string"],
}


@st.composite
def _mutate(draw: st.DrawFn, schema: Any) -> Any:
    """One evolution step applied at a random position of a copy of ``schema``."""
    schema = copy.deepcopy(schema)
    container, key = draw(st.sampled_from(_sites(schema)))
    node = schema if container is None else container[key]
    kind = _kind(node)
    choices = ["retype", "wrap_union", "nest"]
    if kind == "record":
        choices += [
            "add_field",
            "add_field",
            "remove_field",
            "rename_field",
            "rename_type",
            "toggle_default",
        ]
    if kind == "enum":
        choices += ["add_symbol", "remove_symbol", "enum_default", "rename_type"]
    if kind == "fixed":
        choices += ["resize", "rename_type"]
    if kind == "union":
        choices += ["add_branch", "remove_branch", "unwrap_union"]
    action = draw(st.sampled_from(choices))
    new = node
    if action == "retype":
        base = (
            node
            if isinstance(node, str)
            else (node.get("type") if isinstance(node, dict) else None)
        )
        if isinstance(base, str) and base in PROMOTIONS:
            new = draw(st.sampled_from(PROMOTIONS[base]))
        else:
            new = draw(st.sampled_from(PRIMITIVES))
    elif action == "wrap_union" and kind != "union":
        other = draw(st.sampled_from([p for p in PRIMITIVES if p != kind]))
        new = [node, other] if draw(st.booleans()) else [other, node]
    elif action == "nest" and kind != "union":
        new = {"type": draw(st.sampled_from(["array", "map"])), "items": node}
        if new["type"] == "map":
            new["values"] = new.pop("items")
    elif action == "add_field":
        taken = {field["name"] for field in node["fields"]}
        free = [name for name in FIELD_NAMES if name not in taken]
        if free:
            field: dict[str, Any] = {
                "name": draw(st.sampled_from(free)),
                "type": draw(st.sampled_from(PRIMITIVES)),
            }
            if draw(st.booleans()):
                field["default"] = None
            node["fields"].insert(draw(st.integers(0, len(node["fields"]))), field)
    elif action == "remove_field" and node["fields"]:
        node["fields"].pop(draw(st.integers(0, len(node["fields"]) - 1)))
    elif action == "rename_field" and node["fields"]:
        field = node["fields"][draw(st.integers(0, len(node["fields"]) - 1))]
        taken = {f["name"] for f in node["fields"]}
        free = [name for name in ["g", "h", "k"] if name not in taken]
        if free:
            old, field["name"] = field["name"], draw(st.sampled_from(free))
            if draw(st.booleans()):
                field["aliases"] = [old]
    elif action == "toggle_default" and node["fields"]:
        field = node["fields"][draw(st.integers(0, len(node["fields"]) - 1))]
        if "default" in field:
            del field["default"]
        else:
            field["default"] = None
    elif action == "rename_type":
        old, node["name"] = node["name"], _fresh_name("N")
        if draw(st.booleans()):
            node["aliases"] = [old]
    elif action == "add_symbol":
        free = [s for s in SYMBOLS + ["S4"] if s not in node["symbols"]]
        if free:
            node["symbols"].insert(
                draw(st.integers(0, len(node["symbols"]))), draw(st.sampled_from(free))
            )
    elif action == "remove_symbol" and len(node["symbols"]) > 1:
        node["symbols"].pop(draw(st.integers(0, len(node["symbols"]) - 1)))
    elif action == "enum_default":
        if "default" in node:
            del node["default"]
        else:
            node["default"] = draw(st.sampled_from(node["symbols"]))
    elif action == "resize":
        node["size"] = draw(st.integers(0, 5))
    elif action == "add_branch":
        keys = {_union_key(branch) for branch in node}
        free = [p for p in PRIMITIVES if p not in keys]
        if free:
            node.insert(draw(st.integers(0, len(node))), draw(st.sampled_from(free)))
    elif action == "remove_branch" and len(node) > 1:
        node.pop(draw(st.integers(0, len(node) - 1)))
    elif action == "unwrap_union" and node:
        new = node[draw(st.integers(0, len(node) - 1))]
    if container is None:
        if _kind(new) != "record":  # keep a record at the top, like most registered schemas
            return _unique_names(defaults_fixed(schema))
        schema = new
    else:
        if isinstance(container, list) and isinstance(new, list):
            return _unique_names(defaults_fixed(schema))  # unions cannot nest
        if (
            isinstance(container, list)
            and new is not node
            and _union_key(new) in {_union_key(b) for i, b in enumerate(container) if i != key}
        ):
            return _unique_names(defaults_fixed(schema))
        container[key] = new
    return _unique_names(defaults_fixed(schema))


@st.composite
def evolution_chains(draw: st.DrawFn, length: int = 3) -> list[Any]:
    """A schema followed by ``length - 1`` successive evolutions of it (1-3 changes each)."""
    chain = [draw(schemas())]
    for _ in range(length - 1):
        current = chain[-1]
        for _ in range(draw(st.integers(1, 3))):
            current = draw(_mutate(current))
        chain.append(current)
    return chain
