"""The seam between transactions and consumer-group offsets: offsets staged by a transaction.

TxnOffsetCommit stages a group's offsets under the producer id of the
transaction; they become the group's committed offsets only when that
transaction commits, and vanish when it aborts. The group coordinator (built
separately) owns committed offsets, so the transaction coordinator talks to it
only through ``PendingOffsets``:

- ``stage(group_id, producer_id, offsets, member)`` — from TxnOffsetCommit;
  ``member`` carries generation/member id (v3+) for the group store to check
  (raise a ``BrokerError`` such as ILLEGAL_GENERATION to refuse);
- ``pending_partitions(group_id)`` — the partitions of ``group_id`` with an
  offset staged by an unfinished transaction (OffsetFetch ``require_stable``
  answers UNSTABLE_OFFSET_COMMIT for them);
- ``commit(producer_id)`` / ``abort(producer_id)`` — when the transaction
  completes. Both are called inside the database transaction that records the
  completion, so a store in the same database commits atomically with it; they
  must be idempotent (recovery may complete a transaction again).

``GroupPendingOffsets`` is what the broker uses: staged rows in
``broker_txn_pending_offsets``, checked against the group's generation and, on
commit, handed to the group coordinator, so OffsetFetch answers them like any
other commit. ``DatabasePendingOffsets`` alone (committed rows in
``broker_txn_committed_offsets``) serves a broker without a group coordinator.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Protocol

import peewee

from broker.groups import GroupCoordinator
from broker.transactions.state import TopicPartition
from broker.transactions.store import CommittedOffsetRow, PendingOffsetRow

__all__ = [
    "DatabasePendingOffsets",
    "GroupMember",
    "GroupPendingOffsets",
    "OffsetAndMetadata",
    "PendingOffsets",
]


@dataclasses.dataclass(frozen=True, slots=True)
class OffsetAndMetadata:
    offset: int
    leader_epoch: int = -1
    metadata: str | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class GroupMember:
    """Who committed (TxnOffsetCommit v3+; generation -1 and empty member id before)."""

    generation_id: int = -1
    member_id: str = ""
    group_instance_id: str | None = None


class PendingOffsets(Protocol):
    def stage(
        self,
        group_id: str,
        producer_id: int,
        offsets: Mapping[TopicPartition, OffsetAndMetadata],
        member: GroupMember,
    ) -> None: ...

    def pending_partitions(self, group_id: str) -> set[TopicPartition]: ...

    def commit(self, producer_id: int) -> None: ...

    def abort(self, producer_id: int) -> None: ...


class DatabasePendingOffsets:
    """Staged and committed offsets in the broker's database (the default store)."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self._models = [PendingOffsetRow, CommittedOffsetRow]

    def stage(
        self,
        group_id: str,
        producer_id: int,
        offsets: Mapping[TopicPartition, OffsetAndMetadata],
        member: GroupMember,
    ) -> None:
        with self.database.bind_ctx(self._models), self.database.atomic():
            for (topic, partition), value in offsets.items():
                row = {
                    PendingOffsetRow.committed_offset: value.offset,
                    PendingOffsetRow.leader_epoch: value.leader_epoch,
                    PendingOffsetRow.metadata: value.metadata,
                }
                PendingOffsetRow.insert(
                    {
                        PendingOffsetRow.producer_id: producer_id,
                        PendingOffsetRow.group_id: group_id,
                        PendingOffsetRow.topic: topic,
                        PendingOffsetRow.partition: partition,
                        **row,
                    }
                ).on_conflict(
                    conflict_target=[
                        PendingOffsetRow.producer_id,
                        PendingOffsetRow.group_id,
                        PendingOffsetRow.topic,
                        PendingOffsetRow.partition,
                    ],
                    update=row,
                ).execute()

    def pending_partitions(self, group_id: str) -> set[TopicPartition]:
        with self.database.bind_ctx(self._models):
            query = PendingOffsetRow.select(PendingOffsetRow.topic, PendingOffsetRow.partition)
            return {
                (row.topic, row.partition)
                for row in query.where(PendingOffsetRow.group_id == group_id)
            }

    def commit(self, producer_id: int) -> None:
        with self.database.bind_ctx(self._models), self.database.atomic():
            staged = list(
                PendingOffsetRow.select().where(PendingOffsetRow.producer_id == producer_id)
            )
            for row in staged:
                values = {
                    CommittedOffsetRow.committed_offset: row.committed_offset,
                    CommittedOffsetRow.leader_epoch: row.leader_epoch,
                    CommittedOffsetRow.metadata: row.metadata,
                }
                CommittedOffsetRow.insert(
                    {
                        CommittedOffsetRow.group_id: row.group_id,
                        CommittedOffsetRow.topic: row.topic,
                        CommittedOffsetRow.partition: row.partition,
                        **values,
                    }
                ).on_conflict(
                    conflict_target=[
                        CommittedOffsetRow.group_id,
                        CommittedOffsetRow.topic,
                        CommittedOffsetRow.partition,
                    ],
                    update=values,
                ).execute()
            PendingOffsetRow.delete().where(PendingOffsetRow.producer_id == producer_id).execute()

    def abort(self, producer_id: int) -> None:
        with self.database.bind_ctx(self._models):
            PendingOffsetRow.delete().where(PendingOffsetRow.producer_id == producer_id).execute()

    def committed(self, group_id: str) -> dict[TopicPartition, OffsetAndMetadata]:
        """The offsets transactions committed for ``group_id``."""
        with self.database.bind_ctx(self._models):
            return {
                (row.topic, row.partition): OffsetAndMetadata(
                    row.committed_offset, row.leader_epoch, row.metadata
                )
                for row in CommittedOffsetRow.select().where(
                    CommittedOffsetRow.group_id == group_id
                )
            }

    def pending(self, producer_id: int) -> dict[tuple[str, str, int], int]:
        """Staged offsets of ``producer_id``: (group, topic, partition) -> offset (for tests)."""
        with self.database.bind_ctx(self._models):
            return {
                (row.group_id, row.topic, row.partition): row.committed_offset
                for row in PendingOffsetRow.select().where(
                    PendingOffsetRow.producer_id == producer_id
                )
            }


