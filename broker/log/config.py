"""Per-topic log settings, parsed from Kafka topic config strings.

Names and defaults follow Kafka's topic configs
(https://kafka.apache.org/documentation/#topicconfigs) except ``flush.messages``,
whose default here is 1: every append is fsynced before it is acknowledged
(see docs/decisions.md for the measured cost).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from broker.errors import InvalidConfig

__all__ = ["LogConfig", "LOG_CONFIG_KEYS"]

_DAY_MS = 24 * 60 * 60 * 1000
_LONG_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class LogConfig:
    """What one partition log needs to know about its topic's configuration."""

    segment_bytes: int = 1024**3
    segment_ms: int = 7 * _DAY_MS
    retention_ms: int = 7 * _DAY_MS
    retention_bytes: int = -1
    cleanup_policy: frozenset[str] = field(default_factory=lambda: frozenset({"delete"}))
    delete_retention_ms: int = _DAY_MS
    min_compaction_lag_ms: int = 0
    max_compaction_lag_ms: int = _LONG_MAX
    min_cleanable_dirty_ratio: float = 0.5
    flush_messages: int = 1
    flush_ms: int = _LONG_MAX
    index_interval_bytes: int = 4096
    max_message_bytes: int = 1048588
    message_timestamp_type: str = "CreateTime"

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    @property
    def compact(self) -> bool:
        return "compact" in self.cleanup_policy

    @property
    def delete(self) -> bool:
        return "delete" in self.cleanup_policy

    @classmethod
    def from_topic_configs(cls, configs: Mapping[str, str]) -> LogConfig:
        """Build from Kafka topic config strings; keys this module does not own are ignored.

        Raises ``InvalidConfig`` naming the key for a malformed or out-of-range value.
        """
        values: dict[str, object] = {}
        for key, (attr, parse) in _PARSERS.items():
            raw = configs.get(key)
            if raw is None:
                continue
            try:
                values[attr] = parse(str(raw).strip())
            except (ValueError, TypeError) as exc:
                raise InvalidConfig(
                    f"invalid value {raw!r} for topic config {key}: {exc}"
                ) from None
        return cls(**values)  # type: ignore[arg-type]


def _int_at_least(minimum: int):
    def parse(raw: str) -> int:
        value = int(raw)
        if value < minimum:
            raise ValueError(f"must be at least {minimum}")
        if value > _LONG_MAX:
            raise ValueError("must fit in a signed 64-bit integer")
        return value

    return parse


def _segment_bytes(raw: str) -> int:
    value = int(raw)
    # Kafka's minimum is 1 MiB in production configs, but 14 bytes is the
    # hard floor for tests; positions in the index are u32, hence the cap.
    if not 14 <= value <= 2**31 - 1:
        raise ValueError("must be between 14 and 2147483647")
    return value


def _ratio(raw: str) -> float:
    value = float(raw)
    if not 0.0 <= value <= 1.0:  # also refuses nan
        raise ValueError("must be between 0 and 1")
    return value


def _cleanup_policy(raw: str) -> frozenset[str]:
    parts = frozenset(p.strip() for p in raw.split(",") if p.strip())
    if not parts or not parts <= {"delete", "compact"}:
        raise ValueError('must be "delete", "compact" or "compact,delete"')
    return parts


def _timestamp_type(raw: str) -> str:
    if raw not in ("CreateTime", "LogAppendTime"):
        raise ValueError('must be "CreateTime" or "LogAppendTime"')
    return raw


_PARSERS = {
    "segment.bytes": ("segment_bytes", _segment_bytes),
    "segment.ms": ("segment_ms", _int_at_least(1)),
    "retention.ms": ("retention_ms", _int_at_least(-1)),
    "retention.bytes": ("retention_bytes", _int_at_least(-1)),
    "cleanup.policy": ("cleanup_policy", _cleanup_policy),
    "delete.retention.ms": ("delete_retention_ms", _int_at_least(0)),
    "min.compaction.lag.ms": ("min_compaction_lag_ms", _int_at_least(0)),
    "max.compaction.lag.ms": ("max_compaction_lag_ms", _int_at_least(1)),
    "min.cleanable.dirty.ratio": ("min_cleanable_dirty_ratio", _ratio),
    "flush.messages": ("flush_messages", _int_at_least(1)),
    "flush.ms": ("flush_ms", _int_at_least(0)),
    "index.interval.bytes": ("index_interval_bytes", _int_at_least(0)),
    "max.message.bytes": ("max_message_bytes", _int_at_least(0)),
    "message.timestamp.type": ("message_timestamp_type", _timestamp_type),
}

LOG_CONFIG_KEYS: frozenset[str] = frozenset(_PARSERS)
"""Topic config keys that ``LogConfig.from_topic_configs`` interprets."""
