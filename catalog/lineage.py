"""Lineage as observed: who produces to a topic, which consumer groups read it.

Fed by broker events (``broker_outbox``), applied by the indexer:

- consumer groups (``broker.groups``): ``group_member_joined`` (``group_id``,
  ``client_id``), ``group_state_changed`` (``group_id``, ``state``, ``members``),
  ``group_offsets_committed`` (``group_id``, ``offsets``: ``[{topic, partition,
  offset}]``), ``group_deleted`` (``group_id``);
- producers seen at the gate: ``producer_seen`` (``topic``, ``client_id``,
  ``principal``, ``schema_id`` (or a list ``schema_ids``), ``first_seen_ms``,
  ``last_seen_ms`` and ``count``, the gate recorder's running total per
  topic/client/principal/schema id; or ``records``, new records to add).
  Records per producer are therefore the highest running total reported, a
  lower bound after a broker restart.

Tables ``catalog_producer`` (topic, client, principal → records per schema id,
first/last seen, total records), ``catalog_group`` (group → state, client ids) and
``catalog_group_topic`` (group, topic → committed offsets by partition).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import peewee

from registry.outbox import Event

__all__ = ["MIGRATIONS", "LineageStore", "apply_event"]


def _create_tables(database: peewee.Database) -> None:
    for statement in (
        "CREATE TABLE IF NOT EXISTS catalog_producer (topic TEXT NOT NULL, "
        "client_id TEXT NOT NULL, principal TEXT NOT NULL, schema_ids TEXT NOT NULL, "
        "first_seen_ms BIGINT NOT NULL, last_seen_ms BIGINT NOT NULL, records BIGINT NOT NULL, "
        "PRIMARY KEY (topic, client_id, principal))",
        "CREATE TABLE IF NOT EXISTS catalog_group (group_id TEXT PRIMARY KEY, "
        "state TEXT, client_ids TEXT NOT NULL DEFAULT '[]', members INTEGER, "
        "updated_at_ms BIGINT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS catalog_group_topic (group_id TEXT NOT NULL, "
        "topic TEXT NOT NULL, offsets TEXT NOT NULL DEFAULT '{}', commits BIGINT NOT NULL, "
        "last_commit_ms BIGINT NOT NULL, PRIMARY KEY (group_id, topic))",
        "CREATE INDEX IF NOT EXISTS catalog_group_topic_topic ON catalog_group_topic (topic)",
    ):
        database.execute_sql(statement)


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_tables]


def _now_ms() -> int:
    return int(time.time() * 1000)


class LineageStore:
    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self.p = database.param

    def _run(self, text: str, params: tuple[Any, ...] = ()) -> Any:
        return self.database.execute_sql(text.replace("?", self.p), params)

    # -- writes (inside the indexer's transaction) ----------------------------------------

    def producer_seen(
        self,
        topic: str,
        client_id: str,
        principal: str,
        schema_ids: list[int],
        *,
        records: int,
        cumulative: bool,
        first_ms: int,
        last_ms: int,
    ) -> None:
        """Record a producer. Counts are kept per schema id (column ``schema_ids``: a JSON
        object schema id -> records); ``cumulative``: ``records`` is a running total for
        the (one) schema id, so the highest is kept, else it is added."""
        found = self._run(
            "SELECT schema_ids, first_seen_ms, last_seen_ms FROM catalog_producer "
            "WHERE topic = ? AND client_id = ? AND principal = ?",
            (topic, client_id, principal),
        ).fetchone()
        counts: dict[str, int] = json.loads(found[0]) if found else {}
        keys = [str(schema_id) for schema_id in schema_ids] or ["none"]
        for key in keys:
            counts.setdefault(key, 0)
        if cumulative:
            counts[keys[0]] = max(counts[keys[0]], records)
        else:
            counts[keys[0]] += records
        first = min(int(found[1]), first_ms) if found else first_ms
        last = max(int(found[2]), last_ms) if found else last_ms
        self._run(
            "INSERT INTO catalog_producer (topic, client_id, principal, schema_ids, "
            "first_seen_ms, last_seen_ms, records) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (topic, client_id, principal) DO UPDATE SET "
            "schema_ids = excluded.schema_ids, first_seen_ms = excluded.first_seen_ms, "
            "last_seen_ms = excluded.last_seen_ms, records = excluded.records",
            (topic, client_id, principal, json.dumps(counts), first, last, sum(counts.values())),
        )

    def group_seen(
        self,
        group_id: str,
        *,
        client_id: str | None = None,
        state: str | None = None,
        members: int | None = None,
    ) -> None:
        found = self._run(
            "SELECT client_ids, state, members FROM catalog_group WHERE group_id = ?", (group_id,)
        ).fetchone()
        clients = json.loads(found[0]) if found else []
        if client_id and client_id not in clients:
            clients.append(client_id)
        new_state = state if state is not None else (found[1] if found else None)
        new_members = members if members is not None else (found[2] if found else None)
        self._run(
            "INSERT INTO catalog_group (group_id, state, client_ids, members, updated_at_ms) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT (group_id) DO UPDATE SET state = excluded.state, "
            "client_ids = excluded.client_ids, members = excluded.members, "
            "updated_at_ms = excluded.updated_at_ms",
            (group_id, new_state, json.dumps(clients), new_members, _now_ms()),
        )

    def offsets_committed(self, group_id: str, offsets: list[dict[str, Any]], at_ms: int) -> None:
        by_topic: dict[str, dict[str, int]] = {}
        for item in offsets:
            by_topic.setdefault(str(item["topic"]), {})[str(item["partition"])] = int(
                item["offset"]
            )
        for topic, partitions in by_topic.items():
            found = self._run(
                "SELECT offsets FROM catalog_group_topic WHERE group_id = ? AND topic = ?",
                (group_id, topic),
            ).fetchone()
            merged = {**(json.loads(found[0]) if found else {}), **partitions}
            self._run(
                "INSERT INTO catalog_group_topic (group_id, topic, offsets, commits, last_commit_ms) "
                "VALUES (?, ?, ?, 1, ?) ON CONFLICT (group_id, topic) DO UPDATE SET "
                "offsets = excluded.offsets, commits = catalog_group_topic.commits + 1, "
                "last_commit_ms = excluded.last_commit_ms",
                (group_id, topic, json.dumps(merged), at_ms),
            )
        if not self._run("SELECT 1 FROM catalog_group WHERE group_id = ?", (group_id,)).fetchone():
            self.group_seen(group_id)

    def group_deleted(self, group_id: str) -> None:
        self._run("DELETE FROM catalog_group_topic WHERE group_id = ?", (group_id,))
        self._run("DELETE FROM catalog_group WHERE group_id = ?", (group_id,))

    # -- reads --------------------------------------------------------------------------

    def producers(self, topic: str | None = None) -> list[dict[str, Any]]:
        where, params = ("WHERE topic = ?", (topic,)) if topic is not None else ("", ())
        rows = self._run(
            "SELECT topic, client_id, principal, schema_ids, first_seen_ms, last_seen_ms, records "
            f"FROM catalog_producer {where} ORDER BY topic, client_id, principal",
            params,
        ).fetchall()
        return [
            {
                "topic": row[0],
                "clientId": row[1],
                "principal": row[2],
                "schemaIds": sorted(int(k) for k in json.loads(row[3]) if k != "none"),
                "firstSeenMs": int(row[4]),
                "lastSeenMs": int(row[5]),
                "records": int(row[6]),
            }
            for row in rows
        ]

    def group_topics(
        self, *, topic: str | None = None, group_id: str | None = None
    ) -> list[dict[str, Any]]:
        column, value = ("t.topic", topic) if topic is not None else ("t.group_id", group_id)
        rows = self._run(
            "SELECT t.group_id, t.topic, t.offsets, t.commits, t.last_commit_ms, g.state, "
            "g.client_ids FROM catalog_group_topic t LEFT JOIN catalog_group g "
            f"ON g.group_id = t.group_id WHERE {column} = ? ORDER BY t.group_id, t.topic",
            (value,),
        ).fetchall()
        return [
            {
                "groupId": row[0],
                "topic": row[1],
                "offsets": [
                    {"partition": int(p), "offset": o}
                    for p, o in sorted(json.loads(row[2]).items(), key=lambda kv: int(kv[0]))
                ],
                "commits": int(row[3]),
                "lastCommitMs": int(row[4]),
                "state": row[5],
                "clientIds": json.loads(row[6]) if row[6] else [],
            }
            for row in rows
        ]

    def group(self, group_id: str) -> dict[str, Any] | None:
        row = self._run(
            "SELECT group_id, state, client_ids, members FROM catalog_group WHERE group_id = ?",
            (group_id,),
        ).fetchone()
        if row is None:
            return None
        return {
            "groupId": row[0],
            "state": row[1],
            "clientIds": json.loads(row[2]),
            "members": row[3],
        }


def _schema_ids(payload: dict[str, Any] | Any) -> list[int]:
    ids = payload.get("schema_ids")
    if ids is None and payload.get("schema_id") is not None:
        ids = [payload["schema_id"]]
    return [int(i) for i in ids or [] if isinstance(i, int | str) and str(i).lstrip("-").isdigit()]


def apply_event(store: LineageStore, event: Event) -> None:
    """Record what a broker event says about lineage (other events are ignored)."""
    payload = event.payload
    name = event.name
    if name == "producer_seen":
        cumulative = "count" in payload  # the gate's recorder sends running totals
        seen_ms = int(payload.get("at_ms") or event.created_at_ms)
        store.producer_seen(
            str(payload["topic"]),
            str(payload.get("client_id") or ""),
            str(payload.get("principal") or "User:ANONYMOUS"),
            _schema_ids(payload),
            records=int(payload.get("count") if cumulative else payload.get("records") or 0),
            cumulative=cumulative,
            first_ms=int(payload.get("first_seen_ms") or seen_ms),
            last_ms=int(payload.get("last_seen_ms") or seen_ms),
        )
    elif name == "group_member_joined":
        store.group_seen(str(payload["group_id"]), client_id=payload.get("client_id"))
    elif name == "group_state_changed":
        store.group_seen(
            str(payload["group_id"]), state=payload.get("state"), members=payload.get("members")
        )
    elif name == "group_offsets_committed":
        store.offsets_committed(
            str(payload["group_id"]), list(payload.get("offsets") or []), event.created_at_ms
        )
    elif name == "group_deleted":
        store.group_deleted(str(payload["group_id"]))
