"""Durable transaction-coordinator state in the broker's database (one row per transactional id).

Why the database and not an internal ``__transaction_state`` topic: the
coordinator's state change and its event (``transaction_committed`` /
``transaction_aborted`` in the broker outbox) then commit in one database
transaction, the default pending-offsets store commits offsets in that same
transaction, and recovery is a ``SELECT`` (docs/decisions.md).

Tables (created by ``create_tables``, idempotent, at coordinator start):

- ``broker_transactions``: ``transactional_id`` (unique), producer id/epoch,
  the previous id/epoch, ``timeout_ms``, ``state`` (Kafka's state name),
  ``partitions`` (JSON ``[[topic, partition], …]``), ``groups`` (JSON list),
  ``txn_start_ms``, ``last_update_ms``.
- ``broker_txn_pending_offsets`` / ``broker_txn_committed_offsets``: the
  default ``PendingOffsets`` (``broker.transactions.pending_offsets``).
"""

from __future__ import annotations

import json

import peewee

from broker.transactions.state import TransactionMetadata, TxnState

__all__ = [
    "CommittedOffsetRow",
    "MODELS",
    "PendingOffsetRow",
    "TransactionRow",
    "create_tables",
    "delete",
    "load_all",
    "save",
]


class TransactionRow(peewee.Model):
    transactional_id = peewee.CharField(max_length=32767, unique=True)
    producer_id = peewee.BigIntegerField()
    producer_epoch = peewee.IntegerField()
    last_producer_id = peewee.BigIntegerField(default=-1)
    last_producer_epoch = peewee.IntegerField(default=-1)
    timeout_ms = peewee.IntegerField()
    state = peewee.CharField(max_length=32)
    partitions = peewee.TextField(default="[]")
    groups = peewee.TextField(default="[]")
    txn_start_ms = peewee.BigIntegerField(default=-1)
    last_update_ms = peewee.BigIntegerField(default=-1)

    class Meta:
        table_name = "broker_transactions"


class PendingOffsetRow(peewee.Model):
    """An offset a transaction staged (TxnOffsetCommit), applied when it commits."""

    producer_id = peewee.BigIntegerField(index=True)
    group_id = peewee.CharField(max_length=32767)
    topic = peewee.CharField(max_length=249)
    partition = peewee.IntegerField()
    committed_offset = peewee.BigIntegerField()
    leader_epoch = peewee.IntegerField(default=-1)
    metadata = peewee.TextField(null=True)

    class Meta:
        table_name = "broker_txn_pending_offsets"
        indexes = ((("producer_id", "group_id", "topic", "partition"), True),)


class CommittedOffsetRow(peewee.Model):
    """A group's offset committed by a transaction (the default store, until the groups one)."""

    group_id = peewee.CharField(max_length=32767)
    topic = peewee.CharField(max_length=249)
    partition = peewee.IntegerField()
    committed_offset = peewee.BigIntegerField()
    leader_epoch = peewee.IntegerField(default=-1)
    metadata = peewee.TextField(null=True)

    class Meta:
        table_name = "broker_txn_committed_offsets"
        indexes = ((("group_id", "topic", "partition"), True),)


MODELS: list[type[peewee.Model]] = [TransactionRow, PendingOffsetRow, CommittedOffsetRow]


def create_tables(database: peewee.Database) -> None:
    """Create the tables if missing (only the broker process writes them)."""
    with database.bind_ctx(MODELS):
        database.create_tables(MODELS, safe=True)


def _to_metadata(row: TransactionRow) -> TransactionMetadata:
    return TransactionMetadata(
        transactional_id=row.transactional_id,
        producer_id=row.producer_id,
        producer_epoch=row.producer_epoch,
        timeout_ms=row.timeout_ms,
        state=TxnState(row.state),
        last_producer_id=row.last_producer_id,
        last_producer_epoch=row.last_producer_epoch,
        partitions={(topic, int(partition)) for topic, partition in json.loads(row.partitions)},
        groups=set(json.loads(row.groups)),
        txn_start_ms=row.txn_start_ms,
        last_update_ms=row.last_update_ms,
    )


def load_all(database: peewee.Database) -> list[TransactionMetadata]:
    with database.bind_ctx([TransactionRow]):
        return [_to_metadata(row) for row in TransactionRow.select()]


def save(database: peewee.Database, meta: TransactionMetadata) -> None:
    """Upsert ``meta``'s row (call inside the caller's ``database.atomic()``)."""
    values = {
        TransactionRow.producer_id: meta.producer_id,
        TransactionRow.producer_epoch: meta.producer_epoch,
        TransactionRow.last_producer_id: meta.last_producer_id,
        TransactionRow.last_producer_epoch: meta.last_producer_epoch,
        TransactionRow.timeout_ms: meta.timeout_ms,
        TransactionRow.state: meta.state.value,
        TransactionRow.partitions: json.dumps(sorted(meta.partitions)),
        TransactionRow.groups: json.dumps(sorted(meta.groups)),
        TransactionRow.txn_start_ms: meta.txn_start_ms,
        TransactionRow.last_update_ms: meta.last_update_ms,
    }
    with database.bind_ctx([TransactionRow]):
        insert = {TransactionRow.transactional_id: meta.transactional_id, **values}
        TransactionRow.insert(insert).on_conflict(
            conflict_target=[TransactionRow.transactional_id], update=values
        ).execute()


def delete(database: peewee.Database, transactional_id: str) -> None:
    with database.bind_ctx([TransactionRow]):
        TransactionRow.delete().where(TransactionRow.transactional_id == transactional_id).execute()
