"""The catalog's decisions: search, entity views, curated edits (audited) and lineage.

No Flask here: ``catalog.api`` and ``catalog.ui`` parse requests and format
answers around these methods. Curated values (tags, owners, domains, glossary
terms, a description) are stored apart from what schemas say
(``catalog_curation``) and merged into the entity and its index text on every
edit and every re-index.

With auth on, what each principal sees is narrowed by a ``Visibility`` that
``charter`` derives from the authorizer (``visibility_for``): search pushes it
into the index query, and the lists inside other answers (a glossary term's
entities, lineage, impact) leave out the topics, subjects and consumer groups
the principal may not read (omitted, not redacted: their names are what is
secret, and a count of hidden ones would leak too).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import peewee

from catalog.errors import EntityNotFound, InvalidRequest, StoreFailure
from catalog.indexer import Indexer
from catalog.lineage import LineageStore
from catalog.model import (
    ENTITY_TYPES,
    EVERYONE,
    AuditSink,
    Entity,
    LogEndSource,
    SearchPage,
    SearchQuery,
    Visibility,
)
from catalog.store import CatalogStore, EntityRow, write_transaction
from registry.errors import RegistryError
from registry.service import RegistryService

__all__ = ["EDITABLE_KINDS", "CatalogService"]

EDITABLE_KINDS = {"tags": "tag", "owners": "owner", "domains": "domain", "terms": "term"}
"""URL word -> label kind of the multi-valued curated labels."""

MAX_LABEL_LENGTH = 200
MAX_DESCRIPTION_LENGTH = 10_000


class CatalogService:
    def __init__(
        self,
        database: peewee.Database,
        registry: RegistryService,
        indexer: Indexer,
        *,
        audit: AuditSink,
        log_end: LogEndSource | None = None,
        visibility: Callable[[str], Visibility] | None = None,
    ) -> None:
        self.database = database
        self.visibility = visibility
        """Principal -> what it may see (None: everyone sees everything, as with auth off)."""
        self.log_end = log_end
        """Log-end offsets for consumer lag (None: lag is not known)."""
        self.registry = registry
        self.indexer = indexer
        self.store = CatalogStore(database)
        self.lineage_store = LineageStore(database)
        self.audit = audit

    # -- search and entities -------------------------------------------------------------

    def visibility_for(self, principal: str | None) -> Visibility:
        """What ``principal`` may see; everything when auth is off (no principal, no
        ``visibility``)."""
        if principal is None or self.visibility is None:
            return EVERYONE
        return self.visibility(principal)

    def search(self, query: SearchQuery) -> SearchPage:
        for entity_type in query.types:
            if entity_type not in ENTITY_TYPES:
                raise InvalidRequest(
                    f"Unknown type {entity_type!r}; known types: {', '.join(ENTITY_TYPES)}"
                )
        with _store_errors():
            total, hits, facets = self.indexer.index.search(query)
            rows = self.store.entities([hit.entity_id for hit in hits])
            ordered = [rows[hit.entity_id] for hit in hits if hit.entity_id in rows]
            results = self._entities(ordered)
        return SearchPage(total=total, results=results, facets=facets)

    def entity(self, qualified_name: str) -> Entity:
        with _store_errors():
            row = self.store.entity_by_name(qualified_name)
            if row is None:
                raise EntityNotFound(f"Entity {qualified_name!r} not found")
            return self._entities([row])[0]

    def fields_of(self, subject: str) -> list[Entity]:
        with _store_errors():
            rows = self.store.entities_where("subject = ? AND type = 'field'", (subject,), 5000)
            return sorted(self._entities(rows), key=lambda e: e.path or "")

    def tagged(self, kind: str, value: str, visibility: Visibility = EVERYONE) -> list[Entity]:
        """The entities labelled ``kind`` ``value`` that ``visibility`` lets be seen."""
        with _store_errors():
            rows = self.store.entities_with_label(kind, value)
            if not visibility.sees_everything:
                rows = [
                    row
                    for row in rows
                    if visibility.may_see(row["type"], row["name"], row["subject"])
                ]
            return self._entities(rows)

    def _entities(self, rows: Sequence[EntityRow]) -> list[Entity]:
        curated = self.store.curation_many([row["qualified_name"] for row in rows])
        return [_entity(row, curated.get(row["qualified_name"], [])) for row in rows]

    # -- curated edits -------------------------------------------------------------------

    def add_label(self, qualified_name: str, kind: str, value: str, *, actor: str) -> Entity:
        value = _label(value)
        with _store_errors(), write_transaction(self.database):
            self._require(qualified_name)
            added = self.store.add_curation(qualified_name, kind, value)
            self.indexer.refresh(qualified_name)
        if added:
            self._audit(actor, f"catalog.{kind}.add", qualified_name, {"value": value})
        return self.entity(qualified_name)

    def remove_label(self, qualified_name: str, kind: str, value: str, *, actor: str) -> Entity:
        with _store_errors(), write_transaction(self.database):
            self._require(qualified_name)
            removed = self.store.remove_curation(qualified_name, kind, value)
            if not removed:
                raise EntityNotFound(
                    f"{qualified_name!r} has no curated {kind} {value!r} (schema-derived values "
                    "are changed by registering a new schema version)"
                )
            self.indexer.refresh(qualified_name)
        self._audit(actor, f"catalog.{kind}.remove", qualified_name, {"value": value})
        return self.entity(qualified_name)

    def set_labels(
        self, qualified_name: str, kind: str, values: Sequence[str], *, actor: str
    ) -> Entity:
        """Replace the curated values of ``kind`` (schema-derived ones stay)."""
        cleaned = [_label(value) for value in values]
        with _store_errors(), write_transaction(self.database):
            self._require(qualified_name)
            self.store.remove_curation(qualified_name, kind)
            for value in cleaned:
                self.store.add_curation(qualified_name, kind, value)
            self.indexer.refresh(qualified_name)
        self._audit(actor, f"catalog.{kind}.set", qualified_name, {"values": cleaned})
        return self.entity(qualified_name)

    def set_description(self, qualified_name: str, text: str | None, *, actor: str) -> Entity:
        """Set (or with ``None``/empty, remove) the curated description."""
        if text is not None and len(text) > MAX_DESCRIPTION_LENGTH:
            raise InvalidRequest(f"description is longer than {MAX_DESCRIPTION_LENGTH} characters")
        if text is not None and "\x00" in text:
            raise InvalidRequest("description must not contain NUL characters")
        with _store_errors(), write_transaction(self.database):
            self._require(qualified_name)
            self.store.remove_curation(qualified_name, "description")
            if text and text.strip():
                self.store.add_curation(qualified_name, "description", text.strip())
            self.indexer.refresh(qualified_name)
        self._audit(actor, "catalog.description.set", qualified_name, {"description": text or None})
        return self.entity(qualified_name)

    def _audit(self, actor: str, action: str, resource: str, detail: dict[str, Any]) -> None:
        """Record a done edit (outcome ``success``); the detail as compact JSON."""
        text = json.dumps(detail, sort_keys=True, ensure_ascii=False) if detail else ""
        self.audit.record(actor, action, resource, "success", text)

    def _require(self, qualified_name: str) -> None:
        if self.store.entity_id(qualified_name) is None:
            raise EntityNotFound(f"Entity {qualified_name!r} not found")

    # -- glossary ------------------------------------------------------------------------

    def terms(self) -> list[dict[str, str]]:
        with _store_errors():
            return [{"name": name, "definition": text} for name, text in self.store.terms()]

    def put_term(self, name: str, definition: str, *, actor: str) -> dict[str, str]:
        name = _label(name)
        if len(definition) > MAX_DESCRIPTION_LENGTH or "\x00" in definition:
            raise InvalidRequest(
                f"definition must be at most {MAX_DESCRIPTION_LENGTH} characters, without NUL"
            )
        with _store_errors(), write_transaction(self.database):
            self.store.put_term(name, definition)
            self.indexer.put_term(name, definition)
        self._audit(actor, "catalog.term.put", f"term:{name}", {"definition": definition})
        return {"name": name, "definition": definition}

    def delete_term(self, name: str, *, actor: str) -> None:
        with _store_errors(), write_transaction(self.database):
            if not self.store.delete_term(name):
                raise EntityNotFound(f"Glossary term {name!r} not found")
            self.indexer.remove_entity(f"term:{name}")
        self._audit(actor, "catalog.term.delete", f"term:{name}", {})

    # -- lineage -------------------------------------------------------------------------

    def lineage(self, entity: str, visibility: Visibility = EVERYONE) -> dict[str, Any]:
        """Producers, consumer groups, subjects and topics around ``entity``; the topics,
        subjects and groups ``visibility`` hides are left out of the lists."""
        entity_type, _, name = entity.partition(":")
        if entity_type not in ("topic", "subject", "group") or not name:
            raise InvalidRequest(
                "entity must be topic:<name>, subject:<name> or group:<id>; got " + repr(entity)
            )
        with _store_errors():
            if entity_type == "topic":
                return self._topic_lineage(name, visibility)
            if entity_type == "subject":
                return self._subject_lineage(name, visibility)
            return self._group_lineage(name, visibility)

    def _topic_lineage(self, topic: str, visibility: Visibility = EVERYONE) -> dict[str, Any]:
        producers = self.lineage_store.producers(topic)
        subjects = {
            s for s in (f"{topic}-key", f"{topic}-value") if self.store.entity_id(f"subject:{s}")
        }
        for producer in producers:
            for schema_id in producer["schemaIds"]:
                subjects.update(self._subjects_of_schema(schema_id))
        groups = self._with_lag(self.lineage_store.group_topics(topic=topic))
        known = bool(producers or groups or subjects or self.store.entity_id(f"topic:{topic}"))
        if not visibility.sees_everything:
            subjects = {s for s in subjects if visibility.may_read("subject", s)}
            groups = [g for g in groups if visibility.may_read("group", g["groupId"])]
        return {
            "entity": f"topic:{topic}",
            "known": known,
            "producers": producers,
            "consumerGroups": groups,
            "subjects": sorted(subjects),
        }

    def topics_of_subject(self, subject: str, visibility: Visibility = EVERYONE) -> list[str]:
        """Topics carrying ``subject``: by TopicNameStrategy, and where producers used its ids
        (those ``visibility`` lets be seen)."""
        topics: set[str] = set()
        for suffix in ("-value", "-key"):
            if subject.endswith(suffix) and len(subject) > len(suffix):
                topics.add(subject[: -len(suffix)])
        schema_ids = self._schema_ids_of(subject)
        for producer in self.lineage_store.producers():
            if schema_ids & set(producer["schemaIds"]):
                topics.add(producer["topic"])
        return sorted(t for t in topics if visibility.may_read("topic", t))

    def _subject_lineage(self, subject: str, visibility: Visibility) -> dict[str, Any]:
        topics = self.topics_of_subject(subject, visibility)
        return {
            "entity": f"subject:{subject}",
            "known": self.store.entity_id(f"subject:{subject}") is not None,
            "topics": [self._topic_lineage(topic, visibility) for topic in topics],
        }

    def _group_lineage(self, group_id: str, visibility: Visibility) -> dict[str, Any]:
        group = self.lineage_store.group(group_id)
        topics = self.lineage_store.group_topics(group_id=group_id)
        if not visibility.sees_everything:
            topics = [t for t in topics if visibility.may_read("topic", t["topic"])]
        return {
            "entity": f"group:{group_id}",
            "known": group is not None,
            "group": group,
            "topics": self._with_lag(topics),
        }

    def _with_lag(self, group_topics: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each committed offset with its partition's log-end offset and the lag (log end -
        committed, never below 0); ``lag`` of a group on a topic is the sum, None when a
        partition's log end is not known."""
        ends: dict[str, Mapping[int, int]] = {}
        for item in group_topics:
            topic = item["topic"]
            if topic not in ends:
                ends[topic] = self.log_end.log_end_offsets(topic) if self.log_end else {}
            total: int | None = 0
            for offset in item["offsets"]:
                end = ends[topic].get(offset["partition"])
                offset["logEndOffset"] = end
                offset["lag"] = None if end is None else max(end - offset["offset"], 0)
                total = None if total is None or offset["lag"] is None else total + offset["lag"]
            item["lag"] = total
        return group_topics

    def _subjects_of_schema(self, schema_id: int) -> list[str]:
        try:
            return self.registry.schema_subjects(schema_id)
        except RegistryError:
            return []

    def _schema_ids_of(self, subject: str) -> set[int]:
        try:
            versions = self.registry.list_schemas(subject_prefix=subject)
        except RegistryError:
            return set()
        return {v.schema.schema_id for v in versions if v.subject == subject}


