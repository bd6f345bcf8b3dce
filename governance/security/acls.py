"""Kafka ACLs over Charter's permission model: the mapping both ways, and Kafka's ACL filters.

The Kafka ACL APIs (CreateAcls, DescribeAcls, DeleteAcls) read and write the
one permission model. An ALLOW ACL for ``User:NAME`` on host ``*`` whose
operation on its resource type is exactly what a role allows there (Kafka's
READ, WRITE, DELETE and ALTER imply DESCRIBE, as the roles do) is that role
binding:

=================  =====================  ==================================
ACL operation      resource type          role binding
=================  =====================  ==================================
ALL                TOPIC, GROUP,          ResourceOwner on the resource
                   TRANSACTIONAL_ID
READ               TOPIC, GROUP           DeveloperRead
WRITE              TOPIC,                 DeveloperWrite
                   TRANSACTIONAL_ID
DESCRIBE           TRANSACTIONAL_ID       DeveloperRead
ALL                CLUSTER                SystemAdmin on ``Cluster:charter``
=================  =====================  ==================================

Every other ACL (DENY, a host other than ``*``, the principal ``User:*``, an
operation no role is exactly — CREATE, DESCRIBE_CONFIGS, IDEMPOTENT_WRITE, ...)
is kept as it is, an ``AclEntry`` (``governance.security.acl_entries`` says
what it allows and denies). ``place_acl`` decides which.

Names: LITERAL ``orders`` is ``Topic:orders``, PREFIXED ``orders-`` is
``Topic:orders-*``, and Kafka's wildcard (LITERAL ``*``) is the empty prefix
``Topic:*``. The cluster's name is Kafka's ``kafka-cluster``. Hosts are ``*``
or an IP address. Principals are ``User:NAME`` or ``User:*``; USER and
DELEGATION_TOKEN resources are refused (``AclNotSupported``: Charter has no
delegation tokens). Bindings with no ACL equivalent (Subject resources,
DataSteward) are not shown as ACLs and not deleted by DeleteAcls;
``/security/v1/rolebindings`` and ``/security/v1/acls`` show everything.
"""

from __future__ import annotations

import dataclasses
import enum

from governance.security.acl_entries import (
    ANY_HOST,
    WILDCARD,
    WILDCARD_PRINCIPAL,
    AclEntry,
    AclOperation,
    AclPermission,
    AclResourceType,
    PatternType,
    normalize_host,
)
from governance.security.errors import InvalidSecurityRequest
from governance.security.model import (
    CLUSTER,
    ResourcePattern,
    ResourceType,
    Role,
    parse_principal,
)
from governance.security.store import Binding

__all__ = [
    "KAFKA_CLUSTER_NAME",
    "Acl",
    "AclFilter",
    "AclNotSupported",
    "AclOperation",
    "AclPermission",
    "AclResourceType",
    "PatternType",
    "acl_to_binding",
    "acl_to_entry",
    "binding_to_acls",
    "entry_to_acl",
    "place_acl",
]

KAFKA_CLUSTER_NAME = "kafka-cluster"
_MAX_NAME = 255


class AclNotSupported(InvalidSecurityRequest):
    """A well-formed Kafka ACL that Charter cannot express (a USER resource, ...)."""


_KINDS = {
    AclResourceType.TOPIC: ResourceType.TOPIC,
    AclResourceType.GROUP: ResourceType.GROUP,
    AclResourceType.CLUSTER: ResourceType.CLUSTER,
    AclResourceType.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
}
_ACL_TYPES = {kind: acl_type for acl_type, kind in _KINDS.items()}

# (resource type, operation) -> role, and back; one table for both directions
_ROLES: dict[tuple[ResourceType, AclOperation], Role] = {
    (ResourceType.TOPIC, AclOperation.ALL): Role.RESOURCE_OWNER,
    (ResourceType.GROUP, AclOperation.ALL): Role.RESOURCE_OWNER,
    (ResourceType.TRANSACTIONAL_ID, AclOperation.ALL): Role.RESOURCE_OWNER,
    (ResourceType.TOPIC, AclOperation.READ): Role.DEVELOPER_READ,
    (ResourceType.GROUP, AclOperation.READ): Role.DEVELOPER_READ,
    (ResourceType.TOPIC, AclOperation.WRITE): Role.DEVELOPER_WRITE,
    (ResourceType.TRANSACTIONAL_ID, AclOperation.WRITE): Role.DEVELOPER_WRITE,
    (ResourceType.TRANSACTIONAL_ID, AclOperation.DESCRIBE): Role.DEVELOPER_READ,
    (ResourceType.CLUSTER, AclOperation.ALL): Role.SYSTEM_ADMIN,
}
_OPERATIONS: dict[tuple[Role, ResourceType], AclOperation] = {
    (role, kind): operation for (kind, operation), role in _ROLES.items()
}
# a SystemAdmin binding on one resource grants everything on it, as ResourceOwner does
for _kind in (ResourceType.TOPIC, ResourceType.GROUP, ResourceType.TRANSACTIONAL_ID):
    _OPERATIONS[(Role.SYSTEM_ADMIN, _kind)] = AclOperation.ALL


