"""Durable per-partition log storage: segments, indexes, producer state, retention, compaction.

See docs/storage.md for the on-disk formats and the recovery procedure.
"""

from broker.log.cleaner import compact
from broker.log.config import LOG_CONFIG_KEYS, LogConfig
from broker.log.partition import AppendResult, PartitionLog, TimestampOffset
from broker.log.producer_state import DuplicateBatch

__all__ = [
    "AppendResult",
    "DuplicateBatch",
    "LOG_CONFIG_KEYS",
    "LogConfig",
    "PartitionLog",
    "TimestampOffset",
    "compact",
]
