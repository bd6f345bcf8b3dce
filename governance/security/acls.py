"""Kafka ACLs as a view of role bindings: the mapping both ways, and Kafka's ACL filters.

Charter has one permission model, role bindings; the Kafka ACL APIs
(CreateAcls, DescribeAcls, DeleteAcls) read and write it. An ACL maps to a
binding when its operation on its resource type is exactly what a role allows
there (Kafka's READ, WRITE, DELETE and ALTER imply DESCRIBE, as the roles do):

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

Names: LITERAL ``orders`` is ``Topic:orders``, PREFIXED ``orders-`` is
``Topic:orders-*``, and Kafka's wildcard (LITERAL ``*``) is the empty prefix
``Topic:*``. The cluster's name is Kafka's ``kafka-cluster``. The host is
always ``*`` and the permission ALLOW: a binding only grants, so a DENY ACL, a
per-host ACL, another operation (CREATE, ALTER_CONFIGS, IDEMPOTENT_WRITE, ...)
or a principal other than ``User:NAME`` is refused with a message that says so
(``AclNotSupported``), never stored half-way. Bindings with no ACL equivalent
(Subject resources, DataSteward) are not shown as ACLs and not deleted by
DeleteAcls; ``/security/v1/rolebindings`` shows everything.
"""

from __future__ import annotations

import dataclasses
import enum

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
    "binding_to_acls",
]

KAFKA_CLUSTER_NAME = "kafka-cluster"
_WILDCARD = "*"
_ANY_HOST = "*"
_MAX_NAME = 255


class AclResourceType(enum.IntEnum):
    """Kafka's ``ResourceType`` codes."""

    UNKNOWN = 0
    ANY = 1
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4
    TRANSACTIONAL_ID = 5
    DELEGATION_TOKEN = 6
    USER = 7


class AclOperation(enum.IntEnum):
    """Kafka's ``AclOperation`` codes."""

    UNKNOWN = 0
    ANY = 1
    ALL = 2
    READ = 3
    WRITE = 4
    CREATE = 5
    DELETE = 6
    ALTER = 7
    DESCRIBE = 8
    CLUSTER_ACTION = 9
    DESCRIBE_CONFIGS = 10
    ALTER_CONFIGS = 11
    IDEMPOTENT_WRITE = 12
    CREATE_TOKENS = 13
    DESCRIBE_TOKENS = 14


class AclPermission(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    DENY = 2
    ALLOW = 3


class PatternType(enum.IntEnum):
    UNKNOWN = 0
    ANY = 1
    MATCH = 2
    LITERAL = 3
    PREFIXED = 4


class AclNotSupported(InvalidSecurityRequest):
    """A well-formed Kafka ACL that role bindings cannot express (DENY, a host, ...)."""


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


def acl_to_binding(acl: Acl) -> tuple[str, Role, ResourcePattern]:
    """The role binding that grants exactly ``acl``; ``InvalidSecurityRequest`` (malformed)
    or ``AclNotSupported`` (well-formed, but no binding expresses it) otherwise."""
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
    if permission is AclPermission.DENY:
        raise AclNotSupported("DENY ACLs are not supported: role bindings only grant")
    if acl.host != _ANY_HOST:
        raise AclNotSupported(
            f"per-host ACLs are not supported: the host must be '*', not {acl.host!r}"
        )
    try:
        principal = parse_principal(acl.principal)
    except InvalidSecurityRequest as exc:
        raise AclNotSupported(f"ACL principals must be User:NAME ({exc})") from None
    kind = _KINDS.get(acl_type)
    if kind is None:
        raise AclNotSupported(f"ACLs on {acl_type.name} resources are not supported")
    role = _ROLES.get((kind, operation))
    if role is None:
        supported = ", ".join(op.name for (k, op) in _ROLES if k is kind)
        raise AclNotSupported(
            f"{operation.name} on {acl_type.name} has no role binding equivalent "
            f"(supported: {supported})"
        )
    if kind is ResourceType.CLUSTER:
        if name != KAFKA_CLUSTER_NAME or pattern is not PatternType.LITERAL:
            raise InvalidSecurityRequest(
                f"the only CLUSTER resource is the LITERAL {KAFKA_CLUSTER_NAME!r}"
            )
        return principal, role, CLUSTER
    if "\x00" in name or any(ord(c) < 0x20 for c in name):
        raise InvalidSecurityRequest("resource names may not hold control characters")
    if pattern is PatternType.LITERAL and name == _WILDCARD:
        return principal, role, ResourcePattern(kind, "", prefix=True)
    if pattern is PatternType.LITERAL and name.endswith("*"):
        # a literal ending in * would read back as a prefix from the binding's text form
        raise AclNotSupported("literal resource names ending in '*' are not supported")
    return principal, role, ResourcePattern(kind, name, prefix=pattern is PatternType.PREFIXED)


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
        name, pattern_type = _WILDCARD, PatternType.LITERAL
    else:
        name = pattern.name
        pattern_type = PatternType.PREFIXED if pattern.prefix else PatternType.LITERAL
    return [
        Acl(
            acl_type,
            name,
            pattern_type,
            binding.principal,
            _ANY_HOST,
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
            return acl.resource_name in (name, _WILDCARD)
        return acl.pattern_type == self.pattern_type and (name is None or name == acl.resource_name)