@dataclasses.dataclass(frozen=True, slots=True)
class Acl:
    """One Kafka ACL binding (resource pattern + access control entry)."""

    resource_type: int
    resource_name: str
    pattern_type: int
    principal: str
    host: str
    operation: int
    permission: int


def _enum(kind: type[enum.IntEnum], value: int, what: str) -> enum.IntEnum:
    try:
        return kind(value)
    except ValueError:
        raise InvalidSecurityRequest(f"unknown {what} {value}") from None


def acl_to_entry(acl: Acl) -> AclEntry:
    """The checked ACL as an entry (id 0); ``InvalidSecurityRequest`` (malformed) or
    ``AclNotSupported`` (well-formed, but about something Charter does not have)."""
    acl_type = _enum(AclResourceType, acl.resource_type, "resource type")
    pattern = _enum(PatternType, acl.pattern_type, "pattern type")
    operation = _enum(AclOperation, acl.operation, "operation")
    permission = _enum(AclPermission, acl.permission, "permission type")
    if acl_type in (AclResourceType.UNKNOWN, AclResourceType.ANY):
        raise InvalidSecurityRequest(f"an ACL needs a concrete resource type, not {acl_type.name}")
    if pattern not in (PatternType.LITERAL, PatternType.PREFIXED):
        raise InvalidSecurityRequest(
            f"an ACL's pattern type must be LITERAL or PREFIXED, not {pattern.name}"
        )
    if operation in (AclOperation.UNKNOWN, AclOperation.ANY):
        raise InvalidSecurityRequest(f"an ACL needs a concrete operation, not {operation.name}")
    if permission not in (AclPermission.ALLOW, AclPermission.DENY):
        raise InvalidSecurityRequest(
            f"an ACL's permission must be ALLOW or DENY, not {permission.name}"
        )
    name = acl.resource_name or ""
    if not name or len(name) > _MAX_NAME:
        raise InvalidSecurityRequest(f"resource name must be 1 to {_MAX_NAME} characters")
    try:
        host = normalize_host(str(acl.host))
    except ValueError:
        raise InvalidSecurityRequest(
            f"an ACL's host must be '*' or an IP address, not {acl.host!r}"
        ) from None
    principal = acl.principal
    if principal != WILDCARD_PRINCIPAL:
        try:
            principal = parse_principal(principal)
        except InvalidSecurityRequest as exc:
            raise AclNotSupported(f"ACL principals must be User:NAME or User:* ({exc})") from None
    kind = _KINDS.get(acl_type)
    if kind is None:
        raise AclNotSupported(f"ACLs on {acl_type.name} resources are not supported")
    if kind is ResourceType.CLUSTER:
        if name != KAFKA_CLUSTER_NAME or pattern is not PatternType.LITERAL:
            raise InvalidSecurityRequest(
                f"the only CLUSTER resource is the LITERAL {KAFKA_CLUSTER_NAME!r}"
            )
    elif any(ord(c) < 0x20 or c == "\x7f" for c in name):
        raise InvalidSecurityRequest("resource names may not hold control characters")
    return AclEntry(0, principal, host, kind, name, pattern, operation, permission)


