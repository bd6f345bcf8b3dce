"""KIP-848 consumer groups: ConsumerGroupHeartbeat with server-side assignment.

The group holds a *group epoch* (bumped when membership, a subscription or a
subscribed topic's partitions change), a *target assignment* computed by a
server-side assignor at an *assignment epoch*, and each member's current
assignment and *member epoch*. A member converges on its target one heartbeat
at a time, revoke before assign (``MemberState``): partitions it must give up
are removed first (its epoch stays); partitions still owned by another member
are handed over only once that member has confirmed their revocation. No
member stops for anyone else: there is no join or sync barrier.
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from broker.errors import (
    FencedInstanceId,
    FencedMemberEpoch,
    GroupMaxSizeReached,
    InvalidRequest,
    UnknownMemberId,
    UnreleasedInstanceId,
    UnsupportedAssignor,
)
from broker.groups.assignors import ASSIGNORS, Assignment
from broker.groups.state import MEMBER_TRANSITIONS, GroupState, MemberState, check_transition

if TYPE_CHECKING:
    from broker.groups.coordinator import GroupCoordinator

__all__ = ["ConsumerGroup", "ConsumerMember", "ConsumerProtocol", "HeartbeatRequest"]

LEAVE_EPOCH = -1
STATIC_LEAVE_EPOCH = -2
Partitions = dict[str, set[int]]
"""topic name -> partition indexes."""


@dataclasses.dataclass(frozen=True, slots=True)
class HeartbeatRequest:
    group_id: str
    member_id: str
    member_epoch: int
    instance_id: str | None
    rack_id: str | None
    rebalance_timeout_ms: int
    subscribed_topic_names: tuple[str, ...] | None
    subscribed_topic_regex: str | None
    server_assignor: str | None
    owned: Partitions | None
    """The partitions the member says it owns (None: unchanged since its last heartbeat)."""
    client_id: str
    client_host: str
    member_id_from_client: bool
    """v1+: the client makes its own member id (KIP-1082)."""


@dataclasses.dataclass(frozen=True, slots=True)
class HeartbeatResult:
    member_id: str
    member_epoch: int
    heartbeat_interval_ms: int
    assignment: Partitions | None


@dataclasses.dataclass(eq=False)
class ConsumerMember:
    member_id: str
    instance_id: str | None = None
    rack_id: str | None = None
    client_id: str = ""
    client_host: str = ""
    rebalance_timeout_ms: int = 300_000
    subscribed_topic_names: tuple[str, ...] = ()
    subscribed_topic_regex: str | None = None
    server_assignor: str | None = None
    member_epoch: int = 0
    previous_member_epoch: int = -1
    state: MemberState = MemberState.STABLE
    assigned: Partitions = dataclasses.field(default_factory=dict)
    pending_revocation: Partitions = dataclasses.field(default_factory=dict)
    last_sent: frozenset[tuple[str, int]] | None = None
    session_deadline: float = 0.0
    revocation_deadline: float | None = None
    next_heartbeat_at: float = 0.0
    """When (coordinator clock) the member's next heartbeat is due, from the interval it got."""

    def transition(self, target: MemberState) -> None:
        check_transition(MEMBER_TRANSITIONS, self.state, target)
        self.state = target

    def subscribes(self, topic: str) -> bool:
        if topic in self.subscribed_topic_names:
            return True
        regex = self.subscribed_topic_regex
        return bool(regex) and _compiled(regex).fullmatch(topic) is not None

    def to_record(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "instance_id": self.instance_id,
            "rack_id": self.rack_id,
            "client_id": self.client_id,
            "client_host": self.client_host,
            "rebalance_timeout_ms": self.rebalance_timeout_ms,
            "subscribed_topic_names": list(self.subscribed_topic_names),
            "subscribed_topic_regex": self.subscribed_topic_regex,
            "member_epoch": self.member_epoch,
            "assigned": {topic: sorted(parts) for topic, parts in self.assigned.items()},
        }


_REGEX_CACHE: dict[str, re.Pattern[str]] = {}


def _compiled(regex: str) -> re.Pattern[str]:
    pattern = _REGEX_CACHE.get(regex)
    if pattern is None:
        pattern = _REGEX_CACHE[regex] = re.compile(regex)
    return pattern


