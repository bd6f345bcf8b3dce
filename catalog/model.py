"""What the catalog knows, as plain values: entities, search queries and pages, lineage.

An entity is identified by its qualified name, ``<type>:<name>``:
``topic:orders``, ``subject:orders-value``, ``field:orders-value:customer.email``
(subject, then the dotted path), ``term:Customer`` (a glossary term). What a
schema says about an entity (its doc, tags, owner) and what people added
through the API (curation) are kept apart; an ``Entity`` shows both, merged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from governance.audit import AuditSink

__all__ = [
    "ENTITY_TYPES",
    "LABEL_KINDS",
    "AuditSink",
    "Entity",
    "EntityDoc",
    "LogEndSource",
    "SearchHit",
    "SearchPage",
    "SearchQuery",
    "TopicInfo",
    "TopicSource",
    "field_qualified_name",
]

ENTITY_TYPES = ("topic", "subject", "field", "term")
LABEL_KINDS = ("tag", "owner", "domain", "term")
"""Multi-valued labels an entity carries; searchable as filters and counted in facets."""


def field_qualified_name(subject: str, path: str) -> str:
    return f"field:{subject}:{path}"


@dataclasses.dataclass(frozen=True)
class EntityDoc:
    """One entity as derived from its source (a schema version, a topic row), before curation."""

    qualified_name: str
    type: str
    name: str
    description: str = ""
    labels: Mapping[str, Sequence[str]] = dataclasses.field(default_factory=dict)
    """Schema-derived labels by kind (``tag``, ``owner``, ``domain``)."""
    subject: str | None = None
    version: int | None = None
    path: str | None = None
    attrs: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    """What the entity page shows besides (field type, partitions, configs, schema id…)."""
    body: str = ""
    """More text to search (record names, namespaces, metadata properties)."""


@dataclasses.dataclass(frozen=True)
class Entity:
    """An entity as the API shows it: derived values and curated ones side by side."""

    qualified_name: str
    type: str
    name: str
    description: str
    schema_description: str
    curated_description: str | None
    tags: list[str]
    owners: list[str]
    domains: list[str]
    terms: list[str]
    schema_labels: dict[str, list[str]]
    curated_labels: dict[str, list[str]]
    subject: str | None
    version: int | None
    path: str | None
    attrs: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class SearchQuery:
    """A parsed search request; ``text`` is the user's text, searched as words only."""

    text: str = ""
    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    owners: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    limit: int = 20
    offset: int = 0
    facets: bool = True


@dataclasses.dataclass(frozen=True)
class SearchHit:
    entity_id: int
    score: float


@dataclasses.dataclass(frozen=True)
class SearchPage:
    total: int
    results: list[Entity]
    facets: dict[str, dict[str, int]]


@dataclasses.dataclass(frozen=True)
class TopicInfo:
    """A topic as the broker's tables hold it (read through ``TopicSource``)."""

    name: str
    partitions: int
    configs: Mapping[str, str] = dataclasses.field(default_factory=dict)
    is_internal: bool = False


class TopicSource(Protocol):
    """Where the catalog reads topics from; ``charter`` passes one in (the catalog never
    imports the broker)."""

    def topics(self) -> Sequence[TopicInfo]: ...


class LogEndSource(Protocol):
    """Where the catalog reads the broker's log-end offsets (for consumer lag); ``charter``
    passes one in."""

    def log_end_offsets(self, topic: str) -> Mapping[int, int]:
        """The last known log-end offset of each of ``topic``'s partitions, by index."""
        ...
