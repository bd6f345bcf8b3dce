"""Consumer groups through the Kafka admin API: list them, describe members, offsets and lag.

``list_groups`` answers every group with its state and type (``classic`` or
``consumer``, KIP-848); ``describe_group`` its members with their assigned
partitions, and per committed partition the committed offset, the high
watermark and the lag (high watermark - committed), as
``kafka-consumer-groups.sh --describe`` shows them. Everything goes through
confluent-kafka's ``AdminClient`` (ListGroups, DescribeGroups /
ConsumerGroupDescribe, OffsetFetch, ListOffsets), so it works against
Charter's broker and any Kafka cluster.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import OffsetSpec

from charter.sdk.admin_client import TIMEOUT_S, AdminConnection, describe
from charter.sdk.errors import CharterError

__all__ = [
    "GroupDescription",
    "GroupListing",
    "MemberInfo",
    "PartitionLag",
    "describe_group",
    "list_groups",
]


@dataclasses.dataclass(frozen=True)
class GroupListing:
    group_id: str
    state: str  # Stable, Empty, PreparingRebalance, CompletingRebalance, Dead, Unknown
    type: str  # classic, consumer, unknown


@dataclasses.dataclass(frozen=True)
class MemberInfo:
    member_id: str
    client_id: str
    host: str
    group_instance_id: str | None
    assignment: tuple[tuple[str, int], ...]  # (topic, partition)


@dataclasses.dataclass(frozen=True)
class PartitionLag:
    topic: str
    partition: int
    committed: int | None  # None: nothing committed
    high_watermark: int | None
    member_id: str | None  # the member the partition is assigned to, if any

    @property
    def lag(self) -> int | None:
        if self.committed is None or self.high_watermark is None:
            return None
        return max(self.high_watermark - self.committed, 0)


@dataclasses.dataclass(frozen=True)
class GroupDescription:
    group_id: str
    state: str
    type: str
    assignor: str
    coordinator: str
    members: tuple[MemberInfo, ...]
    partitions: tuple[PartitionLag, ...]

    @property
    def total_lag(self) -> int:
        return sum(partition.lag or 0 for partition in self.partitions)


def _name(enum_value: Any) -> str:
    """``ConsumerGroupState.STABLE`` -> ``Stable``; ``ConsumerGroupType.CLASSIC`` -> ``classic``."""
    name = getattr(enum_value, "name", None) or "UNKNOWN"
    return name


def _state(enum_value: Any) -> str:
    return "".join(word.capitalize() for word in _name(enum_value).split("_"))


def _kind(enum_value: Any) -> str:
    return _name(enum_value).lower()


def list_groups(
    bootstrap_servers: str, *, client_config: Mapping[str, Any] | None = None
) -> list[GroupListing]:
    """Every consumer group the cluster knows, sorted by id."""
    admin = AdminConnection(bootstrap_servers, client_config)
    what = "listing consumer groups"
    result = admin.result(admin.client.list_consumer_groups(request_timeout=TIMEOUT_S), what)
    if result.errors:
        raise CharterError(f"{what}: {describe(result.errors[0])}")
    listings = [
        GroupListing(listing.group_id, _state(listing.state), _kind(listing.type))
        for listing in result.valid
    ]
    return sorted(listings, key=lambda listing: listing.group_id)


def describe_group(
    bootstrap_servers: str, group_id: str, *, client_config: Mapping[str, Any] | None = None
) -> GroupDescription:
    """Members, assignments and per-partition lag of ``group_id`` (``CharterError`` if unknown)."""
    admin = AdminConnection(bootstrap_servers, client_config)
    client = admin.client
    what = f"consumer group {group_id!r}"
    described = client.describe_consumer_groups([group_id], request_timeout=TIMEOUT_S)
    description = admin.result(described[group_id], what)
    request = [ConsumerGroupTopicPartitions(group_id)]
    offsets = client.list_consumer_group_offsets(request, request_timeout=TIMEOUT_S)
    committed = admin.result(offsets[group_id], what).topic_partitions or []
    members = tuple(_member(member) for member in description.members)
    state = _state(description.state)
    if state == "Dead" and not members and not committed:
        raise CharterError(f"{what} does not exist")
    owners = {tp: member.member_id for member in members for tp in member.assignment}
    positions: dict[tuple[str, int], int | None] = {
        (tp.topic, tp.partition): tp.offset if tp.offset >= 0 else None
        for tp in committed
        if tp.error is None
    }
    for assigned in owners:
        positions.setdefault(assigned, None)
    watermarks = _high_watermarks(admin, list(positions), what)
    partitions = tuple(
        PartitionLag(
            topic,
            partition,
            offset,
            watermarks.get((topic, partition)),
            owners.get((topic, partition)),
        )
        for (topic, partition), offset in sorted(positions.items())
    )
    coordinator = description.coordinator
    return GroupDescription(
        group_id=group_id,
        state=state,
        type=_kind(getattr(description, "type", None)),
        assignor=description.partition_assignor or "",
        coordinator=f"{coordinator.host}:{coordinator.port}" if coordinator else "",
        members=members,
        partitions=partitions,
    )


def _member(member: Any) -> MemberInfo:
    assigned = member.assignment.topic_partitions if member.assignment else []
    return MemberInfo(
        member_id=member.member_id,
        client_id=member.client_id,
        host=member.host,
        group_instance_id=member.group_instance_id,
        assignment=tuple(sorted((tp.topic, tp.partition) for tp in assigned)),
    )


def _high_watermarks(
    admin: AdminConnection, partitions: list[tuple[str, int]], what: str
) -> dict[tuple[str, int], int]:
    if not partitions:
        return {}
    request = {
        TopicPartition(topic, partition): OffsetSpec.latest() for topic, partition in partitions
    }
    found = {}
    for tp, future in admin.client.list_offsets(request, request_timeout=TIMEOUT_S).items():
        try:
            found[(tp.topic, tp.partition)] = admin.result(future, what).offset
        except CharterError:
            continue  # a deleted topic: the lag is unknown, not an error of the whole group
    return found
