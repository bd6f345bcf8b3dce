"""Durable group state: committed offsets and group records, each change with its outbox events.

``GroupStore`` is the coordinator's only way to the database. Every write is one
transaction holding the change and the events announcing it (``registry.outbox``
in the broker's outbox), so a commit is durable once the response is sent
(SQLite WAL or PostgreSQL, surviving ``kill -9``) and no event is announced for
a change that rolled back.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Iterable, Mapping
from typing import Any

import peewee

from broker.groups.store import MODELS, GroupOffset, GroupRecord
from registry.outbox import Outbox

__all__ = ["GroupStore", "OffsetEntry", "OffsetKey"]

OffsetKey = tuple[str, int]
"""(topic, partition)."""

Events = Iterable[tuple[str, Mapping[str, Any]]]


@dataclasses.dataclass(frozen=True, slots=True)
class OffsetEntry:
    offset: int
    leader_epoch: int
    metadata: str | None
    commit_timestamp_ms: int


class GroupStore:
    """Reads at start-up, writes on every group change (``GroupCoordinator.persist``)."""

    def __init__(self, database: peewee.Database, outbox: Outbox) -> None:
        self.database = database
        self.outbox = outbox
        database.bind(MODELS)

    def load_offsets(self) -> dict[str, dict[OffsetKey, OffsetEntry]]:
        offsets: dict[str, dict[OffsetKey, OffsetEntry]] = {}
        for row in GroupOffset.select():
            offsets.setdefault(row.group_id, {})[(row.topic, row.partition)] = OffsetEntry(
                row.committed_offset, row.leader_epoch, row.metadata, row.commit_timestamp_ms
            )
        return offsets

    def load_groups(self) -> list[tuple[str, dict[str, Any]]]:
        """Each persisted group as (group id, the record ``to_record`` wrote)."""
        loaded = []
        for row in GroupRecord.select():
            loaded.append(
                (
                    row.group_id,
                    {
                        "group_type": row.group_type,
                        "protocol_type": row.protocol_type,
                        "state": row.state,
                        "generation": row.generation,
                        "protocol_name": row.protocol_name,
                        "leader": row.leader,
                        "members": json.loads(row.members),
                        "empty_since_ms": row.empty_since_ms,
                    },
                )
            )
        return loaded

    def _append(self, events: Events) -> None:
        for name, payload in events:
            self.outbox.append(name, payload)

    def save_group(self, group_id: str, record: Mapping[str, Any], events: Events) -> None:
        """Upsert the group's record and write its pending events, in one transaction."""
        now_ms = int(time.time() * 1000)
        values = {
            "group_type": record["group_type"],
            "protocol_type": record["protocol_type"] or "",
            "state": record["state"],
            "generation": record["generation"],
            "protocol_name": record["protocol_name"],
            "leader": record["leader"],
            "members": json.dumps(record["members"], separators=(",", ":")),
            "empty_since_ms": record["empty_since_ms"],
            "updated_at_ms": now_ms,
        }
        with self.database.atomic():
            GroupRecord.insert(group_id=group_id, **values).on_conflict(
                conflict_target=[GroupRecord.group_id], update=values
            ).execute()
            self._append(events)

    def delete_group(self, group_id: str, events: Events) -> None:
        with self.database.atomic():
            GroupRecord.delete().where(GroupRecord.group_id == group_id).execute()
            GroupOffset.delete().where(GroupOffset.group_id == group_id).execute()
            self._append(events)

    def commit(
        self, group_id: str, entries: Mapping[OffsetKey, OffsetEntry], events: Events
    ) -> None:
        rows = [
            {
                "group_id": group_id,
                "topic": topic,
                "partition": partition,
                "committed_offset": entry.offset,
                "leader_epoch": entry.leader_epoch,
                "metadata": entry.metadata,
                "commit_timestamp_ms": entry.commit_timestamp_ms,
            }
            for (topic, partition), entry in entries.items()
        ]
        with self.database.atomic():
            if rows:
                GroupOffset.insert_many(rows).on_conflict(
                    conflict_target=[
                        GroupOffset.group_id,
                        GroupOffset.topic,
                        GroupOffset.partition,
                    ],
                    preserve=[
                        GroupOffset.committed_offset,
                        GroupOffset.leader_epoch,
                        GroupOffset.metadata,
                        GroupOffset.commit_timestamp_ms,
                    ],
                ).execute()
            self._append(events)

    def delete_offsets(self, group_id: str, keys: Iterable[OffsetKey], events: Events) -> None:
        with self.database.atomic():
            for topic, partition in keys:
                GroupOffset.delete().where(
                    (GroupOffset.group_id == group_id)
                    & (GroupOffset.topic == topic)
                    & (GroupOffset.partition == partition)
                ).execute()
            self._append(events)

    def append_events(self, events: Events) -> None:
        with self.database.atomic():
            self._append(events)
