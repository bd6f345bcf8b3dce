"""What a schema says about itself: its description, tags, owner and every (nested) field.

Fields are listed with dotted paths through records, arrays, maps, unions and
references (``customer.email``, ``lines.sku``: arrays, maps and unions add no
segment of their own). Avro is read from the registry's parsed node graph
(``doc``, the ``confluent:tags`` attribute on fields and records); JSON Schema
from the document (``description``/``title``, ``confluent:tags``, ``properties``,
``items``, ``additionalProperties``, ``allOf``/``anyOf``/``oneOf``, ``$ref``
within the document and into references); Protobuf from the linked descriptors
(``registry.formats.protobuf_fields``: nested and imported messages through
repeated, map and oneof fields, leading comments, ``confluent.field_meta``).
All add the schema's metadata:
``metadata.tags`` (field path patterns, ``*`` one segment, ``**`` any) and
``metadata.properties`` (``owner``/``owner_email``, ``domain``, ``description``;
the rest is searchable text). Recursive types stop where they repeat.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from registry.formats.avro_model import Array, Map, Named, Node, Record, Union
from registry.formats.protobuf_fields import message_info, walk_fields

__all__ = [
    "FieldInfo",
    "SchemaSummary",
    "reference_texts",
    "summarize_avro",
    "summarize_json",
    "summarize_protobuf",
]

MAX_DEPTH = 12
"""Paths deeper than this are not listed (a schema may nest without end through maps of maps)."""

_OWNER_KEYS = ("owner", "owner_email", "ownerEmail", "owner.email")
_DOMAIN_KEYS = ("domain", "data.domain")


@dataclasses.dataclass
class FieldInfo:
    path: str
    name: str
    type_label: str
    description: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class SchemaSummary:
    """A schema's own description, labels, searchable extras and fields."""

    record_name: str = ""
    description: str = ""
    tags: list[str] = dataclasses.field(default_factory=list)
    owners: list[str] = dataclasses.field(default_factory=list)
    domains: list[str] = dataclasses.field(default_factory=list)
    properties: dict[str, str] = dataclasses.field(default_factory=dict)
    fields: list[FieldInfo] = dataclasses.field(default_factory=list)


def _tag_list(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(item) for item in value if isinstance(item, str | int | float)]
    return []


# -- Avro -----------------------------------------------------------------------------------


def summarize_avro(root: Node, metadata: Mapping[str, Any] | None) -> SchemaSummary:
    summary = SchemaSummary()
    if isinstance(root, Named):
        summary.record_name = root.fullname
        summary.description = root.doc or ""
        summary.tags = _tag_list(root.props.get("confluent:tags"))
    if isinstance(root, Record):
        _avro_record(root, "", (root.fullname,), summary.fields)
    _apply_metadata(summary, metadata)
    return summary


def _avro_record(record: Record, prefix: str, seen: tuple[str, ...], out: list[FieldInfo]) -> None:
    for field in record.fields:
        path = f"{prefix}{field.name}"
        doc = field.doc or ""
        if not doc and isinstance(field.type, Named):
            doc = field.type.doc or ""
        tags = _tag_list(field.props.get("confluent:tags"))
        out.append(FieldInfo(path, field.name, _avro_label(field.type), doc, tags))
        if len(seen) < MAX_DEPTH:
            for nested in _avro_records_in(field.type):
                if nested.fullname not in seen:
                    _avro_record(nested, path + ".", (*seen, nested.fullname), out)


def _avro_records_in(node: Node) -> Iterator[Record]:
    """The records a field's values are made of, through arrays, maps and unions."""
    if isinstance(node, Record):
        yield node
    elif isinstance(node, Array):
        yield from _avro_records_in(node.items)
    elif isinstance(node, Map):
        yield from _avro_records_in(node.values)
    elif isinstance(node, Union):
        for branch in node.branches:
            yield from _avro_records_in(branch)


