"""Checks on a topic request before anything is stored: names, partition counts, replicas.

Rules and error messages follow Apache Kafka (``Topic.validate``,
``ReplicationControlManager``) for a single-node cluster.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from broker.errors import (
    InvalidPartitions,
    InvalidReplicaAssignment,
    InvalidReplicationFactor,
    InvalidRequest,
    InvalidTopic,
)

__all__ = [
    "INTERNAL_TOPICS",
    "MAX_PARTITIONS_PER_TOPIC",
    "MAX_TOPIC_NAME_LENGTH",
    "check_partition_limit",
    "check_replicas",
    "collision_key",
    "partition_count",
    "validate_topic_name",
]

MAX_TOPIC_NAME_LENGTH = 249
MAX_PARTITIONS_PER_TOPIC = 10_000
"""A guard against a request creating millions of directories; Kafka has no such cap."""

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]+")


def validate_topic_name(name: str) -> None:
    """Raise ``InvalidTopic`` unless ``name`` is a legal Kafka topic name (Kafka's ``Topic.validate``)."""
    if not name:
        raise InvalidTopic("Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise InvalidTopic('Topic name cannot be "." or ".."')
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise InvalidTopic(
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} "
            f"characters, topic name: {name}"
        )
    if not _LEGAL_NAME.fullmatch(name):
        raise InvalidTopic(
            f'Topic name "{name}" is illegal, it contains a character other than '
            "ASCII alphanumerics, '.', '_' and '-'"
        )


def collision_key(name: str) -> str:
    """Names with equal keys may not coexist: Kafka metric names replace '.' by '_'."""
    return name.replace(".", "_")


def check_replicas(replicas: Sequence[int], node_id: int) -> None:
    """A manual assignment may only name this broker, once."""
    if list(replicas) != [node_id]:
        raise InvalidReplicaAssignment(
            f"The manual partition assignment includes broker(s) {list(replicas)}, but this "
            f"single-node cluster has only broker {node_id}."
        )


def check_partition_limit(partitions: int) -> None:
    if partitions > MAX_PARTITIONS_PER_TOPIC:
        raise InvalidPartitions(
            f"{partitions} partitions exceed this broker's limit of "
            f"{MAX_PARTITIONS_PER_TOPIC} per topic."
        )


def partition_count(
    num_partitions: int,
    replication_factor: int,
    assignments: Mapping[int, Sequence[int]] | None,
    *,
    node_id: int,
    default_partitions: int,
) -> int:
    """The partition count a CreateTopics entry asks for (-1 means the broker default)."""
    if assignments:
        if num_partitions != -1:
            raise InvalidRequest(
                "A manual partition assignment was specified, but numPartitions was not set to -1."
            )
        if replication_factor != -1:
            raise InvalidRequest(
                "A manual partition assignment was specified, but replicationFactor was not set to -1."
            )
        if sorted(assignments) != list(range(len(assignments))):
            raise InvalidReplicaAssignment(
                "Partitions should be a consecutive 0-based integer sequence, but got "
                f"{sorted(assignments)}."
            )
        for replicas in assignments.values():
            check_replicas(replicas, node_id)
        partitions = len(assignments)
    else:
        if replication_factor == 0 or replication_factor < -1:
            raise InvalidReplicationFactor(
                "Replication factor must be larger than 0, or -1 to use the default value."
            )
        if replication_factor > 1:
            raise InvalidReplicationFactor(
                f"Unable to replicate the partition {replication_factor} time(s): The target "
                f"replication factor of {replication_factor} cannot be reached because only "
                "1 broker(s) are registered."
            )
        if num_partitions == 0 or num_partitions < -1:
            raise InvalidPartitions(
                "Number of partitions was set to an invalid non-positive value."
            )
        partitions = default_partitions if num_partitions == -1 else num_partitions
    check_partition_limit(partitions)
    return partitions
