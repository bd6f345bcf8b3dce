"""Which HTTP route needs which permission: one table, keyed by Flask endpoint.

A rule is ``Need(action, kind, arg)``: the principal needs ``action`` on the
resource of type ``kind`` named by the view argument ``arg``; ``arg`` ``None``
means "on some resource of that kind" (reading a schema by id, as Confluent
lets anyone who can read some subject do), ``AUTHENTICATED`` means any
authenticated principal, ``PUBLIC`` no credentials at all. An endpoint not in
the table needs authentication for GET/HEAD and ``manage`` on the cluster for
anything else (fail closed for routes added later). ``EntityNeed`` is the
catalog's: the resource is the topic or subject a catalog entity name points to.
"""

from __future__ import annotations

import dataclasses

from governance.security.model import Action, ResourceType

__all__ = [
    "AUTHENTICATED",
    "FILTERED_LISTS",
    "LOGIN_ENDPOINT",
    "PUBLIC",
    "ROUTE_NEEDS",
    "WEB_UI_PREFIX",
    "EntityNeed",
    "Need",
    "entity_resource",
    "need_for",
]


@dataclasses.dataclass(frozen=True, slots=True)
class Need:
    action: Action
    kind: ResourceType
    arg: str | None = "subject"
    query: bool = False
    """``arg`` names a query-string argument instead of a view argument."""


@dataclasses.dataclass(frozen=True, slots=True)
class EntityNeed:
    """``action`` on the resource a catalog entity name (``topic:orders``,
    ``field:orders-value:customer.email``…) in argument ``arg`` points to (``entity_resource``)."""

    action: Action
    arg: str
    query: bool = False


def entity_resource(qualified_name: str) -> tuple[ResourceType, str | None]:
    """The resource behind a catalog entity: a topic, a subject (fields are their subject's), a
    group; ``None`` as the name (glossary terms, malformed names) means "some subject"."""
    kind, _, name = qualified_name.partition(":")
    if kind == "topic" and name:
        return ResourceType.TOPIC, name
    if kind == "subject" and name:
        return ResourceType.SUBJECT, name
    if kind == "field" and name:
        return ResourceType.SUBJECT, name.partition(":")[0]
    if kind == "group" and name:
        return ResourceType.GROUP, name
    return ResourceType.SUBJECT, None


AUTHENTICATED = "authenticated"
PUBLIC = "public"

_S = ResourceType.SUBJECT
_C = ResourceType.CLUSTER
_READ_SUBJECT = Need(Action.READ, _S)
_READ_SOME_SUBJECT = Need(Action.READ, _S, None)
_MANAGE = Need(Action.MANAGE, _C, None)
_ADMINISTER = Need(Action.ADMINISTER, _C, None)  # users, keys, bindings: SystemAdmin only
_T = ResourceType.TOPIC
_READ_ENTITY = EntityNeed(Action.READ, "qualified_name")
_DESCRIBE_CLUSTER = Need(Action.DESCRIBE, _C, None)  # policies, the audit log

WEB_UI_PREFIX = "catalog_ui."
"""Endpoints of the web UI: a login session cookie authenticates them (and only them)."""
LOGIN_ENDPOINT = "catalog_ui.login"