def acl_to_binding(acl: Acl) -> tuple[str, Role, ResourcePattern]:
    """The role binding that grants exactly ``acl``; ``InvalidSecurityRequest`` (malformed)
    or ``AclNotSupported`` (no binding expresses it: keep it as an entry) otherwise."""
    entry = acl_to_entry(acl)
    if entry.permission is AclPermission.DENY:
        raise AclNotSupported("DENY ACLs are not role bindings: role bindings only grant")
    if entry.host != ANY_HOST:
        raise AclNotSupported(f"per-host ACLs are not role bindings (host {entry.host!r})")
    if entry.principal == WILDCARD_PRINCIPAL:
        raise AclNotSupported("ACLs for User:* are not role bindings")
    role = _ROLES.get((entry.kind, entry.operation))
    acl_type = _ACL_TYPES[entry.kind]
    if role is None:
        supported = ", ".join(op.name for (k, op) in _ROLES if k is entry.kind)
        raise AclNotSupported(
            f"{entry.operation.name} on {acl_type.name} has no role binding equivalent "
            f"(those with one: {supported})"
        )
    if entry.kind is ResourceType.CLUSTER:
        return entry.principal, role, CLUSTER
    if entry.pattern_type is PatternType.LITERAL and entry.name == WILDCARD:
        return entry.principal, role, ResourcePattern(entry.kind, "", prefix=True)
    if entry.pattern_type is PatternType.LITERAL and entry.name.endswith("*"):
        # a literal ending in * would read back as a prefix from the binding's text form
        raise AclNotSupported("literal resource names ending in '*' are not role bindings")
    prefix = entry.pattern_type is PatternType.PREFIXED
    return entry.principal, role, ResourcePattern(entry.kind, entry.name, prefix)


def place_acl(acl: Acl) -> tuple[str, Role, ResourcePattern] | AclEntry:
    """Where a new ACL is kept: the role binding that is exactly it, else an entry.
    ``InvalidSecurityRequest``/``AclNotSupported`` when it cannot be kept at all."""
    entry = acl_to_entry(acl)
    try:
        return acl_to_binding(acl)
    except AclNotSupported:
        return entry


def entry_to_acl(entry: AclEntry) -> Acl:
    """An entry in Kafka's form."""
    name = KAFKA_CLUSTER_NAME if entry.kind is ResourceType.CLUSTER else entry.name
    return Acl(
        _ACL_TYPES[entry.kind],
        name,
        entry.pattern_type,
        entry.principal,
        entry.host,
        entry.operation,
        entry.permission,
    )


def binding_to_acls(binding: Binding) -> list[Acl]:
    """The Kafka ACL a binding is (none when it has no ACL equivalent)."""
    pattern = binding.resource
    operation = _OPERATIONS.get((binding.role, pattern.kind))
    if operation is None:
        return []
    acl_type = _ACL_TYPES[pattern.kind]
    if pattern.kind is ResourceType.CLUSTER:
        name, pattern_type = KAFKA_CLUSTER_NAME, PatternType.LITERAL
    elif pattern.prefix and not pattern.name:
        name, pattern_type = WILDCARD, PatternType.LITERAL
    else:
        name = pattern.name
        pattern_type = PatternType.PREFIXED if pattern.prefix else PatternType.LITERAL
    return [
        Acl(
            acl_type,
            name,
            pattern_type,
            binding.principal,
            ANY_HOST,
            operation,
            AclPermission.ALLOW,
        )
    ]


@dataclasses.dataclass(frozen=True, slots=True)
class AclFilter:
    """Kafka's ``AclBindingFilter``: ANY/null fields match everything; MATCH as Kafka."""

    resource_type: int
    resource_name: str | None
    pattern_type: int
    principal: str | None
    host: str | None
    operation: int
    permission: int

    def check(self) -> None:
        """``InvalidSecurityRequest`` when a field is UNKNOWN or not a known code (Kafka
        answers such a filter INVALID_REQUEST)."""
        for kind, value, what in (
            (AclResourceType, self.resource_type, "resource type"),
            (PatternType, self.pattern_type, "pattern type"),
            (AclOperation, self.operation, "operation"),
            (AclPermission, self.permission, "permission type"),
        ):
            if _enum(kind, value, what) == 0:
                raise InvalidSecurityRequest(f"the filter's {what} is UNKNOWN")

    def matches(self, acl: Acl) -> bool:
        return (
            self.resource_type in (AclResourceType.ANY, acl.resource_type)
            and self._matches_pattern(acl)
            and (self.principal is None or self.principal == acl.principal)
            and (self.host is None or self.host == acl.host)
            and self.operation in (AclOperation.ANY, acl.operation)
            and self.permission in (AclPermission.ANY, acl.permission)
        )

    def _matches_pattern(self, acl: Acl) -> bool:
        name = self.resource_name
        if self.pattern_type == PatternType.ANY:
            return name is None or name == acl.resource_name
        if self.pattern_type == PatternType.MATCH:
            if name is None:
                return True
            if acl.pattern_type == PatternType.PREFIXED:
                return name.startswith(acl.resource_name)
            return acl.resource_name in (name, WILDCARD)
        return acl.pattern_type == self.pattern_type and (name is None or name == acl.resource_name)
