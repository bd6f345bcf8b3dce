"""Impact analysis: what a proposed schema for a subject would break, and for whom.

Two questions, each answered with the registry's own compatibility rules:

- would the registry accept it? (``RegistryService.test_compatibility`` at the
  subject's configured level against its live versions);
- can the topics' current readers read data written with it? Consumer groups
  are taken to read with the subject's latest live version, so each group
  reading a topic that carries the subject is checked with the latest version
  as reader and the proposed schema as writer (a FORWARD check).

Topics carrying the subject come from the naming strategy (``<topic>-value``)
and the schema ids producers were seen using; groups from committed offsets.
Topics and groups the asking principal may not read are left out
(``Visibility``), as in lineage.
"""

from __future__ import annotations

from typing import Any

from catalog.errors import InvalidRequest, SubjectNotFound, UnprocessableSchema
from catalog.model import EVERYONE, Visibility
from catalog.service import CatalogService
from registry import errors as registry_errors
from registry.formats import get_format
from registry.service import LATEST, SchemaRequest

__all__ = ["analyse_impact"]


def analyse_impact(
    service: CatalogService,
    subject: str,
    request: SchemaRequest,
    visibility: Visibility = EVERYONE,
) -> dict[str, Any]:
    registry = service.registry
    try:
        latest = registry.get_version(subject, LATEST)
    except registry_errors.SubjectNotFound:
        raise SubjectNotFound(f"Subject {subject!r} has no live version") from None
    try:
        proposed = registry.schemas.prepare(request, normalize=False)
        result = registry.test_compatibility(subject, request)
    except registry_errors.InvalidSchema as exc:
        raise UnprocessableSchema(str(exc)) from None
    except registry_errors.InvalidRequest as exc:
        raise InvalidRequest(str(exc)) from None
    config = registry.get_config(subject, default_to_global=True)
    current = registry.schemas.parsed_by_id(latest.schema.schema_id)
    if proposed.schema_type != latest.schema.schema_type:
        reader_messages = [
            f"the schema type changes from {latest.schema.schema_type} to {proposed.schema_type}"
        ]
    else:
        found = get_format(proposed.schema_type).check_compatibility(
            current, proposed.parsed, reader_role="old", writer_role="new"
        )
        reader_messages = [item.description for item in found]
    readers_ok = not reader_messages
    topics = []
    for topic in service.topics_of_subject(subject, visibility):
        lineage = service.lineage(f"topic:{topic}", visibility)
        if not lineage["known"]:
            continue
        groups = [
            {
                "groupId": group["groupId"],
                "clientIds": group["clientIds"],
                "readsWithVersion": latest.version,
                "compatible": readers_ok,
                "messages": reader_messages,
            }
            for group in lineage["consumerGroups"]
        ]
        topics.append(
            {
                "name": topic,
                "consumerGroups": groups,
                "producers": [p["clientId"] for p in lineage["producers"]],
                "compatible": readers_ok,
            }
        )
    level = config.compatibility.value if config.compatibility is not None else None
    return {
        "subject": subject,
        "latestVersion": latest.version,
        "compatibilityLevel": level,
        "compatible": result.is_compatible and readers_ok,
        "registry": {"compatible": result.is_compatible, "messages": result.messages},
        "readers": {"compatible": readers_ok, "messages": reader_messages},
        "topics": topics,
    }
