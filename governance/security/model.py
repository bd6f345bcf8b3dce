"""The permission model: roles, actions, resource patterns, and which role allows what.

A role binding says "principal P has role R on resources matching pattern X".
A pattern is ``Type:name`` (literal) or ``Type:prefix*`` (prefix); types are
``Topic``, ``Subject``, ``Group``, ``TransactionalId`` and ``Cluster`` (``Cluster:charter`` is the
whole installation: a binding on it covers every resource). What each role
allows on each resource type is the table ``ROLE_ACTIONS``; nothing else
decides (``governance.security.authorizer`` only matches bindings against it).
"""

from __future__ import annotations

import dataclasses
import enum
import re

from governance.security.errors import InvalidSecurityRequest

__all__ = [
    "CLUSTER",
    "CLUSTER_NAME",
    "Action",
    "check_user_name",
    "parse_role",
    "ResourcePattern",
    "ResourceType",
    "Role",
    "ROLE_ACTIONS",
    "parse_principal",
    "parse_resource",
    "role_allows",
]


class Action(enum.StrEnum):
    READ = "read"  # consume, read schemas, join a group
    WRITE = "write"  # produce, register schemas
    CREATE = "create"  # create topics
    DELETE = "delete"  # delete topics, records, subjects, versions
    ALTER = "alter"  # configs, partitions, compatibility, mode
    DESCRIBE = "describe"  # metadata, configs, offsets
    MANAGE = "manage"  # policies, tags and other curation
    ADMINISTER = "administer"  # users, API keys, role bindings: SystemAdmin's alone
    # Kafka's finer operations, asked by the broker (and granted by ACL entries)
    DESCRIBE_CONFIGS = "describe_configs"  # DescribeConfigs
    ALTER_CONFIGS = "alter_configs"  # AlterConfigs, IncrementalAlterConfigs
    IDEMPOTENT_WRITE = "idempotent_write"  # an idempotent producer's InitProducerId (cluster)
    CLUSTER_ACTION = "cluster_action"  # inter-broker requests (none in Charter)


class ResourceType(enum.StrEnum):
    TOPIC = "Topic"
    SUBJECT = "Subject"
    GROUP = "Group"
    TRANSACTIONAL_ID = "TransactionalId"
    CLUSTER = "Cluster"


class Role(enum.StrEnum):
    SYSTEM_ADMIN = "SystemAdmin"
    RESOURCE_OWNER = "ResourceOwner"
    DATA_STEWARD = "DataSteward"
    DEVELOPER_WRITE = "DeveloperWrite"
    DEVELOPER_READ = "DeveloperRead"


_ALL = frozenset(Action)
_READ = frozenset({Action.READ, Action.DESCRIBE, Action.DESCRIBE_CONFIGS})
# a role that may describe a topic or the cluster may describe its configs, one that may alter
# it may alter its configs (as before Kafka's finer operations were actions of their own)

ROLE_ACTIONS: dict[Role, dict[ResourceType, frozenset[Action]]] = {
    Role.SYSTEM_ADMIN: {kind: _ALL for kind in ResourceType},
    Role.RESOURCE_OWNER: {
        ResourceType.TOPIC: _ALL - {Action.MANAGE, Action.ADMINISTER},
        ResourceType.SUBJECT: _ALL - {Action.MANAGE, Action.ADMINISTER},
        ResourceType.GROUP: _ALL - {Action.MANAGE, Action.ADMINISTER},
        ResourceType.TRANSACTIONAL_ID: _ALL - {Action.MANAGE, Action.ADMINISTER},
    },
    Role.DATA_STEWARD: {
        ResourceType.TOPIC: _READ,
        ResourceType.SUBJECT: _ALL - {Action.MANAGE, Action.ADMINISTER},
        ResourceType.GROUP: _READ,
        ResourceType.TRANSACTIONAL_ID: frozenset({Action.DESCRIBE}),
        # policies and tags are managed on the cluster resource
        ResourceType.CLUSTER: frozenset(
            {Action.READ, Action.DESCRIBE, Action.DESCRIBE_CONFIGS, Action.MANAGE}
        ),
    },
    Role.DEVELOPER_WRITE: {
        ResourceType.TOPIC: frozenset({Action.WRITE, Action.DESCRIBE, Action.DESCRIBE_CONFIGS}),
        ResourceType.SUBJECT: frozenset({Action.WRITE, Action.READ, Action.DESCRIBE}),
        # a transactional producer's id (InitProducerId, AddPartitionsToTxn, EndTxn, ...)
        ResourceType.TRANSACTIONAL_ID: frozenset({Action.WRITE, Action.DESCRIBE}),
    },
    Role.DEVELOPER_READ: {
        ResourceType.TOPIC: _READ,
        ResourceType.SUBJECT: _READ,
        ResourceType.GROUP: _READ,
        ResourceType.TRANSACTIONAL_ID: frozenset({Action.DESCRIBE}),
    },
}

