"""The in-memory form of a parsed Avro schema: a graph of nodes, one per schema occurrence.

Named types referenced again by name point to the same node, so recursive schemas
are cyclic graphs. Every other occurrence (even of ``"int"``) is its own node, as
in Avro Java: the compatibility checker memoizes by node identity and reports the
location of the first occurrence it met.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPLEX_KINDS",
    "NAMED_KINDS",
    "NO_DEFAULT",
    "PRIMITIVE_KINDS",
    "Array",
    "Enum",
    "Field",
    "Fixed",
    "Map",
    "Named",
    "Node",
    "Primitive",
    "Record",
    "Union",
]

PRIMITIVE_KINDS = frozenset(
    ("null", "boolean", "int", "long", "float", "double", "bytes", "string")
)
NAMED_KINDS = frozenset(("record", "enum", "fixed"))
COMPLEX_KINDS = frozenset(("record", "enum", "fixed", "array", "map", "union"))


class _NoDefault:
    """Marks a field without a ``default`` attribute (``None`` is the JSON ``null`` default)."""

    _instance: _NoDefault | None = None

    def __new__(cls) -> _NoDefault:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "NO_DEFAULT"


NO_DEFAULT: Any = _NoDefault()


class Node:
    """One schema occurrence. ``kind`` is the Avro type name (``"error"`` records are ``"record"``).

    ``props`` holds the attributes Avro does not interpret (``logicalType``,
    ``precision``, custom properties), in the order they were written.
    """

    __slots__ = ("kind", "props")

    def __init__(self, kind: str, props: dict[str, Any]) -> None:
        self.kind = kind
        self.props = props

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.kind}>"


class Primitive(Node):
    __slots__ = ()


class Array(Node):
    __slots__ = ("items",)

    def __init__(self, items: Node, props: dict[str, Any]) -> None:
        super().__init__("array", props)
        self.items = items


class Map(Node):
    __slots__ = ("values",)

    def __init__(self, values: Node, props: dict[str, Any]) -> None:
        super().__init__("map", props)
        self.values = values


class Union(Node):
    __slots__ = ("branches",)

    def __init__(self, branches: list[Node]) -> None:
        super().__init__("union", {})
        self.branches = branches


class Named(Node):
    """A record, enum or fixed: ``name`` is the simple name, ``space`` the namespace or ``None``.

    ``aliases`` are full names (resolved against the type's namespace), without duplicates.
    """

    __slots__ = ("aliases", "doc", "fullname", "name", "space")

    def __init__(
        self,
        kind: str,
        name: str,
        space: str | None,
        doc: str | None,
        aliases: tuple[str, ...],
        props: dict[str, Any],
    ) -> None:
        super().__init__(kind, props)
        self.name = name
        self.space = space
        self.fullname = f"{space}.{name}" if space else name
        self.doc = doc
        self.aliases = aliases

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.fullname}>"


class Field:
    """A record field; ``default`` is ``NO_DEFAULT`` when the field has none."""

    __slots__ = ("aliases", "default", "doc", "name", "order", "pos", "props", "type")

    def __init__(
        self,
        name: str,
        type_: Node,
        pos: int,
        doc: str | None,
        default: Any,
        order: str,
        aliases: tuple[str, ...],
        props: dict[str, Any],
    ) -> None:
        self.name = name
        self.type = type_
        self.pos = pos
        self.doc = doc
        self.default = default
        self.order = order
        self.aliases = aliases
        self.props = props

    @property
    def has_default(self) -> bool:
        return self.default is not NO_DEFAULT


class Record(Named):
    """A record (or ``error``); ``fields`` is filled after the record is registered, for recursion."""

    __slots__ = ("fields", "fields_by_name", "is_error")

    def __init__(
        self,
        name: str,
        space: str | None,
        doc: str | None,
        aliases: tuple[str, ...],
        props: dict[str, Any],
        is_error: bool = False,
    ) -> None:
        super().__init__("record", name, space, doc, aliases, props)
        self.is_error = is_error
        self.fields: list[Field] = []
        self.fields_by_name: dict[str, Field] = {}


class Enum(Named):
    __slots__ = ("default", "symbol_set", "symbols")

    def __init__(
        self,
        name: str,
        space: str | None,
        doc: str | None,
        aliases: tuple[str, ...],
        props: dict[str, Any],
        symbols: tuple[str, ...],
        default: str | None,
    ) -> None:
        super().__init__("enum", name, space, doc, aliases, props)
        self.symbols = symbols
        self.symbol_set = frozenset(symbols)
        self.default = default


class Fixed(Named):
    __slots__ = ("size",)

    def __init__(
        self,
        name: str,
        space: str | None,
        doc: str | None,
        aliases: tuple[str, ...],
        props: dict[str, Any],
        size: int,
    ) -> None:
        super().__init__("fixed", name, space, doc, aliases, props)
        self.size = size