def _flat(partitions: Mapping[str, set[int]]) -> frozenset[tuple[str, int]]:
    return frozenset((topic, index) for topic, indexes in partitions.items() for index in indexes)


def _nested(flat: set[tuple[str, int]] | frozenset[tuple[str, int]]) -> Partitions:
    nested: Partitions = {}
    for topic, index in flat:
        nested.setdefault(topic, set()).add(index)
    return nested


class ConsumerGroup:
    """One KIP-848 group; its state is derived from the epochs, as Kafka derives it."""

    group_type = "consumer"
    protocol_type = "consumer"

    def __init__(self, group_id: str, assignor: str) -> None:
        self.group_id = group_id
        self.group_epoch = 0
        self.assignment_epoch = 0
        self.assignor = assignor
        self.members: dict[str, ConsumerMember] = {}
        self.static_members: dict[str, str] = {}
        self.target: Assignment = {}
        self.topic_partitions: dict[str, int] = {}
        """The subscribed topics' partition counts the target was computed from."""
        self.empty_since_ms: int | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.last_state = GroupState.EMPTY
        self.needs_bump = False
        """A member joined: the next heartbeat bumps the group epoch (once)."""
        self.topics_seen: tuple[int, frozenset[tuple[tuple[str, ...], str | None]]] | None = None
        """(topic generation, the members' subscriptions) ``topic_partitions`` was read at."""

    @property
    def state(self) -> GroupState:
        if not self.members:
            return GroupState.EMPTY
        if self.group_epoch > self.assignment_epoch:
            return GroupState.ASSIGNING
        if any(
            member.state is not MemberState.STABLE or member.member_epoch != self.assignment_epoch
            for member in self.members.values()
        ):
            return GroupState.RECONCILING
        return GroupState.STABLE

    @property
    def generation(self) -> int:
        return self.group_epoch

    def note_state(self) -> None:
        """Queue a ``group_state_changed`` event when the derived state moved."""
        state = self.state
        if state is not self.last_state:
            self.events.append(
                (
                    "group_state_changed",
                    {
                        "group_id": self.group_id,
                        "group_type": self.group_type,
                        "previous_state": self.last_state.value,
                        "state": state.value,
                        "generation": self.group_epoch,
                        "members": len(self.members),
                    },
                )
            )
            self.last_state = state

    def owned_by_others(self, member_id: str) -> frozenset[tuple[str, int]]:
        owned: set[tuple[str, int]] = set()
        for other in self.members.values():
            if other.member_id != member_id:
                owned |= _flat(other.assigned) | _flat(other.pending_revocation)
        return frozenset(owned)

    def subscribed_topics(self) -> set[str]:
        return {
            topic for member in self.members.values() for topic in member.subscribed_topic_names
        }

    def to_record(self) -> dict[str, Any]:
        return {
            "group_type": self.group_type,
            "protocol_type": self.protocol_type,
            "state": self.state.value,
            "generation": self.group_epoch,
            "protocol_name": self.assignor,
            "leader": None,
            "members": [member.to_record() for member in self.members.values()],
            "empty_since_ms": self.empty_since_ms,
        }


