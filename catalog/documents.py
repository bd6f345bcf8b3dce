"""Turn sources into entity documents: a subject's latest version, a topic, a glossary term.

Pure functions of their inputs (no database): the indexer calls them with what
it read and writes what they return.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from catalog.extract import (
    SchemaSummary,
    reference_texts,
    summarize_avro,
    summarize_json,
    summarize_protobuf,
)
from catalog.model import EntityDoc, field_qualified_name

__all__ = ["subject_documents", "summarize", "term_document", "topic_document"]

log = logging.getLogger(__name__)


def summarize(schema_type: str, parsed: Any, metadata: Mapping[str, Any] | None) -> SchemaSummary:
    """What a parsed schema says about itself (Avro, JSON Schema, Protobuf)."""
    if parsed is None:
        return SchemaSummary()
    try:
        if schema_type == "AVRO":
            return summarize_avro(parsed.root, metadata)
        if schema_type == "JSON":
            return summarize_json(parsed.document, reference_texts(parsed.references), metadata)
        if schema_type == "PROTOBUF":
            return summarize_protobuf(parsed, metadata)
    except RecursionError:
        log.warning("schema too deeply nested to list its fields")
    return SchemaSummary()


def subject_documents(
    latest: Any, parsed: Any, *, versions: Sequence[int], compatibility: str | None
) -> list[EntityDoc]:
    """The subject and each of its fields, from ``latest`` (a ``RegisteredVersion``)."""
    stored = latest.schema
    summary = summarize(stored.schema_type, parsed, stored.metadata)
    subject = latest.subject
    labels = {"tag": summary.tags, "owner": summary.owners, "domain": summary.domains}
    properties = " ".join(f"{key} {value}" for key, value in summary.properties.items())
    topic = _topic_of(subject)
    docs = [
        EntityDoc(
            qualified_name=f"subject:{subject}",
            type="subject",
            name=subject,
            description=summary.description,
            labels=labels,
            subject=subject,
            version=latest.version,
            attrs={
                "schemaId": stored.schema_id,
                "schemaType": stored.schema_type,
                "recordName": summary.record_name,
                "versions": list(versions),
                "compatibility": compatibility,
                "fieldCount": len(summary.fields),
                "properties": summary.properties,
                "topic": topic,
            },
            body=f"{summary.record_name} {properties} {topic or ''}",
        )
    ]
    for field in summary.fields:
        docs.append(
            EntityDoc(
                qualified_name=field_qualified_name(subject, field.path),
                type="field",
                name=field.name,
                description=field.description,
                labels={"tag": field.tags, "owner": summary.owners, "domain": summary.domains},
                subject=subject,
                version=latest.version,
                path=field.path,
                attrs={"fieldType": field.type_label, "schemaId": stored.schema_id},
                body=f"{subject} {field.type_label}",
            )
        )
    return [_storable(doc) for doc in docs]


def _storable(doc: EntityDoc) -> EntityDoc:
    """``doc`` without NUL characters, which a registered schema may hold (a JSON Schema
    property name, a doc, a metadata property) but PostgreSQL text cannot."""

    def clean(text: str) -> str:
        return text.replace("\x00", "")

    return dataclasses.replace(
        doc,
        qualified_name=clean(doc.qualified_name),
        name=clean(doc.name),
        description=clean(doc.description),
        labels={kind: [clean(value) for value in values] for kind, values in doc.labels.items()},
        path=None if doc.path is None else clean(doc.path),
        body=clean(doc.body),
    )


def _topic_of(subject: str) -> str | None:
    """The topic a TopicNameStrategy subject names (``orders-value`` -> ``orders``)."""
    for suffix in ("-value", "-key"):
        if subject.endswith(suffix) and len(subject) > len(suffix):
            return subject[: -len(suffix)]
    return None


def topic_document(payload: Mapping[str, Any]) -> EntityDoc:
    """A topic from a broker event payload or a topic row (``name``, ``partitions``, ``configs``)."""
    name = str(payload["name"])
    configs = dict(payload.get("configs") or {})
    return EntityDoc(
        qualified_name=f"topic:{name}",
        type="topic",
        name=name,
        attrs={"partitions": payload.get("partitions"), "configs": configs},
        body=f"{name}-value {name}-key",
    )


def term_document(name: str, definition: str) -> EntityDoc:
    return EntityDoc(qualified_name=f"term:{name}", type="term", name=name, description=definition)
