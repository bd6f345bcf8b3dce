"""The transaction coordinator: every transactional id's state machine, persisted, plus markers.

Each request handler is one method here: check the state, move to the next
one (``TransactionMetadata.transition``), persist (``_persist``, one database
transaction with the outbox event when a transaction completes), answer. A
method that fails raises a ``BrokerError`` (the handler maps it with
``kafka_error``); nothing changes in memory unless the new state was persisted.

Ending a transaction (EndTxn, a timeout, a fencing InitProducerId, recovery):
``PREPARE_COMMIT``/``PREPARE_ABORT`` is persisted first — the decision is then
durable — then a COMMIT/ABORT control batch is appended to every partition of
the transaction (``PartitionLog.append_marker``), all of them fsynced through
the group commit whatever the topic's ``flush.messages``, then ``COMPLETE_*``
is persisted together with the pending offsets' commit/abort and the
``transaction_committed``/``transaction_aborted`` event. Unlike Kafka, EndTxn
answers only once the markers are written and fsynced (one process writes
them all, there is no broker to wait for), so a client's next transaction
never sees CONCURRENT_TRANSACTIONS from a slow marker write.

Expiry (``start_expiry``, one background task): a transaction left in
PREPARE_* by a marker write that failed (a disk error: the client got an
error, its retries get CONCURRENT_TRANSACTIONS) is completed again, as Kafka's
coordinator retries WriteTxnMarkers until they succeed; ONGOING transactions
past ``transaction.timeout.ms`` are aborted with an epoch bump (the producer
is fenced); transactional ids whose transaction is finished (Empty,
CompleteCommit, CompleteAbort) and that saw no change for
``transactional.id.expiration.ms`` are forgotten (row deleted), as Kafka's
coordinator does: their next InitProducerId starts over with a new producer id
and epoch 0, and a producer still holding the old id gets
INVALID_PRODUCER_ID_MAPPING.

``recover()`` (at start) loads every row and finishes the transactions a crash
left in PREPARE_*: markers are written again where the partition still has the
producer's transaction open (``append_marker`` writes nothing otherwise), then
COMPLETE_* is persisted. ONGOING transactions stay open; the timeout aborts
them unless their producer ends them first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping

import peewee

from broker.errors import (
    ConcurrentTransactions,
    InvalidProducerEpoch,
    InvalidProducerIdMapping,
    InvalidRequest,
    InvalidTransactionTimeout,
    InvalidTxnState,
    ProducerFenced,
    TransactionalIdNotFound,
    UnknownTopicOrPartition,
)
from broker.log import PartitionLog
from broker.producer_ids import ProducerIdAllocator
from broker.topics import TopicManager
from broker.topics.store import broker_outbox
from broker.transactions import store
from broker.transactions.pending_offsets import GroupMember, OffsetAndMetadata, PendingOffsets
from broker.transactions.state import TopicPartition, TransactionMetadata, TxnState

__all__ = ["NO_PRODUCER_ID", "TransactionCoordinator"]

log = logging.getLogger(__name__)

NO_PRODUCER_ID = -1
_MAX_EPOCH = 32767 - 1  # Kafka bumps to a new producer id before the epoch would overflow

Flush = Callable[[PartitionLog], Awaitable[None]]
Notify = Callable[[str, int], None]


async def _no_flush(log_: PartitionLog) -> None:
    log_.sync()


class TransactionCoordinator:
    """Transactional ids of this broker; methods run on the broker's event loop."""

    def __init__(
        self,
        database: peewee.Database,
        topics: TopicManager,
        producer_ids: ProducerIdAllocator,
        pending_offsets: PendingOffsets,
        *,
        max_timeout_ms: int,
        id_expiration_ms: int = 7 * 24 * 3600 * 1000,
        flush: Flush = _no_flush,
        notify: Notify | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.database = database
        self.topics = topics
        self.producer_ids = producer_ids
        self.pending_offsets = pending_offsets
        self.max_timeout_ms = max_timeout_ms
        self.id_expiration_ms = id_expiration_ms
        self._flush = flush
        self._notify = notify or (lambda topic, partition: None)
        self._clock = clock
        self._outbox = broker_outbox(database)
        self._txns: dict[str, TransactionMetadata] = {}
        self._ending: dict[str, asyncio.Future[None]] = {}
        self._expiry_task: asyncio.Task[None] | None = None

    def _now_ms(self) -> int:
        return int(self._clock() * 1000)

    # ------------------------------------------------------------------ lifecycle

    async def recover(self) -> None:
        """Load every transactional id and finish the transactions left in PREPARE_*."""
        store.create_tables(self.database)
        self._txns = {meta.transactional_id: meta for meta in store.load_all(self.database)}
        for meta in list(self._txns.values()):
            if meta.state is TxnState.PREPARE_EPOCH_FENCE:
                await self._end(meta.copy(), commit=False, from_state=meta.state)
            elif meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT):
                log.info(
                    "completing transaction of %r left in %s",
                    meta.transactional_id,
                    meta.state.value,
                )
                await self._complete(meta.copy())

    def start_expiry(self, interval_ms: int, id_interval_ms: int | None = None) -> None:
        """Abort timed-out transactions every ``interval_ms`` and forget expired
        transactional ids every ``id_interval_ms`` (default: the same), in one background task."""
        self._expiry_task = asyncio.get_running_loop().create_task(
            self._expire_forever(interval_ms / 1000, (id_interval_ms or interval_ms) / 1000)
        )

    async def aclose(self) -> None:
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry_task
            self._expiry_task = None

    async def _expire_forever(self, interval: float, id_interval: float) -> None:
        next_id_check = time.monotonic() + id_interval
        while True:
            await asyncio.sleep(interval)
            try:
                await self.complete_stuck()
            except Exception:  # the disk may still be failing: try again next time
                log.exception("completing prepared transactions failed")
            try:
                await self.abort_timed_out()
            except Exception:  # keep expiring; one bad transaction must not stop the others
                log.exception("aborting timed-out transactions failed")
            if time.monotonic() >= next_id_check:
                next_id_check = time.monotonic() + id_interval
                try:
                    self.expire_transactional_ids()
                except Exception:
                    log.exception("expiring transactional ids failed")

    async def complete_stuck(self) -> list[str]:
        """Write the markers of transactions whose completion failed midway (still PREPARE_*,
        nobody completing them); returns their transactional ids."""
        stuck = [
            meta
            for meta in self._txns.values()
            if meta.state in (TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT)
            and meta.transactional_id not in self._ending
        ]
        for meta in stuck:
            log.info("completing transaction of %r left in %s", meta.transactional_id, meta.state)
            await self._complete(meta.copy())
        return [meta.transactional_id for meta in stuck]

    def expire_transactional_ids(self) -> list[str]:
        """Forget the finished transactional ids idle for ``transactional.id.expiration.ms``."""
        now = self._now_ms()
        expired = [
            meta.transactional_id
            for meta in self._txns.values()
            if (meta.state is TxnState.EMPTY or meta.state.is_complete)
            and meta.transactional_id not in self._ending
            and now - meta.last_update_ms >= self.id_expiration_ms
        ]
        for transactional_id in expired:
            with self.database.atomic():
                store.delete(self.database, transactional_id)
            del self._txns[transactional_id]
            log.info("transactional id %r expired", transactional_id)
        return expired

    async def abort_timed_out(self) -> list[str]:
        """Abort (with an epoch bump, fencing the producer) every ONGOING transaction past
        its timeout; returns their transactional ids."""
        now = self._now_ms()
        expired = [
            meta
            for meta in self._txns.values()
            if meta.state is TxnState.ONGOING and now > meta.txn_start_ms + meta.timeout_ms
        ]
        done = []
        for meta in expired:
            current = self._txns.get(meta.transactional_id)
            if current is None or current.state is not TxnState.ONGOING:
                continue
            log.info(
                "transaction of %r timed out after %d ms; aborting",
                meta.transactional_id,
                meta.timeout_ms,
            )
            await self._fence_and_abort(current)
            done.append(meta.transactional_id)
        return done

    # ------------------------------------------------------------------ queries

    def get(self, transactional_id: str) -> TransactionMetadata | None:
        meta = self._txns.get(transactional_id)
        return meta.copy() if meta is not None else None

    def all(self) -> list[TransactionMetadata]:
        return [meta.copy() for meta in self._txns.values()]

    def unstable_offsets(self, group_id: str) -> set[TopicPartition]:
        """Partitions of ``group_id`` with offsets staged by a transaction not yet ended."""
        return self.pending_offsets.pending_partitions(group_id)

    def describe(self, transactional_id: str) -> TransactionMetadata:
        meta = self._txns.get(transactional_id)
        if meta is None:
            raise TransactionalIdNotFound(f"transactional id {transactional_id!r} is unknown")
        return meta.copy()

    # ------------------------------------------------------------------ InitProducerId

    async def init_producer_id(
        self,
        transactional_id: str,
        timeout_ms: int,
        producer_id: int = NO_PRODUCER_ID,
        producer_epoch: int = -1,
    ) -> tuple[int, int]:
        """A producer id and a new epoch for ``transactional_id``, fencing older producers.

        An open transaction is aborted first (its markers carry the new epoch,
        so the old producer's writes are refused). ``producer_id``/``producer_epoch``
        (KIP-360, v3+) name the caller's current ones: a mismatch is
        ``ProducerFenced``.
        """
        if not transactional_id:
            raise InvalidRequest("the transactional id must not be empty")
        if not 0 < timeout_ms <= self.max_timeout_ms:
            raise InvalidTransactionTimeout(
                f"transaction timeout {timeout_ms} ms must be between 1 and "
                f"transaction.max.timeout.ms ({self.max_timeout_ms})"
            )
        meta = self._txns.get(transactional_id)
        now = self._now_ms()
        if meta is None:
            fresh = TransactionMetadata(
                transactional_id, self.producer_ids.allocate(), 0, timeout_ms, last_update_ms=now
            )
            self._persist(fresh)
            return fresh.producer_id, fresh.producer_epoch
        await self._wait_for_ending(transactional_id)
        meta = self._txns[transactional_id]
        if producer_id != NO_PRODUCER_ID:
            if (producer_id, producer_epoch) == (
                meta.last_producer_id,
                meta.last_producer_epoch,
            ) and (meta.state.is_complete):
                # A retry of an InitProducerId that bumped, or the producer of a transaction
                # the timeout aborted: it gets the current id and epoch.
                return meta.producer_id, meta.producer_epoch
            if producer_id != meta.producer_id or producer_epoch != meta.producer_epoch:
                raise ProducerFenced(
                    f"producer {producer_id} epoch {producer_epoch} is not the current producer "
                    f"of {transactional_id!r}"
                )
        if meta.state is TxnState.ONGOING:
            await self._fence_and_abort(meta)
            meta = self._txns[transactional_id]
        bumped = meta.copy()
        bumped.timeout_ms = timeout_ms
        self._bump_epoch(bumped)
        bumped.partitions.clear()
        bumped.groups.clear()
        bumped.txn_start_ms = -1
        bumped.transition(TxnState.EMPTY, now)
        self._persist(bumped)
        return bumped.producer_id, bumped.producer_epoch

    def _bump_epoch(self, meta: TransactionMetadata) -> None:
        meta.last_producer_id, meta.last_producer_epoch = meta.producer_id, meta.producer_epoch
        if meta.producer_epoch >= _MAX_EPOCH:
            meta.producer_id, meta.producer_epoch = self.producer_ids.allocate(), 0
        else:
            meta.producer_epoch += 1

    # ------------------------------------------------------------------ adding to a transaction

    def _current(
        self, transactional_id: str, producer_id: int, producer_epoch: int
    ) -> TransactionMetadata:
        """The metadata when (producer_id, producer_epoch) is its current producer."""
        meta = self._txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            raise InvalidProducerIdMapping(
                f"producer id {producer_id} is not mapped to transactional id {transactional_id!r}"
            )
        if producer_epoch != meta.producer_epoch:
            raise ProducerFenced(
                f"producer epoch {producer_epoch} of {transactional_id!r} is not the current "
                f"epoch {meta.producer_epoch}"
            )
        if meta.state.is_preparing or transactional_id in self._ending:
            raise ConcurrentTransactions(
                f"the previous transaction of {transactional_id!r} is still completing"
            )
        return meta

    def _begin_or_continue(self, meta: TransactionMetadata, now: int) -> TransactionMetadata:
        updated = meta.copy()
        if meta.state is not TxnState.ONGOING:
            updated.partitions.clear()
            updated.groups.clear()
            updated.txn_start_ms = now
        updated.transition(TxnState.ONGOING, now)
        return updated

    def add_partitions(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[TopicPartition],
    ) -> None:
        """Put ``partitions`` in the producer's transaction (opening one when none is).

        Raises ``UnknownTopicOrPartition`` naming the missing ones (nothing is added then).
        """
        wanted = set(partitions)
        meta = self._current(transactional_id, producer_id, producer_epoch)
        missing = [tp for tp in sorted(wanted) if self.topics.log(*tp) is None]
        if missing:
            raise UnknownTopicOrPartition(
                "unknown partitions: " + ", ".join(f"{topic}-{index}" for topic, index in missing)
            )
        if meta.state is TxnState.ONGOING and wanted <= meta.partitions:
            return
        updated = self._begin_or_continue(meta, self._now_ms())
        updated.partitions |= wanted
        self._persist(updated)

    def verify_partitions(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partitions: Iterable[TopicPartition],
    ) -> set[TopicPartition]:
        """The ``partitions`` not in the producer's ongoing transaction (AddPartitionsToTxn v4
        ``verify_only``)."""
        meta = self._current(transactional_id, producer_id, producer_epoch)
        inside = meta.partitions if meta.state is TxnState.ONGOING else set()
        return set(partitions) - inside

    def add_offsets(
        self, transactional_id: str, producer_id: int, producer_epoch: int, group_id: str
    ) -> None:
        """Put ``group_id``'s offsets in the transaction (AddOffsetsToTxn)."""
        meta = self._current(transactional_id, producer_id, producer_epoch)
        if meta.state is TxnState.ONGOING and group_id in meta.groups:
            return
        updated = self._begin_or_continue(meta, self._now_ms())
        updated.groups.add(group_id)
        self._persist(updated)

    def txn_offset_commit(
        self,
        transactional_id: str,
        group_id: str,
        producer_id: int,
        producer_epoch: int,
        offsets: Mapping[TopicPartition, OffsetAndMetadata],
        member: GroupMember,
    ) -> None:
        """Stage ``offsets`` of ``group_id`` in the producer's ongoing transaction."""
        meta = self._current(transactional_id, producer_id, producer_epoch)
        if meta.state is not TxnState.ONGOING or group_id not in meta.groups:
            raise InvalidTxnState(
                f"group {group_id!r} is not in an ongoing transaction of {transactional_id!r} "
                "(AddOffsetsToTxn first)"
            )
        self.pending_offsets.stage(group_id, meta.producer_id, offsets, member)

    def check_produce(
        self,
        transactional_id: str,
        producer_id: int,
        producer_epoch: int,
        partition: TopicPartition,
    ) -> None:
        """Raise unless a transactional batch of this producer may go to ``partition`` now."""
        meta = self._txns.get(transactional_id)
        if meta is None or meta.producer_id != producer_id:
            raise InvalidProducerIdMapping(
                f"producer id {producer_id} is not mapped to transactional id {transactional_id!r}"
            )
        if producer_epoch != meta.producer_epoch:
            raise InvalidProducerEpoch(
                f"producer epoch {producer_epoch} of {transactional_id!r} is not the current "
                f"epoch {meta.producer_epoch}"
            )
        if meta.state is not TxnState.ONGOING or partition not in meta.partitions:
            raise InvalidTxnState(
                f"partition {partition[0]}-{partition[1]} is not in an ongoing transaction of "
                f"{transactional_id!r} (AddPartitionsToTxn first)"
            )

    # ------------------------------------------------------------------ ending

    async def end_txn(
        self, transactional_id: str, producer_id: int, producer_epoch: int, commit: bool
    ) -> None:
        """Commit or abort the producer's transaction (EndTxn); a retry of a finished one is fine."""
        meta = self._current(transactional_id, producer_id, producer_epoch)
        if meta.state is TxnState.ONGOING:
            await self._end(meta.copy(), commit=commit, from_state=meta.state)
            return
        finished = {TxnState.COMPLETE_COMMIT: True, TxnState.COMPLETE_ABORT: False}.get(meta.state)
        if finished is commit:
            return  # a retry of the EndTxn that ended it
        raise InvalidTxnState(
            f"cannot {'commit' if commit else 'abort'} {transactional_id!r}: its transaction is "
            f"{meta.state.value}"
        )

    async def _fence_and_abort(self, meta: TransactionMetadata) -> None:
        """Bump the epoch of an ONGOING transaction and abort it with the new epoch."""
        fenced = meta.copy()
        fenced.transition(TxnState.PREPARE_EPOCH_FENCE, self._now_ms())
        self._bump_epoch(fenced)
        await self._end(fenced, commit=False, from_state=TxnState.PREPARE_EPOCH_FENCE)

    async def _end(self, meta: TransactionMetadata, *, commit: bool, from_state: TxnState) -> None:
        del from_state  # the transition table checks where we come from
        meta.transition(
            TxnState.PREPARE_COMMIT if commit else TxnState.PREPARE_ABORT, self._now_ms()
        )
        self._persist(meta)
        await self._complete(meta.copy())

    async def _complete(self, meta: TransactionMetadata) -> None:
        """Write the markers of a PREPARE_* transaction, then persist COMPLETE_*."""
        commit = meta.state is TxnState.PREPARE_COMMIT
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ending[meta.transactional_id] = done
        try:
            await self._write_markers(meta, commit)
            completed = meta.copy()
            completed.transition(
                TxnState.COMPLETE_COMMIT if commit else TxnState.COMPLETE_ABORT, self._now_ms()
            )
            event = "transaction_committed" if commit else "transaction_aborted"
            self._persist(completed, event=event, settle_offsets=commit)
        finally:
            del self._ending[meta.transactional_id]
            done.set_result(None)

    async def _write_markers(self, meta: TransactionMetadata, commit: bool) -> None:
        """Append the markers, then fsync every partition written, whatever its
        ``flush.messages``: COMPLETE_* (and the settled offsets) must never be durable while a
        marker is not, or a power loss would leave the transaction open in that partition
        (its LSO stuck) with nothing left to end it (Kafka waits for the markers' replication)."""
        now = self._now_ms()
        written: list[tuple[str, int, PartitionLog]] = []
        for topic, index in sorted(meta.partitions):
            partition_log = self.topics.log(topic, index)
            if partition_log is None or partition_log.closed:
                continue  # deleted meanwhile: nothing left to mark
            result = partition_log.append_marker(
                meta.producer_id,
                meta.producer_epoch,
                commit=commit,
                now_ms=now,
                defer_flush=True,
            )
            if result is not None:
                written.append((topic, index, partition_log))
        await asyncio.gather(*(self._flush(partition_log) for _, _, partition_log in written))
        for topic, index, _ in written:
            self._notify(topic, index)

    async def _wait_for_ending(self, transactional_id: str) -> None:
        ending = self._ending.get(transactional_id)
        if ending is not None:
            await asyncio.shield(ending)

    # ------------------------------------------------------------------ persistence

    def _persist(
        self, meta: TransactionMetadata, *, event: str | None = None, settle_offsets: bool = False
    ) -> None:
        """Write ``meta`` (with its event and the pending offsets' fate) in one transaction,
        then make it the in-memory state."""
        with self.database.atomic():
            store.save(self.database, meta)
            if event is not None:
                if settle_offsets:
                    self.pending_offsets.commit(meta.producer_id)
                else:
                    self.pending_offsets.abort(meta.producer_id)
                self._outbox.append(
                    event,
                    {
                        "transactional_id": meta.transactional_id,
                        "producer_id": meta.producer_id,
                        "producer_epoch": meta.producer_epoch,
                        "partitions": [
                            {"topic": topic, "partition": index}
                            for topic, index in sorted(meta.partitions)
                        ],
                        "groups": sorted(meta.groups),
                    },
                )
        self._txns[meta.transactional_id] = meta
