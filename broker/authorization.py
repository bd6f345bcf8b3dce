"""Authorization at the Kafka listener: which request needs which permission, asked in one module.

Handlers call these functions at their doors; the decision is the governance
authorizer's (``governance.security.authorizer``, one permission model for
HTTP and Kafka), which answers from memory and audits each denial. With auth
off the broker's authorizer is ``AllowEverything``.

=========================  ===============================  ==============================
request                    permission                       denied with
=========================  ===============================  ==============================
Produce                    Topic write                      TOPIC_AUTHORIZATION_FAILED (29)
Fetch                      Topic read                       29
ListOffsets, Metadata      Topic describe (Metadata of all  29 (listing: topics omitted)
                           topics lists only those)
Metadata auto-create,      Topic create                     29
CreateTopics
DeleteTopics, DeleteRecs.  Topic delete                     29
CreatePartitions,          Topic alter                      29
AlterConfigs (topic)
DescribeConfigs (topic)    Topic describe                   29
Alter/DescribeConfigs      Cluster alter / describe         CLUSTER_AUTHORIZATION_FAILED (31)
(broker)
FindCoordinator (group),   Group read (FindCoordinator,     GROUP_AUTHORIZATION_FAILED (30)
TxnOffsetCommit,           OffsetFetch: describe)
AddOffsetsToTxn, JoinGroup,
SyncGroup, Heartbeat,
OffsetCommit, OffsetFetch,
ConsumerGroupHeartbeat
=========================  ===============================  ==============================

Not yet checked (planned): LeaveGroup, DescribeGroups, ListGroups, DeleteGroups,
OffsetDelete, ConsumerGroupDescribe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from broker.errors import (
    ClusterAuthorizationFailed,
    GroupAuthorizationFailed,
    TopicAuthorizationFailed,
)
from governance.security.model import CLUSTER_NAME, Action, ResourceType

if TYPE_CHECKING:
    from broker.handlers.context import RequestContext

__all__ = ["Action", "may_describe_topic", "require_cluster", "require_group", "require_topic"]


def _detail(ctx: RequestContext) -> str:
    client = ctx.header.client_id or "-"
    return f"kafka api {ctx.header.api_key} from {ctx.connection.peer} (client.id {client})"


def _allowed(ctx: RequestContext, action: Action, kind: ResourceType, name: str) -> bool:
    authorizer = ctx.broker.authorizer
    if authorizer.allows(ctx.principal, action, kind, name):
        return True
    authorizer.authorize(ctx.principal, action, kind, name, _detail(ctx))  # audits the denial
    return False


def require_topic(ctx: RequestContext, action: Action, topic: str) -> None:
    """Raise ``TopicAuthorizationFailed`` unless the principal may ``action`` ``topic``."""
    if not _allowed(ctx, action, ResourceType.TOPIC, topic):
        raise TopicAuthorizationFailed(f"{ctx.principal} may not {action} topic {topic!r}")


def may_describe_topic(ctx: RequestContext, topic: str) -> bool:
    """For listings: whether the topic is shown (no audit entry for what is left out)."""
    return ctx.broker.authorizer.allows(ctx.principal, Action.DESCRIBE, ResourceType.TOPIC, topic)


def require_group(ctx: RequestContext, action: Action, group: str) -> None:
    """Raise ``GroupAuthorizationFailed`` unless the principal may ``action`` ``group``."""
    if not _allowed(ctx, action, ResourceType.GROUP, group):
        raise GroupAuthorizationFailed(f"{ctx.principal} may not {action} group {group!r}")


def require_cluster(ctx: RequestContext, action: Action) -> None:
    """Raise ``ClusterAuthorizationFailed`` unless the principal may ``action`` the cluster."""
    if not _allowed(ctx, action, ResourceType.CLUSTER, CLUSTER_NAME):
        raise ClusterAuthorizationFailed(f"{ctx.principal} may not {action} the cluster")