class GroupPendingOffsets(DatabasePendingOffsets):
    """Staged in the database, committed into the consumer-group coordinator's offsets."""

    def __init__(
        self, database: peewee.Database, coordinator: Callable[[], GroupCoordinator | None]
    ) -> None:
        super().__init__(database)
        self._coordinator = coordinator

    def stage(
        self,
        group_id: str,
        producer_id: int,
        offsets: Mapping[TopicPartition, OffsetAndMetadata],
        member: GroupMember,
    ) -> None:
        coordinator = self._coordinator()
        if coordinator is not None:
            coordinator.check_member(
                group_id, member.generation_id, member.member_id, member.group_instance_id
            )
        super().stage(group_id, producer_id, offsets, member)

    def commit(self, producer_id: int) -> None:
        coordinator = self._coordinator()
        if coordinator is None:
            super().commit(producer_id)
            return
        with self.database.bind_ctx(self._models), self.database.atomic():
            staged = list(
                PendingOffsetRow.select().where(PendingOffsetRow.producer_id == producer_id)
            )
            by_group: dict[str, dict[TopicPartition, tuple[int, int, str | None]]] = {}
            for row in staged:
                by_group.setdefault(row.group_id, {})[(row.topic, row.partition)] = (
                    row.committed_offset,
                    row.leader_epoch,
                    row.metadata,
                )
            for group_id, entries in by_group.items():
                coordinator.commit_transactional(group_id, entries)
            PendingOffsetRow.delete().where(PendingOffsetRow.producer_id == producer_id).execute()