class ConsumerProtocol:
    """ConsumerGroupHeartbeat over the coordinator's groups."""

    def __init__(self, coordinator: GroupCoordinator) -> None:
        self.coordinator = coordinator
        self.settings = coordinator.settings
        self.member_total = 0
        """KIP-848 members of all groups, as of the last ``count_members``."""

    @property
    def clock(self) -> Callable[[], float]:
        return self.coordinator.clock

    def _validate(self, request: HeartbeatRequest) -> None:
        if not request.group_id:
            raise InvalidRequest("GroupId can't be empty")
        if request.member_epoch == 0:
            if request.rebalance_timeout_ms == -1:
                raise InvalidRequest("RebalanceTimeoutMs must be provided in first request")
            if request.subscribed_topic_names is None and not request.subscribed_topic_regex:
                raise InvalidRequest("SubscribedTopicNames must be set in first request")
            if request.member_id_from_client and not request.member_id:
                raise InvalidRequest("MemberId can't be empty")
        elif not request.member_id:
            raise InvalidRequest("MemberId can't be empty")
        if request.member_epoch == STATIC_LEAVE_EPOCH and request.instance_id is None:
            raise InvalidRequest("InstanceId can't be null when leaving with epoch -2")
        if request.member_epoch < STATIC_LEAVE_EPOCH:
            raise InvalidRequest(f"MemberEpoch {request.member_epoch} is not valid")
        assignor = request.server_assignor
        if assignor is not None and assignor not in self.settings.consumer_assignors:
            raise UnsupportedAssignor(f"assignor {assignor!r} is not one of this broker's")
        if request.subscribed_topic_regex:
            try:
                _compiled(request.subscribed_topic_regex)
            except re.error as exc:
                raise InvalidRequest(f"SubscribedTopicRegex is not valid: {exc}") from None

    def heartbeat(self, request: HeartbeatRequest) -> HeartbeatResult:
        self._validate(request)
        group = self.coordinator.consumer_group(request.group_id, create=request.member_epoch == 0)
        if request.member_epoch in (LEAVE_EPOCH, STATIC_LEAVE_EPOCH):
            return self._leave(group, request)
        member = self._member(group, request)
        now = self.clock()
        member.session_deadline = now + self.settings.group_consumer_session_timeout_ms / 1000
        bumped = self._update_subscription(group, member, request) or group.needs_bump
        if self._refresh_topics(group) or bumped:
            group.group_epoch += 1
        group.needs_bump = False
        if group.group_epoch > group.assignment_epoch:
            self._compute_target(group)
        changed = self._reconcile(group, member, request.owned)
        group.note_state()
        if changed or group.events:
            self.coordinator.persist(group)
        return self._result(group, member, request)

    def _member(self, group: ConsumerGroup, request: HeartbeatRequest) -> ConsumerMember:
        member = group.members.get(request.member_id) if request.member_id else None
        if request.member_epoch == 0:
            if request.instance_id is not None:
                holder_id = group.static_members.get(request.instance_id)
                holder = group.members.get(holder_id or "")
                if holder is not None and holder.member_id != request.member_id:
                    if holder.member_epoch != STATIC_LEAVE_EPOCH:
                        raise UnreleasedInstanceId(
                            f"instance {request.instance_id!r} is still held by a member"
                        )
                    return self._replace_static(group, holder, request)
            if member is None:
                if len(group.members) >= self.settings.group_max_size:
                    raise GroupMaxSizeReached(f"group {group.group_id!r} is full")
                member = ConsumerMember(member_id=request.member_id or str(uuid.uuid4()))
                self._add(group, member, request)
            else:  # a rejoin with epoch 0: start over from an empty assignment
                member.member_epoch = 0
                member.assigned, member.pending_revocation = {}, {}
                member.state = MemberState.STABLE
                member.last_sent = None
            return member
        if member is None:
            raise UnknownMemberId(
                f"member {request.member_id!r} is not in group {group.group_id!r}"
            )
        if request.instance_id is not None and member.instance_id != request.instance_id:
            raise FencedInstanceId(f"member {member.member_id!r} has another instance id")
        if request.member_epoch != member.member_epoch:
            owned = _flat(request.owned) if request.owned is not None else None
            lost_response = request.member_epoch == member.previous_member_epoch and (
                owned is not None and owned <= _flat(member.assigned)
            )
            if not lost_response:
                raise FencedMemberEpoch(
                    f"member epoch {request.member_epoch} is not {member.member_epoch}"
                )
            member.last_sent = None  # answer with the full assignment again
        return member

    def _add(self, group: ConsumerGroup, member: ConsumerMember, request: HeartbeatRequest) -> None:
        member.instance_id = request.instance_id
        member.client_id, member.client_host = request.client_id, request.client_host
        group.members[member.member_id] = member
        if member.instance_id is not None:
            group.static_members[member.instance_id] = member.member_id
        group.empty_since_ms = None
        group.needs_bump = True
        group.events.append(
            (
                "group_member_joined",
                {
                    "group_id": group.group_id,
                    "member_id": member.member_id,
                    "instance_id": member.instance_id,
                    "client_id": member.client_id,
                    "client_host": member.client_host,
                },
            )
        )

    def _replace_static(
        self, group: ConsumerGroup, old: ConsumerMember, request: HeartbeatRequest
    ) -> ConsumerMember:
        """A static member back within its session: it takes its old assignment, no new epoch."""
        del group.members[old.member_id]
        new = dataclasses.replace(
            old,
            member_id=request.member_id or str(uuid.uuid4()),
            member_epoch=group.assignment_epoch,
            client_id=request.client_id,
            client_host=request.client_host,
            last_sent=None,
        )
        group.members[new.member_id] = new
        group.static_members[request.instance_id or ""] = new.member_id
        if old.member_id in group.target:
            group.target[new.member_id] = group.target.pop(old.member_id)
        return new

    def _leave(self, group: ConsumerGroup, request: HeartbeatRequest) -> HeartbeatResult:
        member = group.members.get(request.member_id)
        if member is None:
            raise UnknownMemberId(
                f"member {request.member_id!r} is not in group {group.group_id!r}"
            )
        if request.member_epoch == STATIC_LEAVE_EPOCH:
            member.member_epoch = STATIC_LEAVE_EPOCH  # keeps its partitions for its session
        else:
            self.remove(group, member.member_id, "left")
        group.note_state()
        self.coordinator.persist(group)
        return HeartbeatResult(request.member_id, request.member_epoch, 0, None)

    def remove(self, group: ConsumerGroup, member_id: str, reason: str) -> None:
        member = group.members.pop(member_id, None)
        if member is None:
            return
        if member.instance_id is not None and group.static_members.get(member.instance_id) == (
            member_id
        ):
            del group.static_members[member.instance_id]
        group.target.pop(member_id, None)
        group.group_epoch += 1
        if not group.members:
            group.empty_since_ms = self.coordinator.wall_ms()
        group.events.append(
            (
                "group_member_left",
                {"group_id": group.group_id, "member_id": member_id, "reason": reason},
            )
        )
        if group.members:
            self._compute_target(group)

    def _update_subscription(
        self, group: ConsumerGroup, member: ConsumerMember, request: HeartbeatRequest
    ) -> bool:
        changed = False
        if request.subscribed_topic_names is not None:
            names = tuple(sorted(set(request.subscribed_topic_names)))
            changed |= names != member.subscribed_topic_names
            member.subscribed_topic_names = names
        if request.subscribed_topic_regex is not None:
            regex = request.subscribed_topic_regex or None
            changed |= regex != member.subscribed_topic_regex
            member.subscribed_topic_regex = regex
        if request.rebalance_timeout_ms > 0:
            member.rebalance_timeout_ms = request.rebalance_timeout_ms
        if request.server_assignor is not None:
            member.server_assignor = request.server_assignor
            group.assignor = request.server_assignor
        if request.rack_id is not None:
            member.rack_id = request.rack_id
        return changed

    def _refresh_topics(self, group: ConsumerGroup) -> bool:
        """Whether the subscribed topics' partitions changed since the target was computed.

        Reading them walks every topic for every member, so it is done again only when a
        topic appeared, went or grew, or a subscription changed (not on every heartbeat).
        """
        lookup = self.coordinator.topics
        seen = (
            lookup.generation(),
            frozenset(
                (member.subscribed_topic_names, member.subscribed_topic_regex)
                for member in group.members.values()
            ),
        )
        if seen == group.topics_seen:
            return False
        group.topics_seen = seen
        names = [
            name
            for name in lookup.topic_names()
            if any(member.subscribes(name) for member in group.members.values())
        ]
        current = {}
        for name in names:
            found = lookup.topic(name)
            if found is not None:
                current[name] = found[1]
        if current == group.topic_partitions:
            return False
        group.topic_partitions = current
        return True

    def _compute_target(self, group: ConsumerGroup) -> None:
        self._refresh_topics(group)
        subscriptions = {
            member_id: {topic for topic in group.topic_partitions if member.subscribes(topic)}
            for member_id, member in group.members.items()
        }
        assign = ASSIGNORS[group.assignor]
        group.target = assign(subscriptions, group.topic_partitions, group.target)
        group.assignment_epoch = group.group_epoch

    def _reconcile(
        self, group: ConsumerGroup, member: ConsumerMember, owned: Partitions | None
    ) -> bool:
        """Move ``member`` one step towards its target; True when its assignment changed."""
        if member.state is MemberState.UNREVOKED_PARTITIONS:
            if owned is None or not _flat(owned) <= _flat(member.assigned):
                if (
                    member.revocation_deadline is not None
                    and self.clock() >= member.revocation_deadline
                ):
                    self.remove(group, member.member_id, "revocation timeout")
                    raise FencedMemberEpoch("the member did not revoke its partitions in time")
                return False
            member.pending_revocation = {}
            member.revocation_deadline = None
        if member.state is MemberState.STABLE and member.member_epoch == group.assignment_epoch:
            return False
        target = _flat(group.target.get(member.member_id, {}))
        assigned = _flat(member.assigned)
        revoke = assigned - target
        if revoke:
            member.assigned = _nested(assigned & target)
            member.pending_revocation = _nested(revoke)
            member.revocation_deadline = self.clock() + member.rebalance_timeout_ms / 1000
            member.transition(MemberState.UNREVOKED_PARTITIONS)
            return True
        wanted = target - assigned
        free = wanted - group.owned_by_others(member.member_id)
        member.assigned = _nested(assigned | free)
        member.previous_member_epoch = member.member_epoch
        member.member_epoch = group.assignment_epoch
        member.transition(
            MemberState.UNRELEASED_PARTITIONS if wanted - free else MemberState.STABLE
        )
        return True

    def _result(
        self, group: ConsumerGroup, member: ConsumerMember, request: HeartbeatRequest
    ) -> HeartbeatResult:
        assigned = _flat(member.assigned)
        send = member.last_sent != assigned or request.member_epoch == 0
        if send:
            member.last_sent = assigned
        interval = self._interval(group, member)
        member.next_heartbeat_at = self.clock() + interval / 1000
        return HeartbeatResult(
            member_id=member.member_id,
            member_epoch=member.member_epoch,
            heartbeat_interval_ms=interval,
            assignment={topic: set(parts) for topic, parts in member.assigned.items()}
            if send
            else None,
        )

    def regular_interval(self) -> int:
        """``group_consumer_heartbeat_interval_ms``, longer when the members are so many that
        it would ask more than ``group_consumer_heartbeat_budget`` heartbeats a second of them
        (each costs the broker a fraction of a millisecond; Kafka keeps 5 s for everyone)."""
        settings = self.settings
        fitted = -(-self.member_total * 1000 // settings.group_consumer_heartbeat_budget)
        ceiling = max(
            settings.group_consumer_heartbeat_interval_ms,
            settings.group_consumer_session_timeout_ms // 3,
        )
        return min(ceiling, max(settings.group_consumer_heartbeat_interval_ms, fitted))

    def count_members(self) -> None:
        """Recount the KIP-848 members of every group (the coordinator's sweep calls it)."""
        self.member_total = sum(
            len(group.members)
            for group in self.coordinator.groups.values()
            if isinstance(group, ConsumerGroup)
        )

    def _interval(self, group: ConsumerGroup, member: ConsumerMember) -> int:
        """The heartbeat interval to give ``member`` now (the server owns it in KIP-848).

        A member waiting for partitions that others still hold is asked back when the
        first of those can be released: ``group_consumer_reconcile_interval_ms`` after the
        holder's next heartbeat is due (the holder learns there that it must revoke, and
        acknowledges as soon as it has), or that long from now when a holder has already
        been told. So the waiting member comes back about when the partitions are free,
        not a whole heartbeat interval later, and without polling in the meantime.
        """
        regular = self.regular_interval()
        if member.state is not MemberState.UNRELEASED_PARTITIONS:
            return regular
        step = min(regular, self.settings.group_consumer_reconcile_interval_ms)
        wanted = _flat(group.target.get(member.member_id, {})) - _flat(member.assigned)
        release_at: float | None = None
        for other in group.members.values():
            if other is member:
                continue
            if _flat(other.pending_revocation) & wanted:
                return step  # told already: its acknowledgement is due any moment
            if not _flat(other.assigned) & wanted:
                continue
            due = other.next_heartbeat_at
            release_at = due if release_at is None else min(release_at, due)
        if release_at is None:
            return step
        wait_ms = round((release_at - self.clock()) * 1000) + step
        return max(step, min(regular, wait_ms))

    def expire(self, group: ConsumerGroup, now: float) -> None:
        expired = [m.member_id for m in group.members.values() if now >= m.session_deadline]
        for member_id in expired:
            self.remove(group, member_id, "session timeout")
        if expired:
            group.note_state()
            self.coordinator.persist(group)
