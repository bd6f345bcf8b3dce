"""Consumer groups: the coordinator (classic protocol and KIP-848), assignors, committed offsets.

The handlers in ``broker.handlers`` parse requests and call ``GroupCoordinator``;
the state machines live in ``classic`` / ``consumer`` (states in ``state``), the
server-side assignors in ``assignors``, durable state in ``offsets``/``store``.
Topics are reached through ``TopicLookup``, so this package does not import
``broker.topics``.
"""

from broker.groups.classic import ClassicGroup, ClassicMember, JoinResult
from broker.groups.classic_coordinator import JoinRequest, LeaveOutcome, SyncResult
from broker.groups.consumer import ConsumerGroup, ConsumerMember
from broker.groups.consumer import HeartbeatRequest as ConsumerHeartbeatRequest
from broker.groups.coordinator import GroupCoordinator, GroupSummary, TopicLookup
from broker.groups.offsets import GroupStore, OffsetEntry
from broker.groups.state import GroupState, MemberState

__all__ = [
    "ClassicGroup",
    "ClassicMember",
    "ConsumerGroup",
    "ConsumerHeartbeatRequest",
    "ConsumerMember",
    "GroupCoordinator",
    "GroupState",
    "GroupStore",
    "GroupSummary",
    "JoinRequest",
    "JoinResult",
    "LeaveOutcome",
    "MemberState",
    "OffsetEntry",
    "SyncResult",
    "TopicLookup",
]
