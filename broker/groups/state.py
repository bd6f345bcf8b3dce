"""The states of a group and of a KIP-848 member, and the transitions allowed between them.

Kafka's ``GroupMetadata`` names the classic group states and the state each one
may be entered from; ``ClassicGroup.transition`` checks that table, so a
handler can never put a group in a state by setting a flag. A KIP-848 consumer
group's state is derived from its epochs (as Kafka derives it), but each of its
members moves through ``MemberState`` under the same kind of table.
"""

from __future__ import annotations

import enum

__all__ = [
    "CLASSIC_TRANSITIONS",
    "GroupState",
    "IllegalStateTransition",
    "MEMBER_TRANSITIONS",
    "MemberState",
    "check_transition",
]


class GroupState(enum.Enum):
    """A group's state; the value is the name Kafka's ListGroups/DescribeGroups report."""

    EMPTY = "Empty"
    PREPARING_REBALANCE = "PreparingRebalance"
    COMPLETING_REBALANCE = "CompletingRebalance"
    STABLE = "Stable"
    DEAD = "Dead"
    # KIP-848 consumer groups (derived from epochs, see ``broker.groups.consumer``).
    ASSIGNING = "Assigning"
    RECONCILING = "Reconciling"


CLASSIC_TRANSITIONS: dict[GroupState, frozenset[GroupState]] = {
    # state: the states it may be entered from
    GroupState.PREPARING_REBALANCE: frozenset(
        {GroupState.STABLE, GroupState.COMPLETING_REBALANCE, GroupState.EMPTY}
    ),
    GroupState.COMPLETING_REBALANCE: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.STABLE: frozenset({GroupState.COMPLETING_REBALANCE}),
    GroupState.EMPTY: frozenset({GroupState.PREPARING_REBALANCE}),
    GroupState.DEAD: frozenset(
        {
            GroupState.STABLE,
            GroupState.PREPARING_REBALANCE,
            GroupState.COMPLETING_REBALANCE,
            GroupState.EMPTY,
            GroupState.DEAD,
        }
    ),
}
"""Kafka's ``GroupMetadata`` valid previous states, one entry per target state."""


class MemberState(enum.Enum):
    """Where a KIP-848 member is in reconciling towards its target assignment."""

    STABLE = "stable"
    """It owns its whole target assignment at the current assignment epoch."""
    UNREVOKED_PARTITIONS = "unrevoked_partitions"
    """It must give up partitions first (revoke before assign); its epoch stays."""
    UNRELEASED_PARTITIONS = "unreleased_partitions"
    """It is at the new epoch but waits for partitions other members still own."""


MEMBER_TRANSITIONS: dict[MemberState, frozenset[MemberState]] = {
    MemberState.STABLE: frozenset(MemberState),
    MemberState.UNREVOKED_PARTITIONS: frozenset(MemberState),
    MemberState.UNRELEASED_PARTITIONS: frozenset(
        {MemberState.STABLE, MemberState.UNRELEASED_PARTITIONS, MemberState.UNREVOKED_PARTITIONS}
    ),
}


class IllegalStateTransition(RuntimeError):
    """A coordinator bug: a move the transition table does not allow."""


def check_transition(
    table: dict[GroupState, frozenset[GroupState]] | dict[MemberState, frozenset[MemberState]],
    current: GroupState | MemberState,
    target: GroupState | MemberState,
) -> None:
    """Raise ``IllegalStateTransition`` unless ``table`` allows ``current`` -> ``target``."""
    if current not in table.get(target, frozenset()):  # type: ignore[call-overload]
        raise IllegalStateTransition(f"{current.value} -> {target.value}")
