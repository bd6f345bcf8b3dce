"""JSON Schema compatibility: the differences between a writer and a reader schema, Confluent's way.

The checker walks the writer (Confluent's "original") and the reader ("update")
side by side and records every ``Difference`` with Confluent's type name and a
path like ``#/properties/foo``. A difference is harmless when every instance valid
under the writer stays valid under the reader; ``COMPATIBLE_CHANGES`` lists those
types, and any other difference makes the pair incompatible. The rules and their
verdicts are tabulated in ``docs/compatibility.md`` (section "JSON Schema").
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from decimal import Decimal, InvalidOperation

from registry.formats.jsonschema_model import (
    ArraySchema,
    CombinedSchema,
    ConstSchema,
    EmptySchema,
    EnumSchema,
    FalseSchema,
    Node,
    NotSchema,
    NumberSchema,
    ObjectSchema,
    ReferenceSchema,
    StringSchema,
    json_key,
)

__all__ = [
    "COMPATIBLE_CHANGES",
    "Difference",
    "describe",
    "diff_schemas",
    "format_path",
    "is_compatible",
]

Difference = tuple[str, tuple[str, ...]]
"""A difference type and the path segments where it was found."""

# Confluent's SchemaDiff.COMPATIBLE_CHANGES, plus the contains/unevaluated changes that
# only widen what the reader accepts (see docs/decisions.md).
COMPATIBLE_CHANGES: frozenset[str] = frozenset(
    {
        "ID_CHANGED",
        "DESCRIPTION_CHANGED",
        "TITLE_CHANGED",
        "DEFAULT_CHANGED",
        "SCHEMA_REMOVED",
        "TYPE_EXTENDED",
        "MAX_LENGTH_INCREASED",
        "MAX_LENGTH_REMOVED",
        "MIN_LENGTH_DECREASED",
        "MIN_LENGTH_REMOVED",
        "PATTERN_REMOVED",
        "MAXIMUM_INCREASED",
        "MAXIMUM_REMOVED",
        "MINIMUM_DECREASED",
        "MINIMUM_REMOVED",
        "EXCLUSIVE_MAXIMUM_INCREASED",
        "EXCLUSIVE_MAXIMUM_REMOVED",
        "EXCLUSIVE_MINIMUM_DECREASED",
        "EXCLUSIVE_MINIMUM_REMOVED",
        "MULTIPLE_OF_REDUCED",
        "MULTIPLE_OF_REMOVED",
        "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED",
        "REQUIRED_ATTRIBUTE_REMOVED",
        "DEPENDENCY_ARRAY_NARROWED",
        "DEPENDENCY_ARRAY_REMOVED",
        "DEPENDENCY_SCHEMA_REMOVED",
        "MAX_PROPERTIES_INCREASED",
        "MAX_PROPERTIES_REMOVED",
        "MIN_PROPERTIES_DECREASED",
        "MIN_PROPERTIES_REMOVED",
        "ADDITIONAL_PROPERTIES_ADDED",
        "ADDITIONAL_PROPERTIES_EXTENDED",
        "PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL",
        "PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "UNEVALUATED_PROPERTIES_ADDED",
        "UNEVALUATED_PROPERTIES_EXTENDED",
        "MAX_ITEMS_INCREASED",
        "MAX_ITEMS_REMOVED",
        "MIN_ITEMS_DECREASED",
        "MIN_ITEMS_REMOVED",
        "MAX_CONTAINS_INCREASED",
        "MAX_CONTAINS_REMOVED",
        "MIN_CONTAINS_DECREASED",
        "MIN_CONTAINS_REMOVED",
        "UNIQUE_ITEMS_REMOVED",
        "ADDITIONAL_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_EXTENDED",
        "UNEVALUATED_ITEMS_ADDED",
        "UNEVALUATED_ITEMS_EXTENDED",
        "ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_TO_CLOSED_CONTENT_MODEL",
        "ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ENUM_ARRAY_EXTENDED",
        "COMBINED_TYPE_EXTENDED",
        "PRODUCT_TYPE_NARROWED",
        "SUM_TYPE_EXTENDED",
        "NOT_TYPE_NARROWED",
    }
)


def is_compatible(differences: Sequence[Difference]) -> bool:
    """True when every difference is one that keeps writer data valid for the reader."""
    return all(kind in COMPATIBLE_CHANGES for kind, _ in differences)


def diff_schemas(writer: Node, reader: Node) -> list[Difference]:
    """Every difference found walking ``writer`` (original) and ``reader`` (update) together."""
    return _Differ().diff(writer, reader)


def format_path(segments: tuple[str, ...]) -> str:
    """Confluent's path notation: ``#/`` then the segments joined by ``/`` (not escaped)."""
    return "#/" + "/".join(segments)


