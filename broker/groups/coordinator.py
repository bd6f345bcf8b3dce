"""The group coordinator: every group of this broker, their committed offsets, and their timers.

This single node coordinates every group. ``GroupCoordinator`` routes each
request to the protocol of the group (classic: ``ClassicProtocol``; KIP-848:
``ConsumerProtocol``), owns the committed offsets (kept in memory, written
through ``GroupStore``) and runs one background task that expires sessions,
recounts KIP-848 members (their heartbeat budget), flushes offset-commit
summaries to the outbox and expires the offsets of empty groups after
``offsets_retention_minutes``. ``persist`` is the one place that
writes a group's state.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from broker.errors import (
    BrokerError,
    GroupIdNotFound,
    GroupSubscribedToTopic,
    IllegalGeneration,
    InvalidGroupId,
    NonEmptyGroup,
    OffsetMetadataTooLarge,
    RebalanceInProgress,
    StaleMemberEpoch,
    UnknownMemberId,
    UnknownTopicOrPartition,
)
from broker.groups.classic import ClassicGroup, ClassicMember
from broker.groups.classic_coordinator import ClassicProtocol
from broker.groups.consumer import ConsumerGroup, ConsumerMember, ConsumerProtocol
from broker.groups.offsets import GroupStore, OffsetEntry, OffsetKey
from broker.groups.state import GroupState
from broker.settings import BrokerSettings

__all__ = ["GroupCoordinator", "GroupSummary", "TopicLookup"]

log = logging.getLogger(__name__)
Group = ClassicGroup | ConsumerGroup
_SWEEP_INTERVAL_S = 0.1
_MAX_EVENT_PARTITIONS = 1000


class TopicLookup(Protocol):
    """What the coordinator needs to know of topics (``broker.app`` adapts ``TopicManager``)."""

    def topic_names(self) -> list[str]: ...

    def generation(self) -> int:
        """Changes whenever a topic appears, goes or gains partitions."""

    def topic(self, name: str) -> tuple[uuid.UUID, int] | None:
        """(topic id, partition count), None when there is no such topic."""

    def topic_by_id(self, topic_id: uuid.UUID) -> tuple[str, int] | None: ...


@dataclasses.dataclass(frozen=True, slots=True)
class GroupSummary:
    group_id: str
    group_type: str
    protocol_type: str
    state: GroupState


@dataclasses.dataclass
class _CommitSummary:
    pending: dict[OffsetKey, int] = dataclasses.field(default_factory=dict)
    commits: int = 0
    last_event_ms: int = 0
    principals: set[str] = dataclasses.field(default_factory=set)  # who committed (lineage)
    client_ids: set[str] = dataclasses.field(default_factory=set)


class GroupCoordinator:
    """Groups and offsets of one broker; call ``start()`` on its event loop, ``stop()`` at the end."""

    def __init__(
        self,
        settings: BrokerSettings,
        store: GroupStore,
        topics: TopicLookup,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
    ) -> None:
        self.settings = settings
        self.store = store
        self.topics = topics
        self.clock = clock
        self.wall_ms = wall_ms
        self.groups: dict[str, Group] = {}
        self.offsets: dict[str, dict[OffsetKey, OffsetEntry]] = {}
        self.classic = ClassicProtocol(self)
        self.consumer = ConsumerProtocol(self)
        self._summaries: dict[str, _CommitSummary] = {}
        self._task: asyncio.Task[None] | None = None
        self._next_retention_check = 0.0

    # -- life cycle ---------------------------------------------------------------------

    def load(self) -> None:
        """Rebuild groups and offsets from the database (start-up, after a crash too)."""
        self.offsets = self.store.load_offsets()
        deadline_base = self.clock()
        for group_id, record in self.store.load_groups():
            if record["group_type"] == "consumer":
                self.groups[group_id] = self._load_consumer(group_id, record, deadline_base)
            else:
                self.groups[group_id] = self._load_classic(group_id, record, deadline_base)
        for group_id in self.offsets:
            if group_id not in self.groups:
                self.groups[group_id] = ClassicGroup(group_id)
        self.consumer.count_members()

    def _load_classic(self, group_id: str, record: dict[str, Any], now: float) -> ClassicGroup:
        group = ClassicGroup(group_id, record["protocol_type"])
        group.generation = int(record["generation"])
        group.empty_since_ms = record["empty_since_ms"]
        if record["state"] == GroupState.STABLE.value and record["members"]:
            # Members come back with their assignments; those that never do time out.
            group.state = GroupState.STABLE
            group.protocol_name = record["protocol_name"]
            for member_record in record["members"]:
                member = ClassicMember.from_record(member_record)
                member.heartbeat_deadline = now + member.session_timeout_ms / 1000
                group.members[member.member_id] = member
                if member.instance_id is not None:
                    group.static_members[member.instance_id] = member.member_id
            group.leader_id = record["leader"] or next(iter(group.members))
        elif group.empty_since_ms is None:
            group.empty_since_ms = self.wall_ms()
        group.events.clear()
        return group

    def _load_consumer(self, group_id: str, record: dict[str, Any], now: float) -> ConsumerGroup:
        assignor = record["protocol_name"] or self.settings.consumer_assignors[0]
        group = ConsumerGroup(group_id, assignor)
        group.group_epoch = group.assignment_epoch = int(record["generation"])
        group.empty_since_ms = record["empty_since_ms"]
        session_s = self.settings.group_consumer_session_timeout_ms / 1000
        for item in record["members"]:
            member = ConsumerMember(
                member_id=item["member_id"],
                instance_id=item["instance_id"],
                rack_id=item["rack_id"],
                client_id=item["client_id"],
                client_host=item["client_host"],
                rebalance_timeout_ms=int(item["rebalance_timeout_ms"]),
                subscribed_topic_names=tuple(item["subscribed_topic_names"]),
                subscribed_topic_regex=item["subscribed_topic_regex"],
                member_epoch=group.assignment_epoch,
                assigned={topic: set(parts) for topic, parts in item["assigned"].items()},
                session_deadline=now + session_s,
            )
            group.members[member.member_id] = member
            group.target[member.member_id] = {t: set(p) for t, p in member.assigned.items()}
            if member.instance_id is not None:
                group.static_members[member.instance_id] = member.member_id
        group.last_state = group.state
        return group

    async def start(self) -> None:
        self.load()
        self._task = asyncio.create_task(self._run(), name="group-coordinator")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for group in self.groups.values():
            if isinstance(group, ClassicGroup) and group.timer is not None:
                group.timer.cancel()
        self._flush_summaries(force=True)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(_SWEEP_INTERVAL_S)
            try:
                self.sweep()
            except Exception:
                log.exception("group coordinator sweep failed")

    def sweep(self) -> None:
        """Expire sessions; flush commit summaries; now and then, expire old offsets."""
        now = self.clock()
        for group in list(self.groups.values()):
            if isinstance(group, ClassicGroup):
                self.classic.expire(group, now)
            else:
                self.consumer.expire(group, now)
        self.consumer.count_members()
        self._flush_summaries()
        if now >= self._next_retention_check:
            self._next_retention_check = (
                now + self.settings.offsets_retention_check_interval_ms / 1000
            )
            self.expire_offsets(self.wall_ms())

    # -- persistence: the one place that writes a group ----------------------------------

    def persist(self, group: Group) -> None:
        events, group.events = list(group.events), []
        if group.state is GroupState.DEAD:
            self.store.delete_group(group.group_id, events)
            return
        self.store.save_group(group.group_id, group.to_record(), events)

    # -- group lookups --------------------------------------------------------------------

    def consumer_group(self, group_id: str, *, create: bool) -> ConsumerGroup:
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup):
            return group
        if group is not None and (group.members or not create):
            raise GroupIdNotFound(f"group {group_id!r} is not a consumer group")
        if not create:  # the client rejoins with epoch 0 on UNKNOWN_MEMBER_ID
            raise UnknownMemberId(f"group {group_id!r} does not exist")
        consumer = ConsumerGroup(group_id, self.settings.consumer_assignors[0])
        self.groups[group_id] = consumer
        return consumer

    def list_groups(
        self, states: Iterable[str] = (), types: Iterable[str] = ()
    ) -> list[GroupSummary]:
        wanted_states = {state.lower() for state in states}
        wanted_types = {kind.lower() for kind in types}
        return [
            GroupSummary(group.group_id, group.group_type, group.protocol_type, group.state)
            for group in self.groups.values()
            if (not wanted_states or group.state.value.lower() in wanted_states)
            and (not wanted_types or group.group_type in wanted_types)
        ]

    def describe(self, group_id: str) -> Group | None:
        return self.groups.get(group_id)

    def delete_groups(self, group_ids: Iterable[str]) -> dict[str, BrokerError | None]:
        results: dict[str, BrokerError | None] = {}
        for group_id in group_ids:
            group = self.groups.get(group_id)
            if not group_id:
                results[group_id] = InvalidGroupId("the group id must not be empty")
            elif group is None:
                results[group_id] = GroupIdNotFound(f"group {group_id!r} does not exist")
            elif group.members:
                results[group_id] = NonEmptyGroup(f"group {group_id!r} has members")
            else:
                self._drop(group, "deleted")
                results[group_id] = None
        return results

    def _drop(self, group: Group, reason: str) -> None:
        if isinstance(group, ClassicGroup):
            group.transition(GroupState.DEAD)
        group.events.append(("group_deleted", {"group_id": group.group_id, "reason": reason}))
        self.store.delete_group(group.group_id, group.events)
        group.events = []
        self.groups.pop(group.group_id, None)
        self.offsets.pop(group.group_id, None)
        self._summaries.pop(group.group_id, None)

    # -- offsets --------------------------------------------------------------------------

    def _check_commit_member(
        self, group: Group | None, generation: int, member_id: str, instance_id: str | None
    ) -> None:
        if generation < 0 and not member_id:
            if group is not None and group.members:
                raise UnknownMemberId("a group with members takes commits from its members only")
            return
        if group is None:
            raise IllegalGeneration("the group does not exist")
        if isinstance(group, ConsumerGroup):
            member = group.members.get(member_id)
            if member is None:
                raise UnknownMemberId(f"member {member_id!r} is not in the group")
            if generation not in (member.member_epoch, member.previous_member_epoch):
                raise StaleMemberEpoch(f"member epoch {generation} is not {member.member_epoch}")
            return
        member = self.classic._member(group, member_id, instance_id)
        if generation != group.generation:
            raise IllegalGeneration(f"generation {generation} is not {group.generation}")
        if group.state is GroupState.COMPLETING_REBALANCE:
            raise RebalanceInProgress("the group is completing a rebalance")
        self.classic._touch(group, member)

    def commit_offsets(
        self,
        group_id: str,
        generation: int,
        member_id: str,
        instance_id: str | None,
        offsets: list[tuple[str, int, int, int, str | None]],
        *,
        principal: str | None = None,
        client_id: str | None = None,
    ) -> dict[OffsetKey, BrokerError | None]:
        """Commit (topic, partition, offset, leader epoch, metadata) entries; errors per partition.

        A group-level problem (unknown member, stale generation) raises. ``principal`` and
        ``client_id`` (who commits) go into the ``group_offsets_committed`` summary (lineage).
        """
        if not group_id:
            raise InvalidGroupId("the group id must not be empty")
        group = self.groups.get(group_id)
        self._check_commit_member(group, generation, member_id, instance_id)
        if group is None:
            group = self.groups[group_id] = ClassicGroup(group_id)
            group.empty_since_ms = self.wall_ms()
            self.persist(group)
        now_ms = self.wall_ms()
        results: dict[OffsetKey, BrokerError | None] = {}
        accepted: dict[OffsetKey, OffsetEntry] = {}
        for topic, partition, offset, leader_epoch, metadata in offsets:
            key = (topic, partition)
            found = self.topics.topic(topic)
            if found is None or not 0 <= partition < found[1]:
                results[key] = UnknownTopicOrPartition(f"{topic}-{partition}")
            elif metadata is not None and len(metadata.encode()) > (
                self.settings.offset_metadata_max_bytes
            ):
                results[key] = OffsetMetadataTooLarge("the commit metadata is too long")
            else:
                accepted[key] = OffsetEntry(offset, leader_epoch, metadata, now_ms)
                results[key] = None
        if accepted:
            events = self._commit_events(group_id, accepted, now_ms, principal, client_id)
            self.store.commit(group_id, accepted, events)
            self.offsets.setdefault(group_id, {}).update(accepted)
        return results

    def check_member(
        self, group_id: str, generation: int, member_id: str, instance_id: str | None
    ) -> None:
        """TxnOffsetCommit v3+: the committing member must belong to the group's generation.

        Requests before v3 carry no member (generation -1, empty id) and are not checked.
        """
        if generation < 0 and not member_id:
            return
        self._check_commit_member(self.groups.get(group_id), generation, member_id, instance_id)

    def commit_transactional(
        self, group_id: str, entries: Mapping[OffsetKey, tuple[int, int, str | None]]
    ) -> None:
        """Offsets a committed transaction staged (TxnOffsetCommit) become the group's own.

        ``entries`` maps (topic, partition) to (offset, leader epoch, metadata). Called by the
        transaction coordinator inside the database transaction that completes it.
        """
        now_ms = self.wall_ms()
        accepted = {
            key: OffsetEntry(offset, leader_epoch, metadata, now_ms)
            for key, (offset, leader_epoch, metadata) in entries.items()
        }
        if not accepted:
            return
        if group_id not in self.groups:
            group = self.groups[group_id] = ClassicGroup(group_id)
            group.empty_since_ms = now_ms
            self.persist(group)
        self.store.commit(group_id, accepted, self._commit_events(group_id, accepted, now_ms))
        self.offsets.setdefault(group_id, {}).update(accepted)

    def _commit_events(
        self,
        group_id: str,
        accepted: dict[OffsetKey, OffsetEntry],
        now_ms: int,
        principal: str | None = None,
        client_id: str | None = None,
    ) -> list[tuple[str, dict[str, Any]]]:
        """Commits are summarised: at most one event per group per interval."""
        summary = self._summaries.setdefault(group_id, _CommitSummary())
        summary.commits += 1
        if principal:
            summary.principals.add(principal)
        if client_id:
            summary.client_ids.add(client_id)
        summary.pending.update({key: entry.offset for key, entry in accepted.items()})
        if now_ms - summary.last_event_ms < self.settings.group_offsets_event_interval_ms:
            return []
        return [self._summary_event(group_id, summary, now_ms)]

    def _summary_event(
        self, group_id: str, summary: _CommitSummary, now_ms: int
    ) -> tuple[str, dict[str, Any]]:
        items = sorted(summary.pending.items())
        payload = {
            "group_id": group_id,
            "commits": summary.commits,
            "offsets": [
                {"topic": topic, "partition": partition, "offset": offset}
                for (topic, partition), offset in items[:_MAX_EVENT_PARTITIONS]
            ],
            "truncated": len(items) > _MAX_EVENT_PARTITIONS,
            "principals": sorted(summary.principals),
            "client_ids": sorted(summary.client_ids),
        }
        summary.pending, summary.commits, summary.last_event_ms = {}, 0, now_ms
        summary.principals, summary.client_ids = set(), set()
        return ("group_offsets_committed", payload)

    def _flush_summaries(self, *, force: bool = False) -> None:
        now_ms = self.wall_ms()
        interval = self.settings.group_offsets_event_interval_ms
        due = [
            self._summary_event(group_id, summary, now_ms)
            for group_id, summary in self._summaries.items()
            if summary.pending and (force or now_ms - summary.last_event_ms >= interval)
        ]
        if due:
            self.store.append_events(due)

    def fetch_offsets(
        self,
        group_id: str,
        keys: list[OffsetKey] | None,
        member_id: str | None = None,
        member_epoch: int = -1,
    ) -> list[tuple[OffsetKey, OffsetEntry | None]]:
        """Committed offsets of ``keys`` (all of the group's when None); None where none is."""
        group = self.groups.get(group_id)
        if isinstance(group, ConsumerGroup) and member_id:
            member = group.members.get(member_id)
            if member is None:
                raise UnknownMemberId(f"member {member_id!r} is not in the group")
            if member_epoch not in (member.member_epoch, member.previous_member_epoch):
                raise StaleMemberEpoch(f"member epoch {member_epoch} is not {member.member_epoch}")
        committed = self.offsets.get(group_id, {})
        if keys is None:
            return sorted(committed.items())
        return [(key, committed.get(key)) for key in keys]

    def delete_offsets(
        self, group_id: str, keys: list[OffsetKey]
    ) -> dict[OffsetKey, BrokerError | None]:
        group = self.groups.get(group_id)
        if group is None:
            raise GroupIdNotFound(f"group {group_id!r} does not exist")
        subscribed: set[str] = set()
        if group.members:
            topics = group.subscribed_topics()
            subscribed = topics if topics is not None else {topic for topic, _ in keys}
        results: dict[OffsetKey, BrokerError | None] = {}
        deleted = []
        for key in keys:
            if key[0] in subscribed:
                results[key] = GroupSubscribedToTopic(f"the group consumes {key[0]}")
            else:
                results[key] = None
                deleted.append(key)
        committed = self.offsets.get(group_id, {})
        present = [key for key in deleted if key in committed]
        if present:
            event = (
                "group_offsets_deleted",
                {"group_id": group_id, "offsets": [list(key) for key in present]},
            )
            self.store.delete_offsets(group_id, present, [event])
            for key in present:
                committed.pop(key, None)
        return results

    def forget_topic(self, topic: str) -> int:
        """Delete every group's committed offsets of ``topic``, which was deleted, as Kafka's
        coordinator does on deleted partitions (a topic created again under the name starts
        with none); a group left without members or offsets is dropped. Returns how many."""
        forgotten = 0
        for group_id, committed in list(self.offsets.items()):
            gone = [key for key in committed if key[0] == topic]
            if not gone:
                continue
            event = (
                "group_offsets_deleted",
                {
                    "group_id": group_id,
                    "offsets": [list(key) for key in gone[:_MAX_EVENT_PARTITIONS]],
                    "reason": "topic deleted",
                },
            )
            self.store.delete_offsets(group_id, gone, [event])
            for key in gone:
                committed.pop(key, None)
            forgotten += len(gone)
            group = self.groups.get(group_id)
            if group is not None and not committed and not group.members:
                self._drop(group, "topic deleted")
        return forgotten

    def expire_offsets(self, now_ms: int) -> int:
        """Delete offsets of member-less groups older than the retention; drop groups left empty."""
        retention_ms = self.settings.offsets_retention_minutes * 60_000
        expired_total = 0
        for group in list(self.groups.values()):
            if group.members:
                continue
            committed = self.offsets.get(group.group_id, {})
            since = group.empty_since_ms or 0
            expired = [
                key
                for key, entry in committed.items()
                if max(entry.commit_timestamp_ms, since) + retention_ms <= now_ms
            ]
            if expired:
                event = (
                    "group_offsets_deleted",
                    {
                        "group_id": group.group_id,
                        "offsets": [list(key) for key in expired[:_MAX_EVENT_PARTITIONS]],
                        "reason": "retention",
                    },
                )
                self.store.delete_offsets(group.group_id, expired, [event])
                for key in expired:
                    committed.pop(key, None)
                expired_total += len(expired)
            if not committed and (since + retention_ms <= now_ms or expired):
                self._drop(group, "offsets expired")
        return expired_total
