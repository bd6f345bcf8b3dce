"""Avro reader/writer compatibility: can data written with one schema be read with another?

Implements the schema resolution rules of the Avro specification the way Avro
Java's ``SchemaCompatibility`` does (Confluent Schema Registry's checker), with
the same error types, JSON-pointer locations and messages. The rules are a
table keyed by ``(writer kind, reader kind)``; pairs of nodes are memoized, and
a pair met again while it is being checked counts as compatible, which ends
recursion through recursive schemas.

Two behaviours are kept on purpose because Confluent shows them: the check of a
reader union branch or of a writer union branch starts a fresh location (its
incompatibilities are reported at ``/``), and a memoized pair keeps the
location where it was first checked.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

from registry.formats.avro_model import (
    COMPLEX_KINDS,
    PRIMITIVE_KINDS,
    Array,
    Enum,
    Field,
    Fixed,
    Map,
    Named,
    Node,
    Record,
    Union,
)

__all__ = ["Issue", "check", "describe"]

NAME_MISMATCH = "NAME_MISMATCH"
FIXED_SIZE_MISMATCH = "FIXED_SIZE_MISMATCH"
MISSING_ENUM_SYMBOLS = "MISSING_ENUM_SYMBOLS"
READER_FIELD_MISSING_DEFAULT_VALUE = "READER_FIELD_MISSING_DEFAULT_VALUE"
TYPE_MISMATCH = "TYPE_MISMATCH"
MISSING_UNION_BRANCH = "MISSING_UNION_BRANCH"
# Not a Confluent type: Avro Java throws (and Confluent reports an unexpected error)
# when a reader field's name and aliases match more than one writer field.
AMBIGUOUS_READER_FIELD = "AMBIGUOUS_READER_FIELD"


class Issue(NamedTuple):
    """One incompatibility: Avro Java's type, message and location (tokens below the root)."""

    error_type: str
    message: str
    location: tuple[str, ...]

    @property
    def pointer(self) -> str:
        """The location as a JSON pointer, ``/`` for the root."""
        return "/" + "/".join(t.replace("~", "~0").replace("/", "~1") for t in self.location)


# Confluent's descriptions (io.confluent.kafka.schemaregistry.avro.Difference); {reader} and
# {writer} are "new"/"old" depending on the direction of the check.
_DESCRIPTIONS = {
    FIXED_SIZE_MISMATCH: "The size of FIXED type field at path '{path}' in the {reader} "
    "schema does not match with the {writer} schema",
    TYPE_MISMATCH: "The type (path '{path}') of a field in the {reader} schema does not "
    "match with the {writer} schema",
    NAME_MISMATCH: "The name of the schema has changed (path '{path}')",
    MISSING_ENUM_SYMBOLS: "The {reader} schema is missing enum symbols '{info}' at path "
    "'{path}' in the {writer} schema",
    MISSING_UNION_BRANCH: "The {reader} schema is missing a type inside a union field at "
    "path '{path}' in the {writer} schema",
    READER_FIELD_MISSING_DEFAULT_VALUE: "The field '{info}' at path '{path}' in the {reader} "
    "schema has no default value and is missing in the {writer} schema",
    AMBIGUOUS_READER_FIELD: "The field at path '{path}' in the {reader} schema matches more "
    "than one field of the {writer} schema by name and aliases",
}


def describe(issue: Issue, reader_role: str, writer_role: str) -> str:
    """Confluent's description sentence for ``issue``."""
    return _DESCRIPTIONS[issue.error_type].format(
        path=issue.pointer, info=issue.message, reader=reader_role, writer=writer_role
    )


_Rule = Callable[["_Checker", Node, Node, tuple[str, ...]], list[Issue]]
_COMPATIBLE: list[Issue] = []
_IN_PROGRESS: list[Issue] = []  # sentinel: identity, not value, is compared


def _upper(node: Node) -> str:
    return node.kind.upper()


class _Checker:
    __slots__ = ("memo",)

    def __init__(self) -> None:
        self.memo: dict[tuple[int, int], list[Issue]] = {}

    def get(self, reader: Node, writer: Node, location: tuple[str, ...]) -> list[Issue]:
        if reader.kind == writer.kind and reader.kind in PRIMITIVE_KINDS:
            return _COMPATIBLE  # the commonest pair; memoizing it would change nothing
        key = (id(reader), id(writer))
        found = self.memo.get(key)
        if found is not None:
            return _COMPATIBLE if found is _IN_PROGRESS else found
        self.memo[key] = _IN_PROGRESS
        result = _RULES.get((writer.kind, reader.kind), _type_mismatch)(
            self, reader, writer, location
        )
        self.memo[key] = result
        return result


# -- rules ----------------------------------------------------------------------------