# -- descriptions, worded as Confluent's Difference.error() with reader/writer roles ------

_KEYWORD_ADDED_OR_REMOVED = frozenset(
    {
        "MAXIMUM_ADDED",
        "MINIMUM_ADDED",
        "EXCLUSIVE_MAXIMUM_ADDED",
        "EXCLUSIVE_MINIMUM_ADDED",
        "MULTIPLE_OF_ADDED",
        "MAX_LENGTH_ADDED",
        "MIN_LENGTH_ADDED",
        "PATTERN_ADDED",
        "REQUIRED_ATTRIBUTE_ADDED",
        "MAX_PROPERTIES_ADDED",
        "MIN_PROPERTIES_ADDED",
        "DEPENDENCY_ARRAY_ADDED",
        "DEPENDENCY_SCHEMA_ADDED",
        "MAX_ITEMS_ADDED",
        "MIN_ITEMS_ADDED",
        "MAX_CONTAINS_ADDED",
        "MIN_CONTAINS_ADDED",
        "UNIQUE_ITEMS_ADDED",
        "ADDITIONAL_ITEMS_REMOVED",
        "ADDITIONAL_PROPERTIES_REMOVED",
        "UNEVALUATED_PROPERTIES_REMOVED",
        "UNEVALUATED_ITEMS_REMOVED",
        "SCHEMA_ADDED",
    }
)
_VALUE_INCREASED = frozenset(
    {
        "MIN_LENGTH_INCREASED",
        "MINIMUM_INCREASED",
        "EXCLUSIVE_MINIMUM_INCREASED",
        "MIN_PROPERTIES_INCREASED",
        "MULTIPLE_OF_EXPANDED",
        "MIN_ITEMS_INCREASED",
        "MIN_CONTAINS_INCREASED",
    }
)
_VALUE_DECREASED = frozenset(
    {
        "MAX_LENGTH_DECREASED",
        "MAXIMUM_DECREASED",
        "MAX_ITEMS_DECREASED",
        "MAX_CONTAINS_DECREASED",
        "EXCLUSIVE_MAXIMUM_DECREASED",
        "MAX_PROPERTIES_DECREASED",
    }
)
_TYPE_NARROWED = frozenset(
    {
        "ADDITIONAL_ITEMS_NARROWED",
        "ENUM_ARRAY_NARROWED",
        "SUM_TYPE_NARROWED",
        "ADDITIONAL_PROPERTIES_NARROWED",
        "UNEVALUATED_PROPERTIES_NARROWED",
        "UNEVALUATED_ITEMS_NARROWED",
    }
)
_VALUE_CHANGED = frozenset({"PATTERN_CHANGED", "MULTIPLE_OF_CHANGED", "DEPENDENCY_ARRAY_CHANGED"})
_TYPE_EXTENDED = frozenset(
    {"DEPENDENCY_ARRAY_EXTENDED", "PRODUCT_TYPE_EXTENDED", "SUM_TYPE_EXTENDED", "NOT_TYPE_EXTENDED"}
)
_ADDED_TO_OPEN = frozenset(
    {"PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", "ITEM_ADDED_TO_OPEN_CONTENT_MODEL"}
)


