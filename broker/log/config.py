"""Per-topic log settings: the part of a topic's configs one partition log needs, typed.

This module holds no defaults or validators of its own: every field is derived
from the topic-config catalogue (``broker.config_catalog.CONFIG_DEFS``), which is
the one place that says each config's type, default, validation and doc. So the
catalogue and the log cannot disagree: ``LogConfig()`` is what a topic without
overrides gets, and ``from_topic_configs`` refuses exactly what the catalogue
refuses, with the same message.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from broker.config_catalog import CONFIG_DEFS, LONG_MAX

__all__ = ["LogConfig", "LOG_CONFIG_KEYS", "LOG_CONFIG_FIELDS"]


def _identity(value: Any) -> Any:
    return value


# LogConfig field -> (topic config name, conversion of the catalogue's parsed value).
LOG_CONFIG_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "segment_bytes": ("segment.bytes", _identity),
    "segment_ms": ("segment.ms", _identity),
    "retention_ms": ("retention.ms", _identity),
    "retention_bytes": ("retention.bytes", _identity),
    "cleanup_policy": ("cleanup.policy", frozenset),
    "delete_retention_ms": ("delete.retention.ms", _identity),
    "min_compaction_lag_ms": ("min.compaction.lag.ms", _identity),
    "max_compaction_lag_ms": ("max.compaction.lag.ms", _identity),
    "min_cleanable_dirty_ratio": ("min.cleanable.dirty.ratio", float),
    "flush_messages": ("flush.messages", _identity),
    "flush_ms": ("flush.ms", _identity),
    "index_interval_bytes": ("index.interval.bytes", _identity),
    "max_message_bytes": ("max.message.bytes", _identity),
    "message_timestamp_type": ("message.timestamp.type", _identity),
    "min_insync_replicas": ("min.insync.replicas", _identity),
    "message_timestamp_before_max_ms": ("message.timestamp.before.max.ms", _identity),
    "message_timestamp_after_max_ms": ("message.timestamp.after.max.ms", _identity),
    "message_timestamp_difference_max_ms": ("message.timestamp.difference.max.ms", _identity),
}
"""Which topic config each ``LogConfig`` field holds, and how its parsed value is stored."""


def _parsed(attr: str, text: str) -> Any:
    """The catalogue's parse of ``text`` for ``attr``'s config; ``InvalidConfig`` names the key."""
    name, convert = LOG_CONFIG_FIELDS[attr]
    return convert(CONFIG_DEFS[name].parse(text))


def _default(attr: str) -> Any:
    name = LOG_CONFIG_FIELDS[attr][0]
    return _parsed(attr, CONFIG_DEFS[name].default)


@dataclass(frozen=True, slots=True)
class LogConfig:
    """What one partition log needs to know about its topic's configuration."""

    segment_bytes: int = _default("segment_bytes")
    segment_ms: int = _default("segment_ms")
    retention_ms: int = _default("retention_ms")
    retention_bytes: int = _default("retention_bytes")
    cleanup_policy: frozenset[str] = field(default_factory=lambda: _default("cleanup_policy"))
    delete_retention_ms: int = _default("delete_retention_ms")
    min_compaction_lag_ms: int = _default("min_compaction_lag_ms")
    max_compaction_lag_ms: int = _default("max_compaction_lag_ms")
    min_cleanable_dirty_ratio: float = _default("min_cleanable_dirty_ratio")
    flush_messages: int = _default("flush_messages")
    flush_ms: int = _default("flush_ms")
    index_interval_bytes: int = _default("index_interval_bytes")
    max_message_bytes: int = _default("max_message_bytes")
    message_timestamp_type: str = _default("message_timestamp_type")
    min_insync_replicas: int = _default("min_insync_replicas")
    """An acks=all produce needs this many in-sync replicas; here there is always one."""
    message_timestamp_before_max_ms: int = _default("message_timestamp_before_max_ms")
    message_timestamp_after_max_ms: int = _default("message_timestamp_after_max_ms")
    message_timestamp_difference_max_ms: int = _default("message_timestamp_difference_max_ms")

    @property
    def log_append_time(self) -> bool:
        return self.message_timestamp_type == "LogAppendTime"

    @property
    def timestamp_before_max_ms(self) -> int:
        """How far behind the broker's clock a CreateTime timestamp may be: the before config,
        else (when that is unset) the deprecated difference config, as Kafka's ``LogConfig``."""
        if self.message_timestamp_before_max_ms != LONG_MAX:
            return self.message_timestamp_before_max_ms
        return self.message_timestamp_difference_max_ms

    @property
    def timestamp_after_max_ms(self) -> int:
        """How far ahead of the broker's clock a CreateTime timestamp may be (as above)."""
        if self.message_timestamp_after_max_ms != LONG_MAX:
            return self.message_timestamp_after_max_ms
        return self.message_timestamp_difference_max_ms

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
        values: dict[str, Any] = {}
        for attr, (name, _convert) in LOG_CONFIG_FIELDS.items():
            raw = configs.get(name)
            if raw is not None:
                values[attr] = _parsed(attr, str(raw))
        return cls(**values)


LOG_CONFIG_KEYS: frozenset[str] = frozenset(name for name, _ in LOG_CONFIG_FIELDS.values())
"""Topic config keys that ``LogConfig.from_topic_configs`` interprets."""
