"""Authorization at the Kafka listener: which request needs which permission, asked in one module.

Handlers call these functions at their doors; the decision is the governance
authorizer's (``governance.security.authorizer``, one permission model for
HTTP and Kafka), which answers from memory and audits each denial. With auth
off the broker's authorizer is ``AllowEverything``.

=========================  ===============================  ==============================
request                    permission                       denied with
=========================  ===============================  ==============================
Produce                    Topic write (with a transact-    TOPIC_AUTHORIZATION_FAILED (29)
                           ional id: TransactionalId write  (53 for the transactional id)
                           too)
Fetch                      Topic read                       29
ListOffsets, Metadata      Topic describe (Metadata of all  29 (listing: topics omitted)
                           topics lists only those)
Metadata auto-create,      Topic create (or Cluster create, 29
CreateTopics               as Kafka)
DeleteTopics, DeleteRecs.  Topic delete                     29
CreatePartitions           Topic alter                      29
AlterConfigs, Incremental- Topic alter_configs              29
AlterConfigs (topic)
DescribeConfigs (topic)    Topic describe_configs           29
Alter/DescribeConfigs      Cluster alter_configs /          CLUSTER_AUTHORIZATION_FAILED (31)
(broker)                   describe_configs
JoinGroup, SyncGroup,      Group read                       GROUP_AUTHORIZATION_FAILED (30)
Heartbeat, LeaveGroup,                                      per group
OffsetCommit, TxnOffset-
Commit, AddOffsetsToTxn,
ConsumerGroupHeartbeat
FindCoordinator (group),   Group describe                   30
OffsetFetch, DescribeGroups,
ConsumerGroupDescribe
OffsetCommit (each topic)  Topic read                       29 per partition
OffsetFetch (each topic)   Topic describe                   29 per partition (all topics:
                                                            omitted)
ListGroups                 Group describe                   (groups omitted)
DeleteGroups               Group delete                     30 per group
OffsetDelete               Group delete, then Topic read    30, then 29 per partition
InitProducerId,            TransactionalId write            TRANSACTIONAL_ID_AUTHORIZATION_
AddPartitionsToTxn,                                         FAILED (53)
AddOffsetsToTxn, EndTxn,
TxnOffsetCommit,
FindCoordinator (txn)      TransactionalId describe         53
InitProducerId without a   Cluster idempotent_write or      31
transactional id           write on some topic, as Kafka 3+
(idempotent producer)
AddPartitionsToTxn         Topic write per topic            29 per partition
TxnOffsetCommit            Topic read per topic             29 per partition
Describe/CreateAcls,       Cluster describe / alter         31 (SECURITY_DISABLED, 54,
DeleteAcls                                                  with auth off)
Describe/AlterUserScram-   Cluster describe / alter         31
Credentials
=========================  ===============================  ==============================

``authorized_operations`` answers KIP-430's "what may I do here" from the same
decisions (Kafka operation codes mapped to our actions in ``_OPERATIONS``).

Each question carries the client's IP address (``host``), which ACL entries
with a host other than ``*`` are matched against.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broker.errors import (
    BrokerError,
    ClusterAuthorizationFailed,
    GroupAuthorizationFailed,
    TopicAuthorizationFailed,
    TransactionalIdAuthorizationFailed,
    kafka_error,
)
from governance.security.acl_entries import client_address
from governance.security.model import CLUSTER_NAME, Action, ResourceType

if TYPE_CHECKING:
    from collections.abc import Iterable

    from kio.schema.errors import ErrorCode

    from broker.handlers.context import RequestContext

__all__ = [
    "NOT_REQUESTED",
    "Action",
    "authorized_operations",
    "client_host",
    "denied_topics",
    "may_describe_group",
    "may_describe_topic",
    "require_cluster",
    "require_group",
    "require_idempotent_write",
    "require_topic",
    "require_transactional_id",
]


def _detail(ctx: RequestContext) -> str:
    client = ctx.header.client_id or "-"
    return f"kafka api {ctx.header.api_key} from {ctx.connection.peer} (client.id {client})"


def client_host(ctx: RequestContext) -> str | None:
    """The client's IP address (``ConnectionState.peer`` is ``address:port``), canonical as
    ACL entries keep it; None when unknown."""
    return client_address(ctx.connection.peer.rpartition(":")[0].strip("[]"))


def _allowed(ctx: RequestContext, action: Action, kind: ResourceType, name: str) -> bool:
    authorizer = ctx.broker.authorizer
    host = client_host(ctx)
    if authorizer.allows(ctx.principal, action, kind, name, host=host):
        return True
    # ask again through ``authorize``, which audits the denial
    authorizer.authorize(ctx.principal, action, kind, name, _detail(ctx), host=host)
    return False


def require_topic(ctx: RequestContext, action: Action, topic: str) -> None:
    """Raise ``TopicAuthorizationFailed`` unless the principal may ``action`` ``topic``."""
    if not _allowed(ctx, action, ResourceType.TOPIC, topic):
        raise TopicAuthorizationFailed(f"{ctx.principal} may not {action} topic {topic!r}")


def denied_topics(
    ctx: RequestContext, action: Action, topics: Iterable[str]
) -> dict[str, ErrorCode]:
    """TOPIC_AUTHORIZATION_FAILED for each of ``topics`` the principal may not ``action``
    (asked once per topic, in name order, each denial audited), as Kafka answers per topic."""
    denied = {}
    for topic in sorted(topics):
        try:
            require_topic(ctx, action, topic)
        except BrokerError as exc:
            denied[topic] = kafka_error(exc)[0]
    return denied


def may_describe_topic(ctx: RequestContext, topic: str) -> bool:
    """For listings: whether the topic is shown (no audit entry for what is left out)."""
    return ctx.broker.authorizer.allows(
        ctx.principal, Action.DESCRIBE, ResourceType.TOPIC, topic, host=client_host(ctx)
    )


def require_group(ctx: RequestContext, action: Action, group: str) -> None:
    """Raise ``GroupAuthorizationFailed`` unless the principal may ``action`` ``group``."""
    if not _allowed(ctx, action, ResourceType.GROUP, group):
        raise GroupAuthorizationFailed(f"{ctx.principal} may not {action} group {group!r}")


def require_cluster(ctx: RequestContext, action: Action) -> None:
    """Raise ``ClusterAuthorizationFailed`` unless the principal may ``action`` the cluster."""
    if not _allowed(ctx, action, ResourceType.CLUSTER, CLUSTER_NAME):
        raise ClusterAuthorizationFailed(f"{ctx.principal} may not {action} the cluster")


NOT_REQUESTED = -(2**31)
"""``authorized_operations`` when the client did not ask for them (Kafka's INT32_MIN)."""

# Kafka's AclOperation codes a client may see in ``authorized_operations``, and the action of
# ours each one is; READ/WRITE/DELETE/ALTER imply DESCRIBE in the roles as in Kafka
_OPERATIONS: dict[ResourceType, tuple[tuple[int, Action], ...]] = {
    ResourceType.TOPIC: (
        (3, Action.READ),
        (4, Action.WRITE),
        (5, Action.CREATE),
        (6, Action.DELETE),
        (7, Action.ALTER),
        (8, Action.DESCRIBE),
        (10, Action.DESCRIBE_CONFIGS),
        (11, Action.ALTER_CONFIGS),
    ),
    ResourceType.GROUP: ((3, Action.READ), (6, Action.DELETE), (8, Action.DESCRIBE)),
    ResourceType.CLUSTER: (
        (5, Action.CREATE),
        (7, Action.ALTER),
        (8, Action.DESCRIBE),
        (9, Action.CLUSTER_ACTION),
        (10, Action.DESCRIBE_CONFIGS),
        (11, Action.ALTER_CONFIGS),
        (12, Action.IDEMPOTENT_WRITE),
    ),
}


def authorized_operations(ctx: RequestContext, kind: ResourceType, name: str) -> int:
    """The bit set of Kafka operations the principal may do on the resource (KIP-430)."""
    authorizer = ctx.broker.authorizer
    host = client_host(ctx)
    bits = 0
    for code, action in _OPERATIONS[kind]:
        if authorizer.allows(ctx.principal, action, kind, name, host=host):
            bits |= 1 << code
    return bits


def may_describe_group(ctx: RequestContext, group: str) -> bool:
    """For ListGroups: whether the group is shown (no audit entry for what is left out)."""
    return ctx.broker.authorizer.allows(
        ctx.principal, Action.DESCRIBE, ResourceType.GROUP, group, host=client_host(ctx)
    )


def require_transactional_id(ctx: RequestContext, action: Action, transactional_id: str) -> None:
    """Raise ``TransactionalIdAuthorizationFailed`` unless the principal may ``action`` it."""
    if not _allowed(ctx, action, ResourceType.TRANSACTIONAL_ID, transactional_id):
        raise TransactionalIdAuthorizationFailed(
            f"{ctx.principal} may not {action} transactional id {transactional_id!r}"
        )


def require_idempotent_write(ctx: RequestContext) -> None:
    """An idempotent producer's InitProducerId: Kafka 3+ allows it with IDEMPOTENT_WRITE on the
    cluster or WRITE on some topic."""
    authorizer = ctx.broker.authorizer
    if authorizer.allows_some(
        ctx.principal, Action.WRITE, ResourceType.TOPIC, host=client_host(ctx)
    ):
        return
    if not _allowed(ctx, Action.IDEMPOTENT_WRITE, ResourceType.CLUSTER, CLUSTER_NAME):
        raise ClusterAuthorizationFailed(
            f"{ctx.principal} may not write to any topic (an idempotent producer needs that)"
        )
