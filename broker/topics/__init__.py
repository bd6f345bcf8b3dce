"""Topics: their rows and configs in the database, their partition logs, their maintenance.

``TopicManager`` (``manager``) is what handlers use; ``store`` holds the topic
tables and the broker's outbox, ``alter``/``describe``/``validation`` the
config operations, ``maintenance`` the retention and compaction thread.
"""

from broker.topics.manager import (
    INTERNAL_TOPICS,
    MAX_PARTITIONS_PER_TOPIC,
    AlterOp,
    ConfigEntry,
    ConfigSynonym,
    TopicHooks,
    TopicInfo,
    TopicManager,
    validate_topic_name,
)

__all__ = [
    "AlterOp",
    "ConfigEntry",
    "ConfigSynonym",
    "INTERNAL_TOPICS",
    "MAX_PARTITIONS_PER_TOPIC",
    "TopicHooks",
    "TopicInfo",
    "TopicManager",
    "validate_topic_name",
]
