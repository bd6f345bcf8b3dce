"""The classic group protocol: JoinGroup, SyncGroup, Heartbeat, LeaveGroup, as Kafka runs them.

Each request is a small function: look the group and member up, check the
state, move to the next state (``ClassicGroup.transition``), persist
(``GroupCoordinator.persist``, the one place that writes), answer. JoinGroup and
SyncGroup wait on barriers (a future per member) that the last member to
arrive, the rebalance timer or a leave completes. Timers are asyncio timer
handles on the event loop; session expiry is swept by the coordinator.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from broker.errors import (
    BrokerError,
    CoordinatorNotAvailable,
    FencedInstanceId,
    GroupMaxSizeReached,
    IllegalGeneration,
    InconsistentGroupProtocol,
    InvalidGroupId,
    InvalidSessionTimeout,
    MemberIdRequired,
    RebalanceInProgress,
    UnknownMemberId,
    UnknownServerError,
)
from broker.groups.classic import ClassicGroup, ClassicMember, JoinResult, resolve
from broker.groups.state import GroupState

if TYPE_CHECKING:
    from broker.groups.coordinator import GroupCoordinator

__all__ = ["ClassicProtocol", "JoinRequest", "LeaveOutcome", "SyncResult"]

_S = GroupState


@dataclasses.dataclass(frozen=True, slots=True)
class JoinRequest:
    group_id: str
    member_id: str
    instance_id: str | None
    protocol_type: str
    protocols: tuple[tuple[str, bytes], ...]
    session_timeout_ms: int
    rebalance_timeout_ms: int
    client_id: str
    client_host: str
    require_known_member_id: bool
    reason: str | None = None
    can_skip_assignment: bool = True  # JoinGroup v9+ (KIP-814)


@dataclasses.dataclass(frozen=True, slots=True)
class SyncResult:
    assignment: bytes
    protocol_type: str | None
    protocol_name: str | None


@dataclasses.dataclass(frozen=True, slots=True)
class LeaveOutcome:
    member_id: str
    instance_id: str | None
    error: BrokerError | None


async def _awaited(future: asyncio.Future[Any]) -> Any:
    value = await future
    if isinstance(value, BrokerError):
        raise value
    return value


class ClassicProtocol:
    """The classic protocol's requests over the coordinator's groups."""

    def __init__(self, coordinator: GroupCoordinator) -> None:
        self.coordinator = coordinator
        self.settings = coordinator.settings

    @property
    def clock(self) -> Callable[[], float]:
        return self.coordinator.clock

    # -- lookups ------------------------------------------------------------------------

    def _group(self, group_id: str) -> ClassicGroup | None:
        group = self.coordinator.groups.get(group_id)
        return group if isinstance(group, ClassicGroup) else None

    @staticmethod
    def _member(group: ClassicGroup, member_id: str, instance_id: str | None) -> ClassicMember:
        """The member, checking its static identity (FENCED_INSTANCE_ID, UNKNOWN_MEMBER_ID)."""
        if instance_id is not None:
            holder = group.static_members.get(instance_id)
            if holder is not None and holder != member_id:
                raise FencedInstanceId(f"instance id {instance_id!r} is held by another member")
        member = group.members.get(member_id)
        if member is None:
            raise UnknownMemberId(f"member {member_id!r} is not in group {group.group_id!r}")
        if instance_id is not None and member.instance_id not in (None, instance_id):
            raise FencedInstanceId(f"member {member_id!r} has another instance id")
        return member

    def _touch(self, group: ClassicGroup, member: ClassicMember) -> None:
        member.heartbeat_deadline = self.clock() + member.session_timeout_ms / 1000

    # -- JoinGroup ----------------------------------------------------------------------

    async def join(self, request: JoinRequest) -> JoinResult:
        settings = self.settings
        if not request.group_id:
            raise InvalidGroupId("the group id must not be empty")
        if not (
            settings.group_min_session_timeout_ms
            <= request.session_timeout_ms
            <= settings.group_max_session_timeout_ms
        ):
            raise InvalidSessionTimeout(
                f"session timeout {request.session_timeout_ms} ms is outside "
                f"[{settings.group_min_session_timeout_ms}, {settings.group_max_session_timeout_ms}]"
            )
        group = self._group(request.group_id)
        if group is None:
            if request.group_id in self.coordinator.groups:
                existing = self.coordinator.groups[request.group_id]
                if existing.members:
                    raise InconsistentGroupProtocol(
                        f"group {request.group_id!r} uses the consumer (KIP-848) protocol"
                    )
            if request.member_id:
                raise UnknownMemberId(f"group {request.group_id!r} does not exist")
            group = ClassicGroup(request.group_id, request.protocol_type)
            self.coordinator.groups[request.group_id] = group
        if group.state is _S.DEAD:
            raise CoordinatorNotAvailable(f"group {request.group_id!r} is being removed")
        if not group.supports(request.protocol_type, request.protocols):
            raise InconsistentGroupProtocol(
                "the member's protocol type or protocols are not the group's"
            )
        if not request.member_id:
            return await self._join_new(group, request)
        return await self._join_known(group, request)

    def _new_member(self, member_id: str, request: JoinRequest) -> ClassicMember:
        return ClassicMember(
            member_id=member_id,
            instance_id=request.instance_id,
            client_id=request.client_id,
            client_host=request.client_host,
            session_timeout_ms=request.session_timeout_ms,
            rebalance_timeout_ms=request.rebalance_timeout_ms,
            protocol_type=request.protocol_type,
            protocols=request.protocols,
        )

    async def _join_new(self, group: ClassicGroup, request: JoinRequest) -> JoinResult:
        member_id = f"{request.instance_id or request.client_id}-{uuid.uuid4()}"
        if request.instance_id is not None:
            old_id = group.static_members.get(request.instance_id)
            if old_id is not None and old_id in group.members:
                return await self._replace_static(group, old_id, member_id, request)
        elif request.require_known_member_id:
            group.pending_members[member_id] = self.clock() + request.session_timeout_ms / 1000
            raise MemberIdRequired(member_id)
        if len(group.members) >= self.settings.group_max_size:
            raise GroupMaxSizeReached(f"group {group.group_id!r} is full")
        return await self._add_and_wait(group, self._new_member(member_id, request))

    async def _add_and_wait(self, group: ClassicGroup, member: ClassicMember) -> JoinResult:
        future = member.join_future = asyncio.get_running_loop().create_future()
        self._touch(group, member)
        was_empty = group.state is _S.EMPTY
        group.add(member)
        if group.is_in(_S.PREPARING_REBALANCE):
            if self.clock() < group.join_not_before:  # initial delay: each join extends it
                self._extend_initial_delay(group)
            self._maybe_complete_join(group)
        else:
            self.prepare_rebalance(group, initial=was_empty)
        return await _awaited(future)

    async def _join_known(self, group: ClassicGroup, request: JoinRequest) -> JoinResult:
        if request.member_id in group.pending_members:
            del group.pending_members[request.member_id]
            if len(group.members) >= self.settings.group_max_size:
                raise GroupMaxSizeReached(f"group {group.group_id!r} is full")
            return await self._add_and_wait(group, self._new_member(request.member_id, request))
        member = self._member(group, request.member_id, request.instance_id)
        changed = member.protocols != request.protocols
        member.protocols = request.protocols
        member.session_timeout_ms = request.session_timeout_ms
        member.rebalance_timeout_ms = request.rebalance_timeout_ms
        member.client_id, member.client_host = request.client_id, request.client_host
        self._touch(group, member)
        if group.is_in(_S.COMPLETING_REBALANCE, _S.STABLE) and not changed:
            is_leader = member.member_id == group.leader_id
            if group.is_in(_S.COMPLETING_REBALANCE) or not is_leader:
                return group.join_result(member)  # a resend: same generation, no rebalance
        resolve(member.join_future, RebalanceInProgress("a newer JoinGroup replaced this one"))
        future = member.join_future = asyncio.get_running_loop().create_future()
        if group.is_in(_S.PREPARING_REBALANCE):
            self._maybe_complete_join(group)
        else:
            self.prepare_rebalance(group)
        return await _awaited(future)

    async def _replace_static(
        self, group: ClassicGroup, old_id: str, new_id: str, request: JoinRequest
    ) -> JoinResult:
        """A known ``group.instance.id`` rejoined with no member id: it takes the old one's place.

        In a stable group it gets the old member's assignment back with no
        rebalance; the old member id is fenced (FENCED_INSTANCE_ID).
        """
        old = group.members.pop(old_id)
        fenced = FencedInstanceId(f"instance {request.instance_id!r} rejoined as another member")
        resolve(old.join_future, fenced)
        resolve(old.sync_future, fenced)
        member = self._new_member(new_id, request)
        member.assignment = old.assignment
        group.members[new_id] = member
        group.static_members[request.instance_id or ""] = new_id
        if group.leader_id == old_id:
            group.leader_id = new_id
        self._touch(group, member)
        unchanged = group.protocol_name in member.protocol_names()
        if group.is_in(_S.STABLE, _S.COMPLETING_REBALANCE) and unchanged:
            self.coordinator.persist(group)
            if group.leader_id == new_id and not request.can_skip_assignment:
                # Before KIP-814 Kafka answers a rejoined static leader as a follower, naming
                # the old leader id: a leader told to assign would reassign, and would rejoin
                # as soon as its metadata differs from what it assigned with.
                return dataclasses.replace(group.join_result(member), leader=old_id, members=())
            return group.join_result(member, skip_assignment=True)
        future = member.join_future = asyncio.get_running_loop().create_future()
        if group.is_in(_S.PREPARING_REBALANCE):
            self._maybe_complete_join(group)
        else:
            self.prepare_rebalance(group)
        return await _awaited(future)

    # -- the rebalance ------------------------------------------------------------------

    def prepare_rebalance(self, group: ClassicGroup, *, initial: bool = False) -> None:
        """Stable/CompletingRebalance/Empty -> PreparingRebalance; start the join barrier."""
        if group.is_in(_S.COMPLETING_REBALANCE):
            error = RebalanceInProgress("the group is rebalancing again")
            for member in group.members.values():
                resolve(member.sync_future, error)
                member.sync_future = None
        now = self.clock()
        rebalance_s = group.max_rebalance_timeout_ms() / 1000
        group.join_deadline = now + rebalance_s
        delay_s = self.settings.group_initial_rebalance_delay_ms / 1000
        group.join_not_before = now + min(delay_s, rebalance_s) if initial else now
        group.transition(_S.PREPARING_REBALANCE)
        self.coordinator.persist(group)
        self._schedule(group, group.join_not_before if initial else group.join_deadline)
        self._maybe_complete_join(group)

    def _extend_initial_delay(self, group: ClassicGroup) -> None:
        delay_s = self.settings.group_initial_rebalance_delay_ms / 1000
        group.join_not_before = min(self.clock() + delay_s, group.join_deadline)
        self._schedule(group, group.join_not_before)

    def _schedule(self, group: ClassicGroup, when: float) -> None:
        if group.timer is not None:
            group.timer.cancel()
        delay = max(0.0, when - self.clock())
        group.timer = asyncio.get_running_loop().call_later(delay, self.on_timer, group)

    def on_timer(self, group: ClassicGroup) -> None:
        group.timer = None
        now = self.clock()
        if group.is_in(_S.PREPARING_REBALANCE):
            if now >= group.join_deadline:
                self._complete_join(group)
            elif now >= group.join_not_before:
                if not self._maybe_complete_join(group):
                    self._schedule(group, group.join_deadline)
            else:
                self._schedule(group, group.join_not_before)
        elif group.is_in(_S.COMPLETING_REBALANCE) and now >= group.sync_deadline:
            # Members that never sent SyncGroup are gone: rebalance without them.
            for member in list(group.members.values()):
                if member.sync_future is None:
                    group.remove(member.member_id, "sync timeout")
            self.prepare_rebalance(group)

    def _maybe_complete_join(self, group: ClassicGroup) -> bool:
        if not group.is_in(_S.PREPARING_REBALANCE):
            return False
        if group.members and self.clock() < group.join_not_before:
            return False
        if group.all_joined():
            self._complete_join(group)
            return True
        return False

    def _complete_join(self, group: ClassicGroup) -> None:
        """PreparingRebalance -> CompletingRebalance (or Empty): the next generation begins."""
        if group.timer is not None:
            group.timer.cancel()
            group.timer = None
        for member in list(group.members.values()):
            if member.join_future is None:
                group.remove(member.member_id, "rebalance timeout")
        group.pending_members.clear()
        group.generation += 1
        if not group.members:
            group.protocol_name = None
            group.leader_id = None
            group.empty_since_ms = self.coordinator.wall_ms()
            group.transition(_S.EMPTY)
            self.coordinator.persist(group)
            return
        group.empty_since_ms = None
        group.protocol_name = group.select_protocol()
        if group.leader_id not in group.members:
            group.leader_id = next(iter(group.members))
        group.transition(_S.COMPLETING_REBALANCE)
        group.sync_deadline = self.clock() + group.max_rebalance_timeout_ms() / 1000
        self.coordinator.persist(group)
        for member in group.members.values():
            future, member.join_future = member.join_future, None
            self._touch(group, member)
            resolve(future, group.join_result(member))
        self._schedule(group, group.sync_deadline)

    # -- SyncGroup ----------------------------------------------------------------------

    async def sync(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        protocol_type: str | None,
        protocol_name: str | None,
        assignments: list[tuple[str, bytes]],
    ) -> SyncResult:
        group = self._group(group_id)
        if group is None:
            raise UnknownMemberId(f"group {group_id!r} does not exist")
        if group.state is _S.DEAD:
            raise CoordinatorNotAvailable(f"group {group_id!r} is being removed")
        member = self._member(group, member_id, instance_id)
        if generation != group.generation:
            raise IllegalGeneration(f"generation {generation} is not {group.generation}")
        if (protocol_type is not None and protocol_type != group.protocol_type) or (
            protocol_name is not None and protocol_name != group.protocol_name
        ):
            raise InconsistentGroupProtocol("SyncGroup names another protocol than the group's")
        if group.is_in(_S.PREPARING_REBALANCE):
            raise RebalanceInProgress("the group is rebalancing")
        self._touch(group, member)
        if group.is_in(_S.STABLE):
            return self._sync_result(group, member)
        future = member.sync_future = asyncio.get_running_loop().create_future()
        if member_id == group.leader_id:
            self._apply_assignments(group, assignments)
        value = await future
        if isinstance(value, BrokerError):
            raise value
        return self._sync_result(group, member)

    def _sync_result(self, group: ClassicGroup, member: ClassicMember) -> SyncResult:
        return SyncResult(member.assignment, group.protocol_type, group.protocol_name)

    def _apply_assignments(self, group: ClassicGroup, assignments: list[tuple[str, bytes]]) -> None:
        total = sum(len(assignment) for _, assignment in assignments)
        if total > self.settings.group_max_assignment_bytes:
            error = UnknownServerError(
                f"the assignments ({total} bytes) exceed group_max_assignment_bytes"
            )
            for member in group.members.values():
                resolve(member.sync_future, error)
                member.sync_future = None
            self.prepare_rebalance(group)
            return
        by_member = dict(assignments)  # unknown member ids are ignored, as Kafka does
        for member in group.members.values():
            member.assignment = by_member.get(member.member_id, b"")
        group.transition(_S.STABLE)
        if group.timer is not None:
            group.timer.cancel()
            group.timer = None
        self.coordinator.persist(group)
        for member in group.members.values():
            future, member.sync_future = member.sync_future, None
            resolve(future, True)

    # -- Heartbeat and LeaveGroup -------------------------------------------------------

    def heartbeat(
        self, group_id: str, generation: int, member_id: str, instance_id: str | None
    ) -> None:
        group = self._group(group_id)
        if group is None:
            raise UnknownMemberId(f"group {group_id!r} does not exist")
        if group.state is _S.DEAD:
            raise CoordinatorNotAvailable(f"group {group_id!r} is being removed")
        member = self._member(group, member_id, instance_id)
        if generation != group.generation:
            raise IllegalGeneration(f"generation {generation} is not {group.generation}")
        self._touch(group, member)
        if group.is_in(_S.PREPARING_REBALANCE):
            raise RebalanceInProgress("rejoin the group")

    def leave(self, group_id: str, identities: list[tuple[str, str | None]]) -> list[LeaveOutcome]:
        group = self._group(group_id)
        if group is None:
            error = UnknownMemberId(f"group {group_id!r} does not exist")
            return [LeaveOutcome(member, instance, error) for member, instance in identities]
        outcomes, removed = [], False
        for member_id, instance_id in identities:
            try:
                if not member_id and instance_id is not None:
                    member_id = group.static_members.get(instance_id, "")
                    if not member_id:
                        raise UnknownMemberId(f"no member has instance id {instance_id!r}")
                if member_id in group.pending_members:
                    del group.pending_members[member_id]
                else:
                    self._member(group, member_id, instance_id)
                    group.remove(member_id, "left", UnknownMemberId("the member left"))
                removed = True
                outcomes.append(LeaveOutcome(member_id, instance_id, None))
            except BrokerError as exc:
                outcomes.append(LeaveOutcome(member_id, instance_id, exc))
        if removed:
            self.after_removal(group)
        return outcomes

    def after_removal(self, group: ClassicGroup) -> None:
        """A member or pending member is gone: rebalance, or finish the join barrier."""
        if group.is_in(_S.STABLE, _S.COMPLETING_REBALANCE):
            self.prepare_rebalance(group)
        elif group.is_in(_S.PREPARING_REBALANCE):
            self._maybe_complete_join(group)

    def expire(self, group: ClassicGroup, now: float) -> None:
        """Remove members whose session timed out, and pending member ids never used."""
        changed = False
        for member_id, deadline in list(group.pending_members.items()):
            if now >= deadline:
                del group.pending_members[member_id]
                changed = True
        for member in list(group.members.values()):
            if not member.awaiting and now >= member.heartbeat_deadline:
                group.remove(member.member_id, "session timeout")
                changed = True
        if changed:
            self.after_removal(group)