CLUSTER_NAME = "charter"
_NAME = re.compile(r"[^\x00-\x1f\x7f]{1,249}")


def role_allows(role: Role, kind: ResourceType, action: Action) -> bool:
    return action in ROLE_ACTIONS[role].get(kind, frozenset())


@dataclasses.dataclass(frozen=True, slots=True)
class ResourcePattern:
    """``Topic:orders`` (literal) or ``Topic:orders.*`` (prefix ``orders.``)."""

    kind: ResourceType
    name: str
    prefix: bool = False

    def matches(self, kind: ResourceType, name: str) -> bool:
        if self.kind is ResourceType.CLUSTER:
            return True  # the installation holds every resource
        if self.kind is not kind:
            return False
        return name.startswith(self.name) if self.prefix else name == self.name

    def __str__(self) -> str:
        return f"{self.kind}:{self.name}{'*' if self.prefix else ''}"


CLUSTER = ResourcePattern(ResourceType.CLUSTER, CLUSTER_NAME)


def parse_resource(text: str) -> ResourcePattern:
    """``Type:name`` or ``Type:prefix*`` → a pattern; ``InvalidSecurityRequest`` otherwise."""
    kind_text, colon, name = str(text).partition(":")
    kinds = {kind.value.lower(): kind for kind in ResourceType}
    kind = kinds.get(kind_text.strip().lower())
    if not colon or kind is None:
        raise InvalidSecurityRequest(
            f"resource {text!r} must be Topic:NAME, Subject:NAME, Group:NAME, "
            "TransactionalId:NAME or Cluster:charter"
            " (a trailing * makes a prefix)"
        )
    prefix = name.endswith("*")
    name = name[:-1] if prefix else name
    if kind is ResourceType.CLUSTER:
        return CLUSTER
    if not prefix and not name:
        raise InvalidSecurityRequest(f"resource {text!r} has no name")
    if name and not _NAME.fullmatch(name):
        raise InvalidSecurityRequest(f"resource {text!r} has an invalid name")
    return ResourcePattern(kind, name, prefix)


def parse_role(text: str) -> Role:
    for role in Role:
        if role.value.lower() == str(text).strip().lower():
            return role
    raise InvalidSecurityRequest(
        f"role {text!r} is not one of " + ", ".join(role.value for role in Role)
    )


_USER_NAME = re.compile(r"[A-Za-z0-9._@+-]{1,128}")


def check_user_name(name: str) -> str:
    if not isinstance(name, str) or not _USER_NAME.fullmatch(name) or name == "ANONYMOUS":
        raise InvalidSecurityRequest(
            f"user name {name!r} must be 1-128 characters of letters, digits and ._@+-"
        )
    return name


def parse_principal(text: str) -> str:
    """``User:NAME`` (the only principal type) → ``User:NAME``, checked.

    ``User:ANONYMOUS`` is accepted here (no user may be called that): it is who a
    client of a PLAINTEXT listener, or of an SSL one without a certificate, is, and
    binding it grants such clients what Kafka's ACLs on ``User:ANONYMOUS`` do.
    """
    kind, colon, name = str(text).partition(":")
    if not colon or kind != "User":
        raise InvalidSecurityRequest(f"principal {text!r} must be User:NAME")
    if name == "ANONYMOUS":
        return "User:ANONYMOUS"
    return f"User:{check_user_name(name)}"
