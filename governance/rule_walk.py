"""The walk a CEL_FIELD rule takes through a decoded record (``governance.rule_fields`` builds it).

A small tree compiled once per (schema, rule): ``RecordNode`` (fields with their
names and tags, and whether the rule checks them), ``ArrayNode``, ``MapNode``,
``Union`` (the branch a value takes) and ``Leaf`` (a primitive value).
``FieldWalk.values(message)`` yields every value the rule runs on, with the
record that contains it and where it is (``items[2].sku``); ``prune`` keeps only
the branches that lead to a checked value.
"""

from __future__ import annotations

import dataclasses
import fnmatch
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "ArrayNode",
    "FieldNode",
    "FieldValue",
    "FieldWalk",
    "Leaf",
    "MapNode",
    "Node",
    "RecordNode",
    "Union",
    "field_tags",
    "prune",
]


def field_tags(
    names: str | Sequence[str], inline: Sequence[str], metadata: Mapping[str, Any] | None
) -> tuple[str, ...]:
    """A field's tags: its own (``confluent:tags``) plus the ``metadata.tags`` entries whose
    pattern (``*`` wildcards) matches one of its ``names``."""
    candidates = (names,) if isinstance(names, str) else tuple(names)
    tags = [str(tag) for tag in inline]
    by_pattern = (metadata or {}).get("tags") or {}
    if isinstance(by_pattern, Mapping):
        for pattern, extra in by_pattern.items():
            if any(fnmatch.fnmatchcase(name, str(pattern)) for name in candidates):
                tags.extend(str(tag) for tag in extra)
    return tuple(dict.fromkeys(tags))


@dataclasses.dataclass(frozen=True, slots=True)
class FieldValue:
    """One value a CEL_FIELD rule is evaluated on, with its bindings."""

    value: Any
    name: str
    full_name: str
    type_name: str
    tags: tuple[str, ...]
    message: Any  # the containing record
    location: str  # where in the record: ``items[2].sku``, ``attrs["k"]``

    def bindings(self, message: Any) -> dict[str, Any]:
        return {
            "value": self.value,
            "name": self.name,
            "fullName": self.full_name,
            "typeName": self.type_name,
            "tags": list(self.tags),
            "message": message,
        }


# -- the walk: a small tree of nodes, built once -------------------------------------------------


class Leaf:
    __slots__ = ("type_name",)

    def __init__(self, type_name: str) -> None:
        self.type_name = type_name


class ArrayNode:
    __slots__ = ("items",)

    def __init__(self, items: Node) -> None:
        self.items = items


class MapNode:
    __slots__ = ("values",)

    def __init__(self, values: Node) -> None:
        self.values = values


class Union:
    """Branches tried in order: the first whose ``accepts`` takes the value is walked (every
    one that does, for JSON Schema's ``allOf``)."""

    __slots__ = ("branches", "every")

    def __init__(
        self, branches: list[tuple[Callable[[Any], bool], Node]], *, every: bool = False
    ) -> None:
        self.branches = branches
        self.every = every


class FieldNode:
    __slots__ = ("checked", "full_name", "key", "node", "tags")

    def __init__(self, key: str, full_name: str, tags: tuple[str, ...], checked: bool) -> None:
        self.key = key
        self.full_name = full_name
        self.tags = tags
        self.checked = checked
        self.node: Node | None = None


class RecordNode:
    __slots__ = ("fields", "keys")

    def __init__(self) -> None:
        self.fields: list[FieldNode] = []  # pruned to those that lead to a checked value
        self.keys: set[str] = set()  # every field's name (to tell union branches apart)


Node = Leaf | ArrayNode | MapNode | Union | RecordNode


class FieldWalk:
    """The compiled walk of one schema for one rule; ``values(message)`` yields what it checks."""

    __slots__ = ("_root",)

    def __init__(self, root: Node | None) -> None:
        self._root = root

    @property
    def empty(self) -> bool:
        return self._root is None

    def values(self, message: Any) -> Iterator[FieldValue]:
        if self._root is not None:
            yield from _walk(self._root, message, None, None, "")


def _walk(
    node: Node, value: Any, field: FieldNode | None, container: Any, location: str
) -> Iterator[FieldValue]:
    if isinstance(node, RecordNode):
        if not isinstance(value, Mapping):
            return
        for child in node.fields:
            if child.key in value and child.node is not None:
                where = f"{location}.{child.key}" if location else child.key
                yield from _walk(child.node, value[child.key], child, value, where)
    elif isinstance(node, Leaf):
        if field is not None and field.checked:
            name = field.key
            yield FieldValue(
                value, name, field.full_name, node.type_name, field.tags, container, location
            )
    elif isinstance(node, ArrayNode):
        if isinstance(value, list):
            for index, item in enumerate(value):
                yield from _walk(node.items, item, field, container, f"{location}[{index}]")
    elif isinstance(node, MapNode):
        if isinstance(value, Mapping):
            for key, item in value.items():
                yield from _walk(node.values, item, field, container, f"{location}[{key!r}]")
    else:
        for accepts, branch in node.branches:
            if accepts(value):
                yield from _walk(branch, value, field, container, location)
                if not node.every:
                    return


# -- pruning: keep only what leads to a checked value ---------------------------------------------


def prune(root: Node | None) -> Node | None:
    """Drop the fields whose values can never be checked; None when nothing is."""
    if root is None:
        return None
    useful: dict[int, bool] = {}
    # A record is useful when one of its fields reaches a checked leaf, directly or
    # through useful records; recursion makes it a fixed point.
    records = _records(root)
    changed = True
    while changed:
        changed = False
        for record in records:
            if useful.get(id(record)):
                continue
            if any(_field_useful(field, useful) for field in record.fields):
                useful[id(record)] = True
                changed = True
    for record in records:
        record.fields = [field for field in record.fields if _field_useful(field, useful)]
    return root if _reaches(root, True, useful) else None


def _field_useful(field: FieldNode, useful: dict[int, bool]) -> bool:
    return field.node is not None and _reaches(field.node, field.checked, useful)


def _reaches(node: Node, checked: bool, useful: dict[int, bool]) -> bool:
    """Whether walking ``node`` (under a field that is ``checked`` or not) can check a value."""
    if isinstance(node, Leaf):
        return checked
    if isinstance(node, RecordNode):
        return bool(useful.get(id(node)))
    if isinstance(node, ArrayNode):
        return _reaches(node.items, checked, useful)
    if isinstance(node, MapNode):
        return _reaches(node.values, checked, useful)
    return any(_reaches(branch, checked, useful) for _, branch in node.branches)


def _records(root: Node) -> list[RecordNode]:
    found: dict[int, RecordNode] = {}
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, RecordNode):
            if id(node) in found:
                continue
            found[id(node)] = node
            stack.extend(field.node for field in node.fields if field.node is not None)
        elif isinstance(node, ArrayNode):
            stack.append(node.items)
        elif isinstance(node, MapNode):
            stack.append(node.values)
        elif isinstance(node, Union):
            stack.extend(branch for _, branch in node.branches)
    return list(found.values())
