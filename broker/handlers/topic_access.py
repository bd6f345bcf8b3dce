"""The few TopicManager calls the data-path handlers make, in one place.

Metadata, Produce, Fetch and ListOffsets reach topics and partition logs only
through these functions, so they depend on a narrow slice of ``TopicManager``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from kio.schema.errors import ErrorCode

if TYPE_CHECKING:
    from broker.handlers.context import RequestContext
    from broker.log import PartitionLog
    from broker.topics import TopicManager

__all__ = [
    "TopicView",
    "all_topics",
    "create_topic",
    "find_topic",
    "find_topic_by_id",
    "partition_log",
    "single_replica_partition",
]


@dataclass(frozen=True, slots=True)
class TopicView:
    """What Metadata needs to know about a topic."""

    name: str
    topic_id: uuid.UUID
    partitions: int


def _view(topic: Any) -> TopicView:
    return TopicView(name=topic.name, topic_id=topic.topic_id, partitions=int(topic.partitions))


def find_topic(topics: TopicManager, name: str) -> TopicView | None:
    topic = topics.get(name)
    return None if topic is None else _view(topic)


def find_topic_by_id(topics: TopicManager, topic_id: uuid.UUID) -> TopicView | None:
    topic = topics.find_by_id(topic_id)
    return None if topic is None else _view(topic)


def all_topics(topics: TopicManager) -> list[TopicView]:
    return [_view(topic) for topic in topics.list()]


def create_topic(topics: TopicManager, name: str) -> TopicView:
    """Auto-create ``name`` with the server defaults; raises the broker's topic errors."""
    return _view(topics.create(name))


def partition_log(topics: TopicManager, name: str, partition: int) -> PartitionLog:
    """The ``PartitionLog`` of one partition; raises ``UnknownTopicOrPartition``."""
    return topics.partition(name, partition)


def single_replica_partition(ctx: RequestContext, index: int) -> dict[str, Any]:
    """Partition ``index`` as Metadata and DescribeTopicPartitions describe it alike: this
    broker is its leader (epoch 0) and its one in-sync replica."""
    node = ctx.broker.node_id
    return {
        "error_code": ErrorCode.none,
        "partition_index": index,
        "leader_id": node,
        "leader_epoch": 0,
        "replica_nodes": (node,),
        "isr_nodes": (node,),
        "offline_replicas": (),
    }