def _compatible(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    return _COMPATIBLE


def _type_mismatch(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    message = f"reader type: {_upper(reader)} not compatible with writer type: {_upper(writer)}"
    return [Issue(TYPE_MISMATCH, message, loc)]


def _array(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(reader, Array) and isinstance(writer, Array)
    return c.get(reader.items, writer.items, (*loc, "items"))


def _map(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(reader, Map) and isinstance(writer, Map)
    return c.get(reader.values, writer.values, (*loc, "values"))


def _names(reader: Named, writer: Named, loc: tuple[str, ...]) -> list[Issue]:
    # Avro Java compares simple names (namespaces are ignored) or a reader alias to the full name.
    if reader.name == writer.name or writer.fullname in reader.aliases:
        return []
    return [Issue(NAME_MISMATCH, f"expected: {writer.fullname}", (*loc, "name"))]


def _fixed(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(reader, Fixed) and isinstance(writer, Fixed)
    issues = _names(reader, writer, loc)
    if reader.size != writer.size:
        message = f"expected: {writer.size}, found: {reader.size}"
        issues.append(Issue(FIXED_SIZE_MISMATCH, message, (*loc, "size")))
    return issues


def _utf16_order(symbol: str) -> bytes:
    return symbol.encode("utf-16-be", "surrogatepass")


def _enum(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(reader, Enum) and isinstance(writer, Enum)
    issues = _names(reader, writer, loc)
    missing = [s for s in writer.symbols if s not in reader.symbol_set]
    if missing and reader.default is None:
        listed = ", ".join(sorted(missing, key=_utf16_order))  # Java prints a TreeSet
        issues.append(Issue(MISSING_ENUM_SYMBOLS, f"[{listed}]", (*loc, "symbols")))
    return issues


class _Ambiguous:
    pass


_AMBIGUOUS = _Ambiguous()


def _writer_field(writer: Record, reader_field: Field) -> Field | _Ambiguous | None:
    by_name = writer.fields_by_name
    direct = by_name.get(reader_field.name)
    if not reader_field.aliases:
        return direct
    matches = [direct] if direct is not None else []
    matches += [by_name[alias] for alias in reader_field.aliases if alias in by_name]
    if len(matches) > 1:
        return _AMBIGUOUS
    return matches[0] if matches else None


def _record(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(reader, Record) and isinstance(writer, Record)
    issues = _names(reader, writer, loc)
    for reader_field in reader.fields:
        writer_field = _writer_field(writer, reader_field)
        if writer_field is None:
            if reader_field.has_default:
                continue
            field_loc = (*loc, "fields", str(reader_field.pos))
            field_type = reader_field.type
            if isinstance(field_type, Enum) and field_type.default is not None:
                # Avro Java compares the enum with the writer record here (a TYPE_MISMATCH).
                issues += c.get(field_type, writer, (*field_loc, "type"))
            else:
                issues.append(
                    Issue(READER_FIELD_MISSING_DEFAULT_VALUE, reader_field.name, field_loc)
                )
        elif writer_field is _AMBIGUOUS:
            field_loc = (*loc, "fields", str(reader_field.pos))
            issues.append(Issue(AMBIGUOUS_READER_FIELD, reader_field.name, field_loc))
        else:
            assert isinstance(writer_field, Field)
            reader_type, writer_type = reader_field.type, writer_field.type
            if reader_type.kind == writer_type.kind and reader_type.kind in PRIMITIVE_KINDS:
                continue
            field_loc = (*loc, "fields", str(reader_field.pos), "type")
            issues += c.get(reader_type, writer_type, field_loc)
    return issues


def _union_union(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(writer, Union)
    issues: list[Issue] = []
    for index, branch in enumerate(writer.branches):
        if c.get(reader, branch, ()):
            message = f"reader union lacking writer type: {_upper(branch)}"
            issues.append(Issue(MISSING_UNION_BRANCH, message, (*loc, str(index))))
    return issues


def _writer_union(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(writer, Union)
    issues: list[Issue] = []
    for branch in writer.branches:
        issues += c.get(reader, branch, ())
    return issues


def _reader_union(c: _Checker, reader: Node, writer: Node, loc: tuple[str, ...]) -> list[Issue]:
    assert isinstance(reader, Union)
    for branch in reader.branches:
        if not c.get(branch, writer, ()):
            return _COMPATIBLE
    return [Issue(MISSING_UNION_BRANCH, f"reader union lacking writer type: {_upper(writer)}", loc)]


def _build_rules() -> dict[tuple[str, str], _Rule]:
    """The resolution table: (writer kind, reader kind) -> rule; missing pairs are mismatches."""
    rules: dict[tuple[str, str], _Rule] = {(kind, kind): _compatible for kind in PRIMITIVE_KINDS}
    rules.update(
        {
            # Promotions from the specification's "Schema Resolution".
            ("int", "long"): _compatible,
            ("int", "float"): _compatible,
            ("int", "double"): _compatible,
            ("long", "float"): _compatible,
            ("long", "double"): _compatible,
            ("float", "double"): _compatible,
            ("string", "bytes"): _compatible,
            ("bytes", "string"): _compatible,
            ("array", "array"): _array,
            ("map", "map"): _map,
            ("fixed", "fixed"): _fixed,
            ("enum", "enum"): _enum,
            ("record", "record"): _record,
            ("union", "union"): _union_union,
        }
    )
    for kind in PRIMITIVE_KINDS | COMPLEX_KINDS - {"union"}:
        rules[("union", kind)] = _writer_union
        rules[(kind, "union")] = _reader_union
    return rules


_RULES = _build_rules()


def check(reader: Node, writer: Node) -> list[Issue]:
    """Every incompatibility of reading data written with ``writer`` using ``reader``."""
    return list(_Checker().get(reader, writer, ()))
