"""Kafka ACL entries that no role expresses, and what each one allows or denies.

A role binding grants a role; an ACL entry is Kafka's shape, kept as it is:
principal (``User:NAME`` or ``User:*``), host (``*`` or an IP address),
resource (type, name, LITERAL/PREFIXED; LITERAL ``*`` is every name), one
operation and ALLOW or DENY. ``governance.security.authorizer`` asks
``AclEntry.applies`` and ``AclEntry.grants``/``denies`` beside the role
bindings, with Kafka's (StandardAuthorizer's) rules:

- an entry applies to resources of its own type only (a CLUSTER entry is not a
  grant on topics, unlike ``Cluster:charter`` role bindings); Kafka's one
  crossing, topic creation allowed by CREATE on the cluster, is the authorizer's;
- ALLOW ALL grants every action; ALLOW READ, WRITE, DELETE or ALTER also grant
  DESCRIBE; ALLOW ALTER_CONFIGS also grants DESCRIBE_CONFIGS;
- DENY denies its operation only (DENY ALL: every action), and beats any grant.

Operations are Kafka's codes; each is one ``Action`` (``OPERATION_ACTIONS``).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import ipaddress

from governance.security.model import Action, ResourceType

__all__ = [
    "ANY_HOST",
    "OPERATION_ACTIONS",
    "WILDCARD",
    "WILDCARD_PRINCIPAL",
    "AclEntry",
    "client_address",
    "AclOperation",
    "AclPermission",
    "AclResourceType",
    "PatternType",
    "normalize_host",
]

ANY_HOST = "*"
WILDCARD = "*"
WILDCARD_PRINCIPAL = "User:*"


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


OPERATION_ACTIONS: dict[AclOperation, frozenset[Action]] = {
    AclOperation.ALL: frozenset(Action),
    AclOperation.READ: frozenset({Action.READ}),
    AclOperation.WRITE: frozenset({Action.WRITE}),
    AclOperation.CREATE: frozenset({Action.CREATE}),
    AclOperation.DELETE: frozenset({Action.DELETE}),
    AclOperation.ALTER: frozenset({Action.ALTER}),
    AclOperation.DESCRIBE: frozenset({Action.DESCRIBE}),
    AclOperation.CLUSTER_ACTION: frozenset({Action.CLUSTER_ACTION}),
    AclOperation.DESCRIBE_CONFIGS: frozenset({Action.DESCRIBE_CONFIGS}),
    AclOperation.ALTER_CONFIGS: frozenset({Action.ALTER_CONFIGS}),
    AclOperation.IDEMPOTENT_WRITE: frozenset({Action.IDEMPOTENT_WRITE}),
}
"""The action each operation denies; what an ALLOW grants adds ``_IMPLIED``."""

_IMPLIED: dict[AclOperation, frozenset[Action]] = {
    AclOperation.READ: frozenset({Action.DESCRIBE}),
    AclOperation.WRITE: frozenset({Action.DESCRIBE}),
    AclOperation.DELETE: frozenset({Action.DESCRIBE}),
    AclOperation.ALTER: frozenset({Action.DESCRIBE}),
    AclOperation.ALTER_CONFIGS: frozenset({Action.DESCRIBE_CONFIGS}),
}


def normalize_host(host: str) -> str:
    """``*`` or the canonical text of an IP address (``::ffff:1.2.3.4`` is ``1.2.3.4``);
    ``ValueError`` for anything else."""
    if host == ANY_HOST:
        return host
    address = ipaddress.ip_address(host.strip())
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


@functools.lru_cache(maxsize=4096)
def client_address(address: str | None) -> str | None:
    """A client's IP address as entries keep hosts, or None when it is not an IP address
    (cached: both doors ask it on every request, and clients are few)."""
    if not address or address == ANY_HOST:
        return None
    try:
        return normalize_host(address)
    except ValueError:
        return None


@dataclasses.dataclass(frozen=True, slots=True)
class AclEntry:
    """One stored ACL (``id`` 0 before it is stored)."""

    id: int
    principal: str
    host: str
    kind: ResourceType
    name: str
    pattern_type: PatternType  # LITERAL or PREFIXED; LITERAL "*" is every name
    operation: AclOperation
    permission: AclPermission

    @property
    def key(self) -> tuple[str, str, str, str, int, int, int]:
        """What makes an entry unique (its id aside)."""
        return (
            self.principal,
            self.host,
            self.kind.value,
            self.name,
            int(self.pattern_type),
            int(self.operation),
            int(self.permission),
        )

    @property
    def host_specific(self) -> bool:
        return self.host != ANY_HOST

    def applies(self, principal: str, kind: ResourceType, name: str, host: str | None) -> bool:
        """Whether the entry is about this principal, connection and resource."""
        if self.principal != principal and self.principal != WILDCARD_PRINCIPAL:
            return False
        if self.host != ANY_HOST and self.host != host:
            return False
        return self.covers(kind, name)

    def covers(self, kind: ResourceType, name: str) -> bool:
        if self.kind is not kind:
            return False
        if kind is ResourceType.CLUSTER:
            return True  # one cluster: Kafka's "kafka-cluster" is Charter's "charter"
        if self.pattern_type is PatternType.PREFIXED:
            return name.startswith(self.name)
        return self.name == WILDCARD or self.name == name

    def grants(self, action: Action) -> bool:
        """An ALLOW entry's grant, with Kafka's implications."""
        return action in OPERATION_ACTIONS.get(self.operation, frozenset()) or (
            action in _IMPLIED.get(self.operation, frozenset())
        )

    def denies(self, action: Action) -> bool:
        return action in OPERATION_ACTIONS.get(self.operation, frozenset())

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "principal": self.principal,
            "host": self.host,
            "resourceType": self.kind.value,
            "resourceName": self.name,
            "patternType": self.pattern_type.name,
            "operation": self.operation.name,
            "permission": self.permission.name,
        }