def _label(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidRequest("a value must be a non-empty string")
    value = value.strip()
    if any(ord(char) < 32 for char in value):
        raise InvalidRequest("a value must not contain control characters")
    if len(value) > MAX_LABEL_LENGTH:
        raise InvalidRequest(f"a value is longer than {MAX_LABEL_LENGTH} characters")
    return value


def _entity(row: EntityRow, curated: Sequence[tuple[str, str]]) -> Entity:
    curated_labels: dict[str, list[str]] = {}
    curated_description = None
    for kind, value in curated:
        if kind == "description":
            curated_description = value
        else:
            curated_labels.setdefault(kind, []).append(value)
    merged = row["label_values"]
    return Entity(
        qualified_name=row["qualified_name"],
        type=row["type"],
        name=row["name"],
        description=curated_description or row["description"],
        schema_description=row["description"],
        curated_description=curated_description,
        tags=merged.get("tag", []),
        owners=merged.get("owner", []),
        domains=merged.get("domain", []),
        terms=merged.get("term", []),
        schema_labels=row["labels"],
        curated_labels=curated_labels,
        subject=row["subject"],
        version=row["version"],
        path=row["path"],
        attrs=row["attrs"],
    )


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    """Database failures leave as ``StoreFailure`` (a clear 500 body, no stack trace)."""
    try:
        yield
    except peewee.PeeweeException as error:
        raise StoreFailure(f"Error in the catalog's data store: {error}") from error
