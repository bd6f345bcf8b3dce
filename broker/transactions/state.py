"""A transactional id's metadata and the one table of legal state transitions.

The states and their meaning are Kafka's ``TransactionState``:

- ``EMPTY``: a producer id and epoch are assigned, no transaction is open;
- ``ONGOING``: partitions (and consumer groups' offsets) were added;
- ``PREPARE_COMMIT`` / ``PREPARE_ABORT``: EndTxn (or a timeout, or a fencing
  InitProducerId) decided the outcome, which is durable; markers are being
  written to every partition of the transaction;
- ``COMPLETE_COMMIT`` / ``COMPLETE_ABORT``: every marker is written;
- ``PREPARE_EPOCH_FENCE``: a newer producer (or the timeout) fenced the
  producer of an ongoing transaction; it is aborted next, with the bumped epoch;
- ``DEAD``: the transactional id expired (kept for the table; not used yet).

``TransactionMetadata.transition`` is the only way to change ``state``; a move
the table does not allow is a bug and raises ``IllegalTransition``.
"""

from __future__ import annotations

import dataclasses
import enum

__all__ = [
    "IllegalTransition",
    "TRANSITIONS",
    "TopicPartition",
    "TransactionMetadata",
    "TxnState",
]

TopicPartition = tuple[str, int]


class TxnState(enum.Enum):
    """A transactional id's state; the value is Kafka's name (DescribeTransactions shows it)."""

    EMPTY = "Empty"
    ONGOING = "Ongoing"
    PREPARE_COMMIT = "PrepareCommit"
    PREPARE_ABORT = "PrepareAbort"
    COMPLETE_COMMIT = "CompleteCommit"
    COMPLETE_ABORT = "CompleteAbort"
    PREPARE_EPOCH_FENCE = "PrepareEpochFence"
    DEAD = "Dead"

    @property
    def is_preparing(self) -> bool:
        """Markers are being written: other requests answer CONCURRENT_TRANSACTIONS."""
        return self in _PREPARING

    @property
    def is_complete(self) -> bool:
        """No transaction is open (a new one may begin)."""
        return self in _COMPLETE


_PREPARING = frozenset(
    {TxnState.PREPARE_COMMIT, TxnState.PREPARE_ABORT, TxnState.PREPARE_EPOCH_FENCE}
)
_COMPLETE = frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT})

TRANSITIONS: dict[TxnState, frozenset[TxnState]] = {
    # to-state: the states it may be entered from (Kafka's TransactionState.validPreviousStates)
    TxnState.EMPTY: frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
    TxnState.ONGOING: frozenset(
        {TxnState.ONGOING, TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}
    ),
    TxnState.PREPARE_COMMIT: frozenset({TxnState.ONGOING}),
    TxnState.PREPARE_ABORT: frozenset({TxnState.ONGOING, TxnState.PREPARE_EPOCH_FENCE}),
    TxnState.COMPLETE_COMMIT: frozenset({TxnState.PREPARE_COMMIT}),
    TxnState.COMPLETE_ABORT: frozenset({TxnState.PREPARE_ABORT}),
    TxnState.PREPARE_EPOCH_FENCE: frozenset({TxnState.ONGOING}),
    TxnState.DEAD: frozenset({TxnState.EMPTY, TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT}),
}


class IllegalTransition(RuntimeError):
    """A state change the transition table forbids (a coordinator bug, never client input)."""


@dataclasses.dataclass(slots=True)
class TransactionMetadata:
    """What the coordinator knows of one transactional id (one durable row)."""

    transactional_id: str
    producer_id: int
    producer_epoch: int
    timeout_ms: int
    state: TxnState = TxnState.EMPTY
    last_producer_id: int = -1
    last_producer_epoch: int = -1
    """The id and epoch before the last bump: a retried or timed-out producer is recognised."""
    partitions: set[TopicPartition] = dataclasses.field(default_factory=set)
    groups: set[str] = dataclasses.field(default_factory=set)
    """Consumer groups whose offsets AddOffsetsToTxn put in the transaction."""
    txn_start_ms: int = -1
    last_update_ms: int = -1

    def transition(self, to: TxnState, now_ms: int) -> None:
        if self.state not in TRANSITIONS[to]:
            raise IllegalTransition(
                f"transactional id {self.transactional_id!r}: {self.state.value} -> {to.value}"
            )
        self.state = to
        self.last_update_ms = now_ms

    def copy(self) -> TransactionMetadata:
        return dataclasses.replace(self, partitions=set(self.partitions), groups=set(self.groups))
