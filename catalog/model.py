"""What the catalog knows, as plain values: entities, search queries and pages, lineage.

An entity is identified by its qualified name, ``<type>:<name>``:
``topic:orders``, ``subject:orders-value``, ``field:orders-value:customer.email``
(subject, then the dotted path), ``term:Customer`` (a glossary term). What a
schema says about an entity (its doc, tags, owner) and what people added
through the API (curation) are kept apart; an ``Entity`` shows both, merged.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

from governance.audit import AuditSink

__all__ = [
    "ENTITY_TYPES",
    "EVERYONE",
    "EVERY_NAME",
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
    "Visibility",
    "VisibleNames",
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
class VisibleNames:
    """The names of one kind of resource (topics, subjects, groups) someone may read:
    ``everything``, or the ``literals`` and the names starting with one of ``prefixes``. The
    strings are data, never syntax: the index compares them as bound values."""

    everything: bool = False
    literals: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = ()

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (
            self.everything or name in self.literals or name.startswith(self.prefixes)
        )


EVERY_NAME = VisibleNames(everything=True)


@dataclasses.dataclass(frozen=True)
class Visibility:
    """What one principal may see in the catalog; ``charter`` builds it from the authorizer
    (the catalog does not ask governance itself).

    A topic entity is visible when its name is in ``topics``; a subject and its fields and
    versions when the subject is in ``subjects``; a consumer group (in lineage) when its id
    is in ``groups``; glossary terms always. ``exact`` False says the names are an upper
    bound (the authorizer has entries that take away, e.g. DENY): each candidate is then
    also asked of ``check(kind, name)`` (kind ``topic``, ``subject`` or ``group``).
    """

    topics: VisibleNames = EVERY_NAME
    subjects: VisibleNames = EVERY_NAME
    groups: VisibleNames = EVERY_NAME
    exact: bool = True
    check: Callable[[str, str], bool] | None = None

    @property
    def sees_everything(self) -> bool:
        """The fast path: nothing to filter (SystemAdmin, ``*`` bindings, auth off)."""
        return self.exact and all(
            names.everything for names in (self.topics, self.subjects, self.groups)
        )

    def may_read(self, kind: str, name: str) -> bool:
        """Whether the ``topic``, ``subject`` or ``group`` ``name`` is visible."""
        names = {"topic": self.topics, "subject": self.subjects, "group": self.groups}.get(kind)
        if names is None or name not in names:
            return False
        return self.exact or self.check is None or self.check(kind, name)

    def may_see(self, entity_type: str, name: str, subject: str | None) -> bool:
        """Whether an entity row (type, name, subject) is visible."""
        if entity_type == "topic":
            return self.may_read("topic", name)
        if entity_type in ("subject", "field"):
            return self.may_read("subject", subject or name)
        return True  # glossary terms belong to no resource


EVERYONE = Visibility()
"""What a principal sees when auth is off (and SystemAdmin always)."""


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
    visibility: Visibility = EVERYONE
    """Only entities this allows are matched, counted and faceted."""


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
