"""What the web UI's pages show, computed without Flask: subject history and diffs, lineage
pictures. ``catalog.ui`` only renders these values.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
from typing import Any

from catalog.errors import EntityNotFound, InvalidRequest
from catalog.service import CatalogService
from registry import errors as registry_errors
from registry.service import LATEST

__all__ = [
    "DiffRow",
    "LineagePicture",
    "SubjectPage",
    "diff_versions",
    "lineage_picture",
    "subject_page",
    "topic_schemas",
]


@dataclasses.dataclass(frozen=True)
class SubjectPage:
    subject: str
    versions: list[int]
    latest: int
    schema_id: int
    schema_type: str
    schema_text: str
    compatibility: str | None
    mode: str | None
    rule_set: dict[str, Any] | None
    metadata: dict[str, Any] | None


def _pretty(schema_text: str) -> str:
    try:
        return json.dumps(json.loads(schema_text), indent=2, ensure_ascii=False)
    except ValueError:
        return schema_text  # Protobuf and other text formats


def subject_page(service: CatalogService, subject: str) -> SubjectPage:
    registry = service.registry
    try:
        versions = registry.list_versions(subject)
        latest = registry.get_version(subject, LATEST)
        config = registry.get_config(subject, default_to_global=True)
        mode = registry.get_mode(subject, default_to_global=True)
    except registry_errors.SubjectNotFound:
        raise EntityNotFound(f"Subject {subject!r} not found") from None
    return SubjectPage(
        subject=subject,
        versions=versions,
        latest=latest.version,
        schema_id=latest.schema.schema_id,
        schema_type=latest.schema.schema_type,
        schema_text=_pretty(latest.schema.schema_text),
        compatibility=config.compatibility.value if config.compatibility else None,
        mode=getattr(mode, "value", None),
        rule_set=latest.schema.rule_set,
        metadata=latest.schema.metadata,
    )


def topic_schemas(service: CatalogService, subjects: list[str]) -> list[SubjectPage]:
    """The current schema of each subject a topic carries (subjects deleted meanwhile are left
    out)."""
    pages = []
    for subject in subjects:
        try:
            pages.append(subject_page(service, subject))
        except EntityNotFound:
            continue
    return pages


@dataclasses.dataclass(frozen=True)
class DiffRow:
    """One line pair of a side-by-side diff; ``kind``: equal, replace, delete, insert, or
    skip (``left`` says how many unchanged lines are folded there)."""

    kind: str
    left_number: int | None
    left: str
    right_number: int | None
    right: str


def diff_versions(
    service: CatalogService, subject: str, left: int, right: int, *, context: int = 3
) -> list[DiffRow]:
    """Side by side, unchanged runs longer than ``2 * context`` lines folded."""
    registry = service.registry
    try:
        old = _pretty(registry.get_version(subject, left).schema.schema_text).splitlines()
        new = _pretty(registry.get_version(subject, right).schema.schema_text).splitlines()
    except (registry_errors.SubjectNotFound, registry_errors.VersionNotFound) as exc:
        raise InvalidRequest(str(exc)) from None
    rows: list[DiffRow] = []
    matcher = difflib.SequenceMatcher(a=old, b=new, autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        for offset in range(max(i2 - i1, j2 - j1)):
            i, j = i1 + offset, j1 + offset
            left_line = old[i] if i < i2 else None
            right_line = new[j] if j < j2 else None
            kind = tag
            if tag == "replace" and (left_line is None or right_line is None):
                kind = "delete" if right_line is None else "insert"
            rows.append(
                DiffRow(
                    kind,
                    i + 1 if left_line is not None else None,
                    left_line or "",
                    j + 1 if right_line is not None else None,
                    right_line or "",
                )
            )
    return _fold(rows, context)


def _fold(rows: list[DiffRow], context: int) -> list[DiffRow]:
    folded: list[DiffRow] = []
    start = 0
    while start < len(rows):
        end = start
        while end < len(rows) and rows[end].kind == "equal":
            end += 1
        run = end - start
        keep_head = context if start > 0 else 0
        keep_tail = context if end < len(rows) else 0
        if run > keep_head + keep_tail + 1:
            folded += rows[start : start + keep_head]
            hidden = run - keep_head - keep_tail
            folded.append(DiffRow("skip", None, f"{hidden} unchanged lines", None, ""))
            folded += rows[end - keep_tail : end]
        else:
            folded += rows[start:end]
        if end < len(rows):
            folded.append(rows[end])
        start = end + 1
    return folded


@dataclasses.dataclass(frozen=True)
class Node:
    x: int
    y: int
    label: str
    kind: str
    href: str | None = None


@dataclasses.dataclass(frozen=True)
class LineagePicture:
    """An SVG graph: producers (left) → topic (middle) → consumer groups (right)."""

    width: int
    height: int
    nodes: list[Node]
    edges: list[tuple[int, int, int, int]]
    description: str


_ROW = 56
_BOX_W, _BOX_H = 180, 36


def lineage_picture(topic: str, lineage: dict[str, Any]) -> LineagePicture:
    producers = [p["clientId"] or p["principal"] for p in lineage["producers"]]
    groups = [g["groupId"] for g in lineage["consumerGroups"]]
    rows = max(len(producers), len(groups), 1)
    height = rows * _ROW + 24
    middle_y = height // 2 - _BOX_H // 2
    columns = (10, 260, 510)
    topic_node = Node(columns[1], middle_y, topic, "topic")
    nodes = [topic_node]
    edges = []
    for index, name in enumerate(producers):
        y = 12 + index * _ROW
        nodes.append(Node(columns[0], y, name, "producer"))
        edges.append((columns[0] + _BOX_W, y + _BOX_H // 2, columns[1], middle_y + _BOX_H // 2))
    for index, name in enumerate(groups):
        y = 12 + index * _ROW
        nodes.append(Node(columns[2], y, name, "group"))
        edges.append((columns[1] + _BOX_W, middle_y + _BOX_H // 2, columns[2], y + _BOX_H // 2))
    description = (
        f"Topic {topic}: produced by {', '.join(producers) or 'no producer seen yet'}; "
        f"read by {', '.join(groups) or 'no consumer group seen yet'}."
    )
    return LineagePicture(columns[2] + _BOX_W + 10, height, nodes, edges, description)
