"""Kafka transactions: the coordinator's state machine, its durable store, pending offsets.

``TransactionCoordinator`` (``coordinator``) answers InitProducerId with a
transactional id, AddPartitionsToTxn, AddOffsetsToTxn, EndTxn and
TxnOffsetCommit, writes COMMIT/ABORT markers to the partition logs and aborts
timed-out transactions; ``state`` holds the states and the transition table,
``store`` the database rows, ``pending_offsets`` the seam to the consumer-group
offsets store.
"""

from broker.transactions.coordinator import NO_PRODUCER_ID, TransactionCoordinator
from broker.transactions.pending_offsets import (
    DatabasePendingOffsets,
    GroupMember,
    GroupPendingOffsets,
    OffsetAndMetadata,
    PendingOffsets,
)
from broker.transactions.state import TopicPartition, TransactionMetadata, TxnState

__all__ = [
    "DatabasePendingOffsets",
    "GroupMember",
    "GroupPendingOffsets",
    "NO_PRODUCER_ID",
    "OffsetAndMetadata",
    "PendingOffsets",
    "TopicPartition",
    "TransactionCoordinator",
    "TransactionMetadata",
    "TxnState",
]