def _avro_label(node: Node, depth: int = 0) -> str:
    if depth > 4:
        return "…"
    if isinstance(node, Named):
        return node.fullname
    if isinstance(node, Array):
        return f"array<{_avro_label(node.items, depth + 1)}>"
    if isinstance(node, Map):
        return f"map<{_avro_label(node.values, depth + 1)}>"
    if isinstance(node, Union):
        return " | ".join(_avro_label(branch, depth + 1) for branch in node.branches)
    logical = node.props.get("logicalType")
    return f"{node.kind} ({logical})" if isinstance(logical, str) else node.kind


# -- JSON Schema ------------------------------------------------------------------------------


def summarize_json(
    document: Any, references: Mapping[str, str], metadata: Mapping[str, Any] | None
) -> SchemaSummary:
    """``references``: reference name -> schema text (as resolved by the registry)."""
    summary = SchemaSummary()
    if isinstance(document, dict):
        summary.record_name = str(document.get("title") or "")
        summary.description = str(document.get("description") or document.get("title") or "")
        summary.tags = _tag_list(document.get("confluent:tags"))
        walker = _JsonWalker(document, references)
        walker.walk(document, document, "", 0, frozenset())
        summary.fields = list(walker.fields.values())
    _apply_metadata(summary, metadata)
    return summary


class _JsonWalker:
    def __init__(self, document: Any, references: Mapping[str, str]) -> None:
        self.document = document
        self.references = references
        self.loaded: dict[str, Any] = {}
        self.fields: dict[str, FieldInfo] = {}

    def resolve(self, ref: str, root: Any) -> tuple[Any, Any] | None:
        """The schema ``ref`` points at and the document it lives in (``None``: unknown)."""
        target, _, fragment = ref.partition("#")
        if target:
            text = self.references.get(target) or self.references.get(target.lstrip("./"))
            if text is None:
                return None
            if target not in self.loaded:
                try:
                    self.loaded[target] = json.loads(text)
                except ValueError:
                    return None
            root = self.loaded[target]
        node = root
        for part in [p for p in fragment.split("/") if p]:
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return None
        return node, root

    def walk(self, node: Any, root: Any, prefix: str, depth: int, refs: frozenset[str]) -> None:
        """List the properties reachable from ``node`` under ``prefix``."""
        if not isinstance(node, dict) or depth > MAX_DEPTH:
            return
        ref = node.get("$ref")
        if isinstance(ref, str):
            key = f"{id(root)}{ref}"
            resolved = self.resolve(ref, root)
            if resolved is not None and key not in refs:
                self.walk(resolved[0], resolved[1], prefix, depth, refs | {key})
        properties = node.get("properties")
        if isinstance(properties, dict):
            for name, prop in properties.items():
                self.add(str(name), prop, root, prefix, depth, refs)
        for keyword in ("items", "additionalProperties", "additionalItems", "contains"):
            self.walk(node.get(keyword), root, prefix, depth, refs)
        for keyword in ("prefixItems", "allOf", "anyOf", "oneOf"):
            members = node.get(keyword)
            if isinstance(members, list):
                for member in members:
                    self.walk(member, root, prefix, depth, refs)
        if isinstance(node.get("items"), list):  # draft-04..2019-09 tuple form
            for member in node["items"]:
                self.walk(member, root, prefix, depth, refs)

    def add(
        self, name: str, prop: Any, root: Any, prefix: str, depth: int, refs: frozenset[str]
    ) -> None:
        path = f"{prefix}{name}"
        described = prop
        if isinstance(prop, dict) and isinstance(prop.get("$ref"), str):
            resolved = self.resolve(prop["$ref"], root)
            if resolved is not None and isinstance(resolved[0], dict):
                described = {**resolved[0], **{k: v for k, v in prop.items() if k != "$ref"}}
        description = ""
        tags: list[str] = []
        if isinstance(described, dict):
            description = str(described.get("description") or described.get("title") or "")
            tags = _tag_list(described.get("confluent:tags"))
        existing = self.fields.get(path)
        if existing is None:
            self.fields[path] = FieldInfo(path, name, _json_label(described), description, tags)
        else:
            existing.description = existing.description or description
            existing.tags += [tag for tag in tags if tag not in existing.tags]
        self.walk(prop, root, path + ".", depth + 1, refs)