def describe(kind: str, path: str) -> str:
    """A readable sentence for one difference (reader = new side, writer = old side)."""
    if kind in _KEYWORD_ADDED_OR_REMOVED:
        return (
            f"The keyword at path '{path}' in the reader schema is not present in the writer schema"
        )
    if kind in _VALUE_INCREASED:
        return f"The value at path '{path}' in the reader schema is more than its value in the writer schema"
    if kind in _VALUE_DECREASED:
        return f"The value at path '{path}' in the reader schema is less than its value in the writer schema"
    if kind in _VALUE_CHANGED:
        return f"The value at path '{path}' is different between the reader and writer schema"
    if kind in _TYPE_NARROWED:
        return (
            f"An array or combined type at path '{path}' has fewer elements in the reader "
            f"schema than the writer schema"
        )
    if kind in _TYPE_EXTENDED:
        return (
            f"An array or combined type at path '{path}' has more elements in the reader "
            f"schema than the writer schema"
        )
    if kind in _ADDED_TO_OPEN:
        return (
            f"The reader schema has an open content model and has a property or item at path "
            f"'{path}' which is missing in the writer schema"
        )
    if kind == "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL":
        return (
            f"The reader schema has an unopen content model and has a required property at "
            f"path '{path}' which is missing in the writer schema"
        )
    if kind in (
        "PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL",
        "ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL",
    ):
        return (
            f"The reader schema has a closed content model and is missing a property or item "
            f"present at path '{path}' in the writer schema"
        )
    if kind in (
        "PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ):
        return (
            f"A property or item is missing in the reader schema but present at path '{path}' "
            f"in the writer schema and is not covered by its partially open content model"
        )
    if kind in (
        "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
        "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL",
    ):
        return (
            f"The reader schema has a property or item at path '{path}' which is missing in the "
            f"writer schema and is not covered by its partially open content model"
        )
    # TYPE_CHANGED, TYPE_NARROWED, COMBINED_TYPE_CHANGED, ENUM_ARRAY_CHANGED, ...
    return f"A type at path '{path}' is different between the reader schema and the writer schema"


# -- the walk ------------------------------------------------------------------------


def _at(segment: str, differences: list[Difference]) -> list[Difference]:
    return [(kind, (segment, *path)) for kind, path in differences]


def _compare_limit(
    keyword: str,
    original: float | None,
    update: float | None,
    kinds: tuple[str, str, str, str],
) -> list[Difference]:
    """ADDED/REMOVED/INCREASED/DECREASED for a numeric keyword, in that order in ``kinds``."""
    added, removed, increased, decreased = kinds
    if original == update:
        return []
    if original is None:
        return [(added, (keyword,))]
    if update is None:
        return [(removed, (keyword,))]
    return [(increased if original < update else decreased, (keyword,))]


def _limit_kinds(name: str) -> tuple[str, str, str, str]:
    return (f"{name}_ADDED", f"{name}_REMOVED", f"{name}_INCREASED", f"{name}_DECREASED")


class _Differ:
    """One comparison: memoizes pairs and treats a pair met again while open as compatible."""

    def __init__(self) -> None:
        self._memo: dict[tuple[int, int], list[Difference]] = {}
        self._open: set[tuple[int, int]] = set()

    def diff(self, original: Node | None, update: Node | None) -> list[Difference]:
        if original is None and update is None:
            return []
        if original is None:
            return [("SCHEMA_ADDED", ())]
        if update is None:
            return [("SCHEMA_REMOVED", ())]
        original = _dereference(original)
        update = _dereference(update)
        pair = (id(original), id(update))
        if pair in self._memo:
            return self._memo[pair]
        if pair in self._open:
            return []  # recursive schema: assume the cycle compatible, as Confluent does
        self._open.add(pair)
        try:
            found = self._diff(original, update)
        finally:
            self._open.discard(pair)
        self._memo[pair] = found
        return found

    def _diff(self, original: Node, update: Node) -> list[Difference]:
        special = self._combined_against_single(original, update)
        if special is not None:
            return special
        if type(original) is not type(update):
            if isinstance(original, FalseSchema) or isinstance(update, EmptySchema):
                return []
            return [("TYPE_CHANGED", ())]
        found = _annotations(original, update)
        compare = _TYPE_RULES.get(type(original))
        if compare is not None:
            found += compare(self, original, update)
        return found

    def _combined_against_single(self, original: Node, update: Node) -> list[Difference] | None:
        """Confluent's special cases when exactly one side is a combined schema."""
        if not isinstance(original, CombinedSchema) and isinstance(update, CombinedSchema):
            if len(update.subschemas) == 1:
                found = self.diff(original, update.subschemas[0])
                if is_compatible(found):
                    return found
            elif update.criterion in ("anyOf", "oneOf"):
                for subschema in update.subschemas:
                    found = self.diff(original, subschema)
                    if is_compatible(found):
                        return [*found, ("SUM_TYPE_EXTENDED", ())]
        elif isinstance(original, CombinedSchema) and not isinstance(update, CombinedSchema):
            if len(original.subschemas) == 1:
                found = self.diff(original.subschemas[0], update)
                if is_compatible(found):
                    return found
            elif original.criterion == "allOf":
                for subschema in original.subschemas:
                    found = self.diff(subschema, update)
                    if is_compatible(found):
                        return [*found, ("PRODUCT_TYPE_NARROWED", ())]
        return None

    # -- per type ----------------------------------------------------------------

    def strings(self, original: StringSchema, update: StringSchema) -> list[Difference]:
        found = _compare_limit(
            "maxLength", original.max_length, update.max_length, _limit_kinds("MAX_LENGTH")
        )
        found += _compare_limit(
            "minLength", original.min_length, update.min_length, _limit_kinds("MIN_LENGTH")
        )
        if original.pattern is None and update.pattern is not None:
            found.append(("PATTERN_ADDED", ("pattern",)))
        elif original.pattern is not None and update.pattern is None:
            found.append(("PATTERN_REMOVED", ("pattern",)))
        elif original.pattern != update.pattern:
            found.append(("PATTERN_CHANGED", ("pattern",)))
        return found

    def numbers(self, original: NumberSchema, update: NumberSchema) -> list[Difference]:
        found = _compare_limit("maximum", original.maximum, update.maximum, _limit_kinds("MAXIMUM"))
        found += _compare_limit(
            "minimum", original.minimum, update.minimum, _limit_kinds("MINIMUM")
        )
        found += _compare_limit(
            "exclusiveMaximum",
            original.exclusive_maximum,
            update.exclusive_maximum,
            _limit_kinds("EXCLUSIVE_MAXIMUM"),
        )
        found += _compare_limit(
            "exclusiveMinimum",
            original.exclusive_minimum,
            update.exclusive_minimum,
            _limit_kinds("EXCLUSIVE_MINIMUM"),
        )
        found += _multiple_of(original.multiple_of, update.multiple_of)
        if original.requires_integer != update.requires_integer:
            found.append(("TYPE_EXTENDED" if original.requires_integer else "TYPE_NARROWED", ()))
        return found

    def enums(self, original: EnumSchema, update: EnumSchema) -> list[Difference]:
        before, after = original.value_keys(), update.value_keys()
        if before == after:
            return []
        if after >= before:
            return [("ENUM_ARRAY_EXTENDED", ("enum",))]
        if before >= after:
            return [("ENUM_ARRAY_NARROWED", ("enum",))]
        return [("ENUM_ARRAY_CHANGED", ("enum",))]

    def consts(self, original: ConstSchema, update: ConstSchema) -> list[Difference]:
        if json_key(original.value) == json_key(update.value):
            return []
        return [("ENUM_ARRAY_CHANGED", ("const",))]

    def nots(self, original: NotSchema, update: NotSchema) -> list[Difference]:
        # The reader may forbid less than the writer: compare the negated schemas reversed.
        reversed_found = self.diff(update.must_not_match, original.must_not_match)
        kind = "NOT_TYPE_NARROWED" if is_compatible(reversed_found) else "NOT_TYPE_EXTENDED"
        return [(kind, ("not",))]

    def combined(self, original: CombinedSchema, update: CombinedSchema) -> list[Difference]:
        found: list[Difference] = []
        criterion_change = _criterion_change(original, update)
        if criterion_change is not None:
            found.append((criterion_change, ()))
            if criterion_change == "COMBINED_TYPE_CHANGED":
                return found
        before = _distinct(original.subschemas)
        after = _distinct(update.subschemas)
        if len(before) != len(after):
            product = update.criterion == "allOf"
            if len(before) < len(after):
                found.append(("PRODUCT_TYPE_EXTENDED" if product else "SUM_TYPE_EXTENDED", ()))
            else:
                found.append(("PRODUCT_TYPE_NARROWED" if product else "SUM_TYPE_NARROWED", ()))
        edges: dict[tuple[int, int], list[Difference]] = {}
        for index, writer_sub in enumerate(before):
            for reader_index, reader_sub in enumerate(after):
                sub_found = self.diff(writer_sub, reader_sub)
                if is_compatible(sub_found):
                    edges[(index, reader_index)] = _at(
                        original.criterion, _at(str(index), sub_found)
                    )
        matching = _maximum_matching(len(before), len(after), edges.keys())
        for edge in sorted(matching):
            found += edges[edge]
        if len(matching) < min(len(before), len(after)):
            found.append(("COMBINED_TYPE_SUBSCHEMAS_CHANGED", ()))
        return found

    def objects(self, original: ObjectSchema, update: ObjectSchema) -> list[Difference]:
        found = self._required(original, update)
        found += self._properties(original, update)
        found += self._dependencies(original, update)
        found += self._additional_properties(original, update)
        found += self._unevaluated("PROPERTIES", original.unevaluated, update.unevaluated)
        found += _compare_limit(
            "maxProperties",
            original.max_properties,
            update.max_properties,
            _limit_kinds("MAX_PROPERTIES"),
        )
        found += _compare_limit(
            "minProperties",
            original.min_properties,
            update.min_properties,
            _limit_kinds("MIN_PROPERTIES"),
        )
        return found

    def _required(self, original: ObjectSchema, update: ObjectSchema) -> list[Difference]:
        found: list[Difference] = []
        for name in original.properties:
            if name not in update.properties:
                continue
            was_required = name in original.required
            is_required = name in update.required
            if was_required and not is_required:
                found.append(("REQUIRED_ATTRIBUTE_REMOVED", ("required", name)))
            elif is_required and not was_required:
                kind = (
                    "REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED"
                    if update.properties[name].has_default
                    else "REQUIRED_ATTRIBUTE_ADDED"
                )
                found.append((kind, ("required", name)))
        return found

    def _properties(self, original: ObjectSchema, update: ObjectSchema) -> list[Difference]:
        found: list[Difference] = []
        for name in sorted(original.properties.keys() | update.properties.keys()):
            writer_sub = original.properties.get(name)
            reader_sub = update.properties.get(name)
            if reader_sub is None:
                assert writer_sub is not None
                found += self._property_removed(name, writer_sub, update)
            elif writer_sub is None:
                found += self._property_added(name, reader_sub, original, update)
            else:
                found += _prefix(("properties", name), self.diff(writer_sub, reader_sub))
        return found

    def _property_removed(
        self, name: str, writer_sub: Node, update: ObjectSchema
    ) -> list[Difference]:
        open_model = _object_is_open(update)
        partial = None if open_model else _object_partial_schema(update, name)
        return self._member_removed(
            "PROPERTY", ("properties", name), writer_sub, open_model, partial
        )

    def _property_added(
        self, name: str, reader_sub: Node, original: ObjectSchema, update: ObjectSchema
    ) -> list[Difference]:
        where = ("properties", name)
        if _object_is_open(original):
            if isinstance(_dereference(reader_sub), EmptySchema):
                return [("PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", where)]
            return [("PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL", where)]
        found: list[Difference] = []
        partial = _object_partial_schema(original, name)
        if partial is not None:
            sub_found = self.diff(partial, reader_sub)
            kind = (
                "PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                if is_compatible(sub_found)
                else "PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            )
            found += [*_prefix(where, sub_found), (kind, where)]
        if name in update.required:
            kind = (
                "REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL"
                if reader_sub.has_default
                else "REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
            )
        else:
            kind = "OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL"
        found.append((kind, where))
        return found

    def _dependencies(self, original: ObjectSchema, update: ObjectSchema) -> list[Difference]:
        found: list[Difference] = []
        names = original.property_dependencies.keys() | update.property_dependencies.keys()
        for name in sorted(names):
            where = ("dependencies", name)
            before = original.property_dependencies.get(name)
            after = update.property_dependencies.get(name)
            if after is None:
                found.append(("DEPENDENCY_ARRAY_REMOVED", where))
            elif before is None:
                found.append(("DEPENDENCY_ARRAY_ADDED", where))
            elif set(before) != set(after):
                if set(after) >= set(before):
                    found.append(("DEPENDENCY_ARRAY_EXTENDED", where))
                elif set(before) >= set(after):
                    found.append(("DEPENDENCY_ARRAY_NARROWED", where))
                else:
                    found.append(("DEPENDENCY_ARRAY_CHANGED", where))
        names = original.schema_dependencies.keys() | update.schema_dependencies.keys()
        for name in sorted(names):
            where = ("dependencies", name)
            writer_sub = original.schema_dependencies.get(name)
            reader_sub = update.schema_dependencies.get(name)
            if reader_sub is None:
                found.append(("DEPENDENCY_SCHEMA_REMOVED", where))
            elif writer_sub is None:
                found.append(("DEPENDENCY_SCHEMA_ADDED", where))
            else:
                found += _prefix(where, self.diff(writer_sub, reader_sub))
        return found

    def _additional_properties(
        self, original: ObjectSchema, update: ObjectSchema
    ) -> list[Difference]:
        return self._additional(
            "ADDITIONAL_PROPERTIES",
            ("additionalProperties",),
            (original.permits_additional, update.permits_additional),
            (original.additional_schema, update.additional_schema),
        )

    def _additional(
        self,
        member: str,
        where: tuple[str, ...],
        permits: tuple[bool, bool],
        schemas: tuple[Node | None, Node | None],
    ) -> list[Difference]:
        """``additionalProperties``/``additionalItems``: (writer, reader) permission and schema."""
        if permits[0] != permits[1]:
            return [(f"{member}_ADDED" if permits[1] else f"{member}_REMOVED", where)]
        original_schema, update_schema = schemas
        if original_schema is None and update_schema is not None:
            return [(f"{member}_NARROWED", where)]
        if update_schema is None and original_schema is not None:
            return [(f"{member}_EXTENDED", where)]
        return _prefix(where, self.diff(original_schema, update_schema))

    def _unevaluated(
        self, what: str, original: Node | None, update: Node | None
    ) -> list[Difference]:
        """unevaluatedProperties/unevaluatedItems: absent or ``true`` accepts everything."""
        if original is None and update is None:
            return []
        where = ("unevaluatedProperties" if what == "PROPERTIES" else "unevaluatedItems",)
        prefix = f"UNEVALUATED_{what}"
        original = _dereference(original) if original is not None else None
        update = _dereference(update) if update is not None else None
        if original is None:
            removed = isinstance(update, FalseSchema)
            return [(f"{prefix}_REMOVED" if removed else f"{prefix}_NARROWED", where)]
        if update is None:
            added = isinstance(original, FalseSchema)
            return [(f"{prefix}_ADDED" if added else f"{prefix}_EXTENDED", where)]
        if isinstance(original, FalseSchema) and not isinstance(update, FalseSchema):
            return [(f"{prefix}_ADDED", where)]
        if not isinstance(original, FalseSchema) and isinstance(update, FalseSchema):
            return [(f"{prefix}_REMOVED", where)]
        if isinstance(original, EmptySchema) and not isinstance(update, EmptySchema):
            return [(f"{prefix}_NARROWED", where)]
        if not isinstance(original, EmptySchema) and isinstance(update, EmptySchema):
            return [(f"{prefix}_EXTENDED", where)]
        return _prefix(where, self.diff(original, update))

    def arrays(self, original: ArraySchema, update: ArraySchema) -> list[Difference]:
        found = _prefix(("items",), self.diff(original.all_items, update.all_items))
        found += self._tuple_items(original, update)
        found += self._additional_items(original, update)
        found += self._unevaluated("ITEMS", original.unevaluated_items, update.unevaluated_items)
        found += _compare_limit(
            "maxItems", original.max_items, update.max_items, _limit_kinds("MAX_ITEMS")
        )
        found += _compare_limit(
            "minItems", original.min_items, update.min_items, _limit_kinds("MIN_ITEMS")
        )
        if original.unique_items != update.unique_items:
            kind = "UNIQUE_ITEMS_REMOVED" if original.unique_items else "UNIQUE_ITEMS_ADDED"
            found.append((kind, ("uniqueItems",)))
        found += _compare_limit(
            "maxContains", original.max_contains, update.max_contains, _limit_kinds("MAX_CONTAINS")
        )
        found += _compare_limit(
            "minContains", original.min_contains, update.min_contains, _limit_kinds("MIN_CONTAINS")
        )
        return found

    def _tuple_items(self, original: ArraySchema, update: ArraySchema) -> list[Difference]:
        before = original.item_schemas or []
        after = update.item_schemas or []
        found: list[Difference] = []
        for index in range(max(len(before), len(after))):
            where = ("items", str(index))
            if index < len(before) and index < len(after):
                found += _prefix(where, self.diff(before[index], after[index]))
            elif index < len(before):
                found += self._item_removed(where, before[index], update)
            else:
                found += self._item_added(where, after[index], original)
        return found

    def _item_removed(
        self, where: tuple[str, ...], writer_sub: Node, update: ArraySchema
    ) -> list[Difference]:
        open_model = _array_is_open(update)
        partial = None if open_model else _array_partial_schema(update)
        return self._member_removed("ITEM", where, writer_sub, open_model, partial)

    def _member_removed(
        self,
        member: str,
        where: tuple[str, ...],
        writer_sub: Node,
        open_model: bool,
        partial: Node | None,
    ) -> list[Difference]:
        """A property or tuple item the writer has and the reader dropped (``member``: PROPERTY/ITEM)."""
        if open_model:
            return [(f"{member}_REMOVED_FROM_OPEN_CONTENT_MODEL", where)]
        if partial is not None:
            sub_found = self.diff(writer_sub, partial)
            coverage = "IS_COVERED" if is_compatible(sub_found) else "NOT_COVERED"
            kind = f"{member}_REMOVED_{coverage}_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            return [*_prefix(where, sub_found), (kind, where)]
        if isinstance(_dereference(writer_sub), FalseSchema):
            return [(f"{member}_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL", where)]
        return [(f"{member}_REMOVED_FROM_CLOSED_CONTENT_MODEL", where)]

    def _item_added(
        self, where: tuple[str, ...], reader_sub: Node, original: ArraySchema
    ) -> list[Difference]:
        if _array_is_open(original):
            if isinstance(_dereference(reader_sub), EmptySchema):
                return [("ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL", where)]
            return [("ITEM_ADDED_TO_OPEN_CONTENT_MODEL", where)]
        partial = _array_partial_schema(original)
        if partial is not None:
            sub_found = self.diff(partial, reader_sub)
            kind = (
                "ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
                if is_compatible(sub_found)
                else "ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL"
            )
            return [*_prefix(where, sub_found), (kind, where)]
        return [("ITEM_ADDED_TO_CLOSED_CONTENT_MODEL", where)]

    def _additional_items(self, original: ArraySchema, update: ArraySchema) -> list[Difference]:
        return self._additional(
            "ADDITIONAL_ITEMS",
            ("additionalItems",),
            (original.permits_additional_items, update.permits_additional_items),
            (original.additional_items_schema, update.additional_items_schema),
        )


_Rule = Callable[[_Differ, Node, Node], list[Difference]]

_TYPE_RULES: dict[type, _Rule] = {
    StringSchema: _Differ.strings,  # type: ignore[dict-item]
    NumberSchema: _Differ.numbers,  # type: ignore[dict-item]
    EnumSchema: _Differ.enums,  # type: ignore[dict-item]
    ConstSchema: _Differ.consts,  # type: ignore[dict-item]
    CombinedSchema: _Differ.combined,  # type: ignore[dict-item]
    NotSchema: _Differ.nots,  # type: ignore[dict-item]
    ObjectSchema: _Differ.objects,  # type: ignore[dict-item]
    ArraySchema: _Differ.arrays,  # type: ignore[dict-item]
}
"""Which comparison applies once both sides have the same node class."""


def _prefix(segments: tuple[str, ...], differences: list[Difference]) -> list[Difference]:
    return [(kind, (*segments, *path)) for kind, path in differences]


def _dereference(node: Node) -> Node:
    seen: set[int] = set()
    while isinstance(node, ReferenceSchema):
        if id(node) in seen:
            return EmptySchema(raw={})  # a $ref chain that only points at itself
        seen.add(id(node))
        node = node.target()
    return node


def _annotations(original: Node, update: Node) -> list[Difference]:
    found: list[Difference] = []
    for keyword, kind in (
        ("$id", "ID_CHANGED"),
        ("title", "TITLE_CHANGED"),
        ("description", "DESCRIPTION_CHANGED"),
    ):
        if original.meta.get(keyword) != update.meta.get(keyword):
            found.append((kind, ()))
    if (original.has_default, json_key(original.meta.get("default"))) != (
        update.has_default,
        json_key(update.meta.get("default")),
    ):
        found.append(("DEFAULT_CHANGED", ()))
    return found


def _multiple_of(original: float | None, update: float | None) -> list[Difference]:
    if original == update:
        return []
    if original is None:
        return [("MULTIPLE_OF_ADDED", ("multipleOf",))]
    if update is None:
        return [("MULTIPLE_OF_REMOVED", ("multipleOf",))]
    try:
        before, after = Decimal(str(original)), Decimal(str(update))
        if before and after % before == 0:
            return [("MULTIPLE_OF_EXPANDED", ("multipleOf",))]
        if after and before % after == 0:
            return [("MULTIPLE_OF_REDUCED", ("multipleOf",))]
    except InvalidOperation:
        pass
    return [("MULTIPLE_OF_CHANGED", ("multipleOf",))]


def _criterion_change(original: CombinedSchema, update: CombinedSchema) -> str | None:
    if original.criterion == update.criterion:
        return None
    if update.criterion == "anyOf":
        return "COMBINED_TYPE_EXTENDED"
    if update.criterion == "oneOf":
        return (
            "COMBINED_TYPE_EXTENDED" if len(original.subschemas) == 1 else "COMBINED_TYPE_CHANGED"
        )
    if len(original.subschemas) == 1 and len(update.subschemas) == 1:
        return "COMBINED_TYPE_EXTENDED"
    return "COMBINED_TYPE_CHANGED"


def _distinct(subschemas: list[Node]) -> list[Node]:
    by_key: dict[str, Node] = {}
    for subschema in subschemas:
        by_key.setdefault(subschema.key(), subschema)
    return list(by_key.values())


def _maximum_matching(left_size: int, right_size: int, edges: object) -> set[tuple[int, int]]:
    """Maximum bipartite matching (augmenting paths) over compatible subschema pairs."""
    adjacency: dict[int, list[int]] = {index: [] for index in range(left_size)}
    for left, right in edges:  # type: ignore[attr-defined]
        adjacency[left].append(right)
    matched_right: dict[int, int] = {}

    def augment(left: int, visited: set[int]) -> bool:
        for right in adjacency[left]:
            if right in visited:
                continue
            visited.add(right)
            if right not in matched_right or augment(matched_right[right], visited):
                matched_right[right] = left
                return True
        return False

    for left in range(left_size):
        augment(left, set())
    del right_size
    return {(left, right) for right, left in matched_right.items()}


def _object_is_open(schema: ObjectSchema) -> bool:
    return (
        not schema.pattern_properties
        and schema.additional_schema is None
        and schema.permits_additional
        and (
            schema.unevaluated is None or isinstance(_dereference(schema.unevaluated), EmptySchema)
        )
    )


def _object_partial_schema(schema: ObjectSchema, name: str) -> Node | None:
    """The schema a property not listed in ``properties`` must match, if any."""
    for pattern, subschema in schema.pattern_properties.items():
        try:
            if re.search(pattern, name):
                return subschema
        except re.error:
            continue  # an ECMA-only regex Python cannot compile: treat as not matching
    if schema.additional_schema is not None:
        return schema.additional_schema
    if schema.permits_additional and schema.unevaluated is not None:
        unevaluated = _dereference(schema.unevaluated)
        if not isinstance(unevaluated, FalseSchema | EmptySchema):
            return unevaluated
    return None


def _array_is_open(schema: ArraySchema) -> bool:
    if not schema.permits_additional_items or schema.additional_items_schema is not None:
        return False
    return schema.unevaluated_items is None or isinstance(
        _dereference(schema.unevaluated_items), EmptySchema
    )


def _array_partial_schema(schema: ArraySchema) -> Node | None:
    if schema.additional_items_schema is not None:
        return schema.additional_items_schema
    if schema.permits_additional_items and schema.unevaluated_items is not None:
        unevaluated = _dereference(schema.unevaluated_items)
        if not isinstance(unevaluated, FalseSchema | EmptySchema):
            return unevaluated
    return None
