"""Keep the catalog's entities and full-text index in step with the registry and the broker.

The indexer is a durable subscriber of the outboxes (``charter.events``): each
event is applied in one catalog write transaction together with the new
position in that outbox (``catalog_position``), so an event is applied once
even when several HTTP workers follow the same outbox, and a restarted process
resumes where the catalog stopped. A catalog that has no position yet (first
start on an existing database) rebuilds itself from the database first, as
``charter catalog reindex`` does. Handlers re-read the current state (a
subject's latest live version, a topic's row in the event), so applying an
event twice or late is harmless.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import peewee

from catalog import lineage
from catalog.documents import subject_documents, term_document, topic_document
from catalog.index import IndexRow, SearchIndex, index_for
from catalog.model import EntityDoc, TopicSource
from catalog.store import CatalogStore, write_transaction
from catalog.text import index_text
from registry.errors import RegistryError, SubjectNotFound
from registry.outbox import Event, Outbox
from registry.service import LATEST, RegistryService

__all__ = ["Indexer"]

log = logging.getLogger(__name__)

_SUBJECT_EVENTS = frozenset({"schema_registered", "version_deleted", "subject_deleted"})
_TOPIC_EVENTS = frozenset({"topic_created", "topic_config_changed", "partitions_added"})


class Indexer:
    """Applies outbox events to the catalog; ``reindex()`` rebuilds it from the database."""

    def __init__(
        self,
        database: peewee.Database,
        registry: RegistryService,
        topics: TopicSource,
        outboxes: Sequence[Outbox],
        *,
        index: SearchIndex | None = None,
    ) -> None:
        self.database = database
        self.registry = registry
        self.topics = topics
        self.outboxes = list(outboxes)
        self.store = CatalogStore(database)
        self.lineage = lineage.LineageStore(database)
        self.index = index or index_for(database)

    # -- following the outboxes ----------------------------------------------------------

    def position(self, outbox: str) -> int:
        """Where to resume in ``outbox``; rebuilds the catalog first if it never indexed.

        Checked and rebuilt under the catalog's lock, so workers starting together
        over a fresh catalog rebuild it once.
        """
        with write_transaction(self.database):
            stored = self.store.position(outbox)
            if stored is None:
                self.reindex()
                stored = self.store.position(outbox)
        return stored or 0

    def apply(self, event: Event) -> None:
        """Apply ``event`` unless the catalog already has (checked under the catalog's lock)."""
        with write_transaction(self.database):
            if (self.store.position(event.source) or 0) >= event.seq:
                return
            self._handle(event)
            self.store.set_position(event.source, event.seq)

    def catch_up(self) -> int:
        """Apply every event not yet applied, now, in this thread; returns how many were read."""
        applied = 0
        for outbox in self.outboxes:
            position = self.position(outbox.table)
            while events := outbox.events_since(position, 500):
                for event in events:
                    self.apply(event)
                position = events[-1].seq
                applied += len(events)
        return applied

    def _handle(self, event: Event) -> None:
        payload = event.payload
        if event.name in _SUBJECT_EVENTS or (
            event.name == "config_changed" and payload.get("subject")
        ):
            self.index_subject(str(payload["subject"]))
        elif event.name in _TOPIC_EVENTS:
            if not payload.get("is_internal"):
                self._write_docs([topic_document(payload)])
        elif event.name == "topic_deleted":
            self._remove(self.store.entity_id(f"topic:{payload['name']}"))
        else:
            lineage.apply_event(self.lineage, event)

    # -- subjects, topics, terms ---------------------------------------------------------

    def index_subject(self, subject: str) -> None:
        """Re-derive ``subject`` and its fields from its latest live version (none: remove)."""
        old_ids = set(self.store.entity_ids_of_subject(subject))
        try:
            latest = self.registry.get_version(subject, LATEST)
        except SubjectNotFound:
            latest = None
        docs: list[EntityDoc] = []
        if latest is not None:
            docs = self._subject_docs(latest)
        written = self._write_docs(docs)
        self._remove_many(sorted(old_ids - set(written)))

    def _subject_docs(self, latest: Any) -> list[EntityDoc]:
        try:
            parsed = self.registry.schemas.parsed_by_id(latest.schema.schema_id)
        except RegistryError as exc:  # listed without fields rather than blocking the indexer
            log.warning("catalog: cannot parse %s v%d: %s", latest.subject, latest.version, exc)
            parsed = None
        config = self.registry.get_config(latest.subject, default_to_global=True)
        versions = self.registry.list_versions(latest.subject)
        level = config.compatibility.value if config.compatibility is not None else None
        return subject_documents(latest, parsed, versions=versions, compatibility=level)

    def put_term(self, name: str, definition: str) -> None:
        self._write_docs([term_document(name, definition)])

    def refresh(self, qualified_name: str) -> None:
        """Re-merge an entity's curation into its labels and index text (after an edit)."""
        row = self.store.entity_by_name(qualified_name)
        if row is not None:
            self._write_docs([self.store.doc_of(row)])

    # -- writing -------------------------------------------------------------------------

    def _write_docs(
        self,
        docs: Iterable[EntityDoc],
        curation: Callable[[str], list[tuple[str, str]]] | None = None,
        *,
        fresh: bool = False,
    ) -> list[int]:
        """Write entities, their labels and index rows; ``curation`` looks up curated values
        (default: one query for all of ``docs``); ``fresh``: after ``delete_all_entities``."""
        docs = list(docs)
        if curation is None:
            curated_map = self.store.curation_many([doc.qualified_name for doc in docs])
            curation = lambda name: curated_map.get(name, [])  # noqa: E731
        ids = [self.store.upsert_entity(doc) for doc in docs]
        curated_of = [curation(doc.qualified_name) for doc in docs]
        labels_of = self.store.replace_labels(
            [(i, doc.labels, c) for i, doc, c in zip(ids, docs, curated_of, strict=True)],
            fresh=fresh,
        )
        rows: list[IndexRow] = []
        for entity_id, doc, curated, labels in zip(ids, docs, curated_of, labels_of, strict=True):
            curated_description = " ".join(v for kind, v in curated if kind == "description")
            label_text = " ".join(v for values in labels.values() for v in values)
            qualified = doc.path or doc.qualified_name.partition(":")[2]
            rows.append(
                IndexRow(
                    entity_id,
                    name=index_text(doc.name),
                    qualified=index_text(qualified),
                    tags=index_text(label_text),
                    description=index_text(doc.description, curated_description),
                    body=index_text(doc.body),
                )
            )
        self.index.write(rows)
        return ids

    def remove_entity(self, qualified_name: str) -> None:
        self._remove(self.store.entity_id(qualified_name))

    def _remove(self, entity_id: int | None) -> None:
        if entity_id is not None:
            self._remove_many([entity_id])

    def _remove_many(self, entity_ids: Sequence[int]) -> None:
        if entity_ids:
            self.index.remove(entity_ids)
            self.store.delete_entities(entity_ids)

    # -- rebuilding ----------------------------------------------------------------------

    def reindex(self) -> int:
        """Rebuild every entity and the full-text index from the database; returns the count.

        Runs in one catalog transaction: searches see the old index until it commits.
        The positions move to the newest event of each outbox read under the same lock.
        """
        with write_transaction(self.database):
            latest = {outbox.table: outbox.latest_seq() for outbox in self.outboxes}
            self.index.clear()
            self.store.delete_all_entities()
            curated = self.store.all_curation()
            lookup = lambda name: curated.get(name, [])  # noqa: E731
            count = 0
            for version in self.registry.list_schemas(latest_only=True):
                count += len(self._write_docs(self._subject_docs(version), lookup, fresh=True))
            topic_docs = [
                topic_document(
                    {"name": t.name, "partitions": t.partitions, "configs": dict(t.configs)}
                )
                for t in self.topics.topics()
                if not t.is_internal
            ]
            count += len(self._write_docs(topic_docs, lookup, fresh=True))
            terms = [term_document(name, text) for name, text in self.store.terms()]
            count += len(self._write_docs(terms, lookup, fresh=True))
            for table, seq in latest.items():
                self.store.set_position(table, seq)
            self.index.rebuilt()
        log.info("catalog reindexed: %d entities", count)
        return count
