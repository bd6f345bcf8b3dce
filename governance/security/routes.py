"""Which HTTP route needs which permission: one table, keyed by Flask endpoint.

A rule is ``Need(action, kind, arg)``: the principal needs ``action`` on the
resource of type ``kind`` named by the view argument ``arg``; ``arg`` ``None``
means "on some resource of that kind" (reading a schema by id, as Confluent
lets anyone who can read some subject do), ``AUTHENTICATED`` means any
authenticated principal, ``PUBLIC`` no credentials at all. An endpoint not in
the table needs authentication for GET/HEAD and ``manage`` on the cluster for
anything else (fail closed for routes added later; catalog and governance
routes belong in this table when they join).
"""

from __future__ import annotations

import dataclasses

from governance.security.model import Action, ResourceType

__all__ = ["AUTHENTICATED", "PUBLIC", "Need", "ROUTE_NEEDS", "FILTERED_LISTS", "need_for"]


@dataclasses.dataclass(frozen=True, slots=True)
class Need:
    action: Action
    kind: ResourceType
    arg: str | None = "subject"


AUTHENTICATED = "authenticated"
PUBLIC = "public"

_S = ResourceType.SUBJECT
_C = ResourceType.CLUSTER
_READ_SUBJECT = Need(Action.READ, _S)
_READ_SOME_SUBJECT = Need(Action.READ, _S, None)
_MANAGE = Need(Action.MANAGE, _C, None)
_ADMINISTER = Need(Action.ADMINISTER, _C, None)  # users, keys, bindings: SystemAdmin only

ROUTE_NEEDS: dict[str, Need | str] = {
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
}

FILTERED_LISTS: dict[str, ResourceType] = {"registry.list_subjects": _S}
"""List routes whose JSON array answer keeps only the names the principal may read."""


def need_for(endpoint: str | None, method: str) -> Need | str:
    if endpoint is not None and endpoint in ROUTE_NEEDS:
        return ROUTE_NEEDS[endpoint]
    if endpoint is not None and endpoint.startswith("security."):
        # Not ``manage``: a DataSteward manages policies and tags, and must not be able to
        # grant itself (or anyone) more roles.
        return _ADMINISTER
    return AUTHENTICATED if method in ("GET", "HEAD", "OPTIONS") else _MANAGE