ROUTE_NEEDS: dict[str, Need | EntityNeed | str] = {
    "health.health": PUBLIC,
    "registry.root": AUTHENTICATED,
    "registry.server_metadata": AUTHENTICATED,
    "registry.schema_types": AUTHENTICATED,
    "registry.contexts": AUTHENTICATED,
    "registry.schema_by_id": _READ_SOME_SUBJECT,
    "registry.schema_text_by_id": _READ_SOME_SUBJECT,
    "registry.schema_versions": _READ_SOME_SUBJECT,
    "registry.schema_subjects": _READ_SOME_SUBJECT,
    "registry.list_schemas": _READ_SOME_SUBJECT,
    "registry.list_subjects": AUTHENTICATED,  # answered filtered to readable subjects
    "registry.register": Need(Action.WRITE, _S),
    "registry.lookup": _READ_SUBJECT,
    "registry.list_versions": _READ_SUBJECT,
    "registry.get_version": _READ_SUBJECT,
    "registry.get_version_schema": _READ_SUBJECT,
    "registry.referenced_by": _READ_SUBJECT,
    "registry.latest_with_metadata": _READ_SUBJECT,
    "registry.compatibility_all": _READ_SUBJECT,
    "registry.compatibility_version": _READ_SUBJECT,
    "registry.delete_version": Need(Action.DELETE, _S),
    "registry.delete_subject": Need(Action.DELETE, _S),
    "registry.get_global_config": AUTHENTICATED,  # serializers read it for defaults
    "registry.put_global_config": Need(Action.ALTER, _C, None),
    "registry.delete_global_config": Need(Action.ALTER, _C, None),
    "registry.get_subject_config": _READ_SUBJECT,
    "registry.put_subject_config": Need(Action.ALTER, _S),
    "registry.delete_subject_config": Need(Action.ALTER, _S),
    "registry.get_global_mode": AUTHENTICATED,
    "registry.put_global_mode": Need(Action.ALTER, _C, None),
    "registry.delete_global_mode": Need(Action.ALTER, _C, None),
    "registry.get_subject_mode": _READ_SUBJECT,
    "registry.put_subject_mode": Need(Action.ALTER, _S),
    "registry.delete_subject_mode": Need(Action.ALTER, _S),
    # /dek-registry/v1: a producer writing a subject registers its DEKs; readers of the
    # subject read them. Creating a KEK (it names a KMS key) stays with the cluster's managers.
    "dek_registry.create_subject_dek": Need(Action.WRITE, _S),
    "dek_registry.get_dek": _READ_SUBJECT,
    "dek_registry.get_dek_version": _READ_SUBJECT,
    "dek_registry.list_dek_versions": _READ_SUBJECT,
    # /security/v1: users, keys and bindings are SystemAdmin's (administer); whoami is anyone's
    "security.whoami": AUTHENTICATED,
    # /catalog/v1: reads need read on the entity's topic or subject (search, glossary: on some
    # subject); curation is ``manage`` (DataSteward, SystemAdmin)
    "catalog_api.search": _READ_SOME_SUBJECT,
    "catalog_api.entity": _READ_ENTITY,
    "catalog_api.glossary": _READ_SOME_SUBJECT,
    "catalog_api.lineage": EntityNeed(Action.READ, "entity", query=True),
    "catalog_api.impact": Need(Action.READ, _S, "subject", query=True),
    "catalog_api.put_description": _MANAGE,
    "catalog_api.edit_labels": _MANAGE,
    "catalog_api.remove_label": _MANAGE,
    "catalog_api.put_term": _MANAGE,
    "catalog_api.delete_term": _MANAGE,
    # /ui: the same needs as the API behind each page; a browser signs in on the login page
    "catalog_ui.static": PUBLIC,
    "catalog_ui.login": PUBLIC,
    "catalog_ui.logout": AUTHENTICATED,
    "catalog_ui.search": _READ_SOME_SUBJECT,
    "catalog_ui.topic": Need(Action.READ, _T, "name"),
    "catalog_ui.subject": Need(Action.READ, _S, "name"),
    "catalog_ui.field": Need(Action.READ, _S, "subject"),
    "catalog_ui.entity": _READ_ENTITY,
    "catalog_ui.edit": _MANAGE,
    "catalog_ui.governance_page": _DESCRIBE_CLUSTER,
}

FILTERED_LISTS: dict[str, ResourceType] = {"registry.list_subjects": _S}
"""List routes whose JSON array answer keeps only the names the principal may read."""


def need_for(endpoint: str | None, method: str) -> Need | EntityNeed | str:
    if endpoint is not None and endpoint in ROUTE_NEEDS:
        return ROUTE_NEEDS[endpoint]
    if endpoint is not None and endpoint.startswith("security."):
        # Not ``manage``: a DataSteward manages policies and tags, and must not be able to
        # grant itself (or anyone) more roles.
        return _ADMINISTER
    return AUTHENTICATED if method in ("GET", "HEAD", "OPTIONS") else _MANAGE
