"""A classic-protocol group (JoinGroup/SyncGroup/Heartbeat/LeaveGroup) and its members.

The data and the pure decisions about it: which protocol the members share, who
has rejoined, what each JoinGroup response says. ``ClassicGroup.transition``
is the only way to change ``state`` and checks Kafka's table
(``broker.groups.state.CLASSIC_TRANSITIONS``). The timing and the waiting (join
and sync barriers, session expiry) are ``broker.groups.classic_coordinator``'s.
"""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

from broker.errors import BrokerError
from broker.groups.state import CLASSIC_TRANSITIONS, GroupState, check_transition

__all__ = ["ClassicGroup", "ClassicMember", "JoinResult", "resolve"]


@dataclasses.dataclass(frozen=True, slots=True)
class JoinResult:
    """What one member's JoinGroup response carries."""

    generation: int
    protocol_type: str | None
    protocol_name: str | None
    leader: str
    member_id: str
    members: tuple[tuple[str, str | None, bytes], ...] = ()
    """(member id, group instance id, protocol metadata) — for the leader only."""
    skip_assignment: bool = False


@dataclasses.dataclass(eq=False)
class ClassicMember:
    member_id: str
    instance_id: str | None
    client_id: str
    client_host: str
    session_timeout_ms: int
    rebalance_timeout_ms: int
    protocol_type: str
    protocols: tuple[tuple[str, bytes], ...]
    assignment: bytes = b""
    heartbeat_deadline: float = 0.0
    join_future: asyncio.Future[Any] | None = None
    sync_future: asyncio.Future[Any] | None = None

    def metadata(self, protocol_name: str | None) -> bytes:
        return next((meta for name, meta in self.protocols if name == protocol_name), b"")

    def protocol_names(self) -> set[str]:
        return {name for name, _ in self.protocols}

    @property
    def awaiting(self) -> bool:
        """Waiting on a join or sync barrier: kept alive without heartbeats, as in Kafka."""
        return any(
            fut is not None and not fut.done() for fut in (self.join_future, self.sync_future)
        )

    def to_record(self) -> dict[str, Any]:
        return {
            "member_id": self.member_id,
            "instance_id": self.instance_id,
            "client_id": self.client_id,
            "client_host": self.client_host,
            "session_timeout_ms": self.session_timeout_ms,
            "rebalance_timeout_ms": self.rebalance_timeout_ms,
            "protocol_type": self.protocol_type,
            "protocols": [[name, meta.hex()] for name, meta in self.protocols],
            "assignment": self.assignment.hex(),
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> ClassicMember:
        return cls(
            member_id=record["member_id"],
            instance_id=record["instance_id"],
            client_id=record["client_id"],
            client_host=record["client_host"],
            session_timeout_ms=int(record["session_timeout_ms"]),
            rebalance_timeout_ms=int(record["rebalance_timeout_ms"]),
            protocol_type=record["protocol_type"],
            protocols=tuple((name, bytes.fromhex(meta)) for name, meta in record["protocols"]),
            assignment=bytes.fromhex(record["assignment"]),
        )


def resolve(future: asyncio.Future[Any] | None, value: Any) -> None:
    """Complete a waiting JoinGroup/SyncGroup with a result or a ``BrokerError``."""
    if future is not None and not future.done():
        future.set_result(value)


class ClassicGroup:
    """One classic group: members, generation, the protocol chosen, the leader."""

    group_type = "classic"

    def __init__(self, group_id: str, protocol_type: str = "") -> None:
        self.group_id = group_id
        self.state = GroupState.EMPTY
        self.protocol_type = protocol_type
        self.protocol_name: str | None = None
        self.generation = 0
        self.leader_id: str | None = None
        self.members: dict[str, ClassicMember] = {}
        self.static_members: dict[str, str] = {}
        """group.instance.id -> member id."""
        self.pending_members: dict[str, float] = {}
        """KIP-394: member ids handed out with MEMBER_ID_REQUIRED -> when they expire."""
        self.join_not_before = 0.0
        self.join_deadline = 0.0
        self.sync_deadline = 0.0
        self.timer: asyncio.TimerHandle | None = None
        self.empty_since_ms: int | None = None
        self.events: list[tuple[str, dict[str, Any]]] = []
        """Outbox events waiting for the next persist (same transaction as the state)."""

    # -- the state machine --------------------------------------------------------------

    def transition(self, target: GroupState) -> None:
        check_transition(CLASSIC_TRANSITIONS, self.state, target)
        previous, self.state = self.state, target
        self.events.append(
            (
                "group_state_changed",
                {
                    "group_id": self.group_id,
                    "group_type": self.group_type,
                    "previous_state": previous.value,
                    "state": target.value,
                    "generation": self.generation,
                    "members": len(self.members),
                },
            )
        )

    def is_in(self, *states: GroupState) -> bool:
        return self.state in states

    # -- members ------------------------------------------------------------------------

    def add(self, member: ClassicMember) -> None:
        if not self.members:
            self.protocol_type = member.protocol_type
        self.members[member.member_id] = member
        if member.instance_id is not None:
            self.static_members[member.instance_id] = member.member_id
        if self.leader_id is None:
            self.leader_id = member.member_id
        self.events.append(
            (
                "group_member_joined",
                {
                    "group_id": self.group_id,
                    "member_id": member.member_id,
                    "instance_id": member.instance_id,
                    "client_id": member.client_id,
                    "client_host": member.client_host,
                },
            )
        )

    def remove(self, member_id: str, reason: str, error: BrokerError | None = None) -> None:
        member = self.members.pop(member_id, None)
        if member is None:
            return
        if member.instance_id is not None and self.static_members.get(member.instance_id) == (
            member_id
        ):
            del self.static_members[member.instance_id]
        if error is not None:
            resolve(member.join_future, error)
            resolve(member.sync_future, error)
        if self.leader_id == member_id:
            self.leader_id = next(iter(self.members), None)
        self.events.append(
            (
                "group_member_left",
                {"group_id": self.group_id, "member_id": member_id, "reason": reason},
            )
        )

    def supports(self, protocol_type: str, protocols: tuple[tuple[str, bytes], ...]) -> bool:
        """Whether a member with these protocols may join (Kafka's ``supportsProtocols``)."""
        if not protocol_type or not protocols:
            return False
        if not self.members:
            return True
        names = {name for name, _ in protocols}
        return protocol_type == self.protocol_type and bool(names & self.candidate_protocols())

    def candidate_protocols(self) -> set[str]:
        """The protocols every member supports."""
        members = list(self.members.values())
        if not members:
            return set()
        common = members[0].protocol_names()
        for member in members[1:]:
            common &= member.protocol_names()
        return common

    def select_protocol(self) -> str:
        """Each member votes for its most preferred candidate; the most votes wins."""
        candidates = self.candidate_protocols()
        votes: dict[str, int] = {}
        for member in self.members.values():
            choice = next(name for name, _ in member.protocols if name in candidates)
            votes[choice] = votes.get(choice, 0) + 1
        # Ties go to the protocol the leader prefers, then by name (deterministic).
        leader = self.members.get(self.leader_id or "")
        preference = [name for name, _ in leader.protocols] if leader else []
        return max(
            votes,
            key=lambda name: (
                votes[name],
                -preference.index(name) if name in preference else -len(preference),
                name,
            ),
        )

    def all_joined(self) -> bool:
        return not self.pending_members and all(
            member.join_future is not None for member in self.members.values()
        )

    def max_rebalance_timeout_ms(self) -> int:
        return max((m.rebalance_timeout_ms for m in self.members.values()), default=0)

    def join_result(self, member: ClassicMember, *, skip_assignment: bool = False) -> JoinResult:
        """The JoinGroup response of ``member`` for the current generation."""
        is_leader = member.member_id == self.leader_id
        members: tuple[tuple[str, str | None, bytes], ...] = ()
        if is_leader:
            members = tuple(
                (other.member_id, other.instance_id, other.metadata(self.protocol_name))
                for other in self.members.values()
            )
        return JoinResult(
            generation=self.generation,
            protocol_type=self.protocol_type,
            protocol_name=self.protocol_name,
            leader=self.leader_id or "",
            member_id=member.member_id,
            members=members,
            skip_assignment=skip_assignment and is_leader,
        )

    def subscribed_topics(self) -> set[str] | None:
        """Topics the members subscribe to (consumer protocol metadata), None if unknown."""
        if self.protocol_type != "consumer" or self.protocol_name is None:
            return None
        topics: set[str] = set()
        for member in self.members.values():
            parsed = parse_subscription(member.metadata(self.protocol_name))
            if parsed is None:
                return None
            topics |= parsed
        return topics

    def to_record(self) -> dict[str, Any]:
        return {
            "group_type": self.group_type,
            "protocol_type": self.protocol_type,
            "state": self.state.value,
            "generation": self.generation,
            "protocol_name": self.protocol_name,
            "leader": self.leader_id,
            "members": [member.to_record() for member in self.members.values()],
            "empty_since_ms": self.empty_since_ms,
        }


def parse_subscription(metadata: bytes) -> set[str] | None:
    """Topic names of a ConsumerProtocolSubscription (any version), None if it does not parse.

    Only the topic array is read (version int16, then an int32 count of int16
    length-prefixed names): hostile or foreign metadata is never trusted further.
    """
    try:
        if len(metadata) < 6:
            return None
        count = int.from_bytes(metadata[2:6], "big", signed=True)
        if count < 0 or count > len(metadata):
            return None
        pos, topics = 6, set()
        for _ in range(count):
            length = int.from_bytes(metadata[pos : pos + 2], "big", signed=True)
            if length < 0 or pos + 2 + length > len(metadata):
                return None
            topics.add(metadata[pos + 2 : pos + 2 + length].decode("utf-8"))
            pos += 2 + length
        return topics
    except (UnicodeDecodeError, ValueError):
        return None