def _json_label(node: Any) -> str:
    if not isinstance(node, dict):
        return "any" if node is True or node is None else "never"
    declared = node.get("type")
    if isinstance(declared, list):
        label = " | ".join(str(item) for item in declared)
    elif isinstance(declared, str):
        label = declared
    elif "properties" in node:
        label = "object"
    elif "items" in node:
        label = "array"
    elif "enum" in node:
        label = "enum"
    else:
        label = "any"
    if label == "array" and isinstance(node.get("items"), dict):
        label = f"array<{_json_label(node['items'])}>"
    if isinstance(node.get("format"), str):
        label += f" ({node['format']})"
    return label


# -- Protobuf -------------------------------------------------------------------------------


def summarize_protobuf(parsed: Any, metadata: Mapping[str, Any] | None) -> SchemaSummary:
    """The first message (what Confluent names the schema after) and every field under it.

    Other top-level messages of the file follow, their fields under the message's
    name (``Refund.order_id``). Descriptions are leading comments, else the
    ``(confluent.field_meta).doc``; ``field_meta`` params are searchable
    (``key=value`` after the description); tags are ``field_meta`` tags.
    """
    summary = SchemaSummary()
    root = message_info(parsed)
    if root is None:
        _apply_metadata(summary, metadata)
        return summary
    summary.record_name = root.full_name
    summary.description = root.description
    summary.tags = list(root.tags)
    summary.fields = [_proto_field(field, "") for field in walk_fields(parsed)]
    package = parsed.linked.file.package
    for message in parsed.linked.file.message_type[1:]:
        full_name = f"{package}.{message.name}" if package else message.name
        summary.fields += [
            _proto_field(field, message.name + ".") for field in walk_fields(parsed, full_name)
        ]
    _apply_metadata(summary, metadata)
    return summary


def _proto_field(field: Any, prefix: str) -> FieldInfo:
    description = field.description
    if field.params:
        extra = " ".join(f"{key}={value}" for key, value in field.params)
        description = f"{description} ({extra})" if description else extra
    return FieldInfo(
        prefix + ".".join(field.path), field.name, field.type_label, description, list(field.tags)
    )


# -- metadata -------------------------------------------------------------------------------


def _path_pattern(pattern: str) -> re.Pattern[str]:
    regex = re.escape(pattern).replace(r"\*\*", ".*").replace(r"\*", "[^.]*")
    return re.compile(regex)


def _apply_metadata(summary: SchemaSummary, metadata: Mapping[str, Any] | None) -> None:
    if not isinstance(metadata, Mapping):
        return
    tags = metadata.get("tags")
    if isinstance(tags, Mapping):
        for pattern, values in tags.items():
            regex = _path_pattern(str(pattern))
            for field in summary.fields:
                qualified = f"{summary.record_name}.{field.path}"
                if regex.fullmatch(field.path) or regex.fullmatch(qualified):
                    field.tags += [tag for tag in _tag_list(values) if tag not in field.tags]
    properties = metadata.get("properties")
    if isinstance(properties, Mapping):
        for key, value in properties.items():
            text = str(value)
            if key in _OWNER_KEYS:
                summary.owners.append(text)
            elif key in _DOMAIN_KEYS:
                summary.domains.append(text)
            elif key in ("description", "doc") and not summary.description:
                summary.description = text
            else:
                summary.properties[str(key)] = text


def reference_texts(references: Sequence[Any]) -> dict[str, str]:
    """Reference name -> schema text, from the registry's resolved references."""
    return {ref.name: ref.schema_str for ref in references}
