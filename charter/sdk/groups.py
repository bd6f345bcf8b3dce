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

import concurrent.futures
import dataclasses
from collections.abc import Mapping
from typing import Any

import confluent_kafka
from confluent_kafka import ConsumerGroupTopicPartitions, TopicPartition
from confluent_kafka.admin import AdminClient, OffsetSpec

from charter.sdk.errors import CharterError

__all__ = [
    "GroupDescription",
    "GroupListing",
    "MemberInfo",
    "PartitionLag",
    "describe_group",
    "list_groups",
]

_TIMEOUT_S = 30.0
# librdkafka answers a timed-out request itself; this is the backstop when it does not.
_WAIT_S = _TIMEOUT_S + 5.0
_FAILURES = (confluent_kafka.KafkaException, concurrent.futures.TimeoutError)


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


def _admin(bootstrap_servers: str, client_config: Mapping[str, Any] | None) -> AdminClient:
    """``client_config``: librdkafka settings such as SASL credentials."""
    return AdminClient({**(client_config or {}), "bootstrap.servers": bootstrap_servers})


def _name(enum_value: Any) -> str:
    """``ConsumerGroupState.STABLE`` -> ``Stable``; ``ConsumerGroupType.CLASSIC`` -> ``classic``."""
    name = getattr(enum_value, "name", None) or "UNKNOWN"
    return name


def _state(enum_value: Any) -> str:
    return "".join(word.capitalize() for word in _name(enum_value).split("_"))


def _kind(enum_value: Any) -> str:
    return _name(enum_value).lower()


def _failed(what: str, error: Exception) -> CharterError:
    if isinstance(error, concurrent.futures.TimeoutError):
        return CharterError(
            f"{what}: no answer from the cluster within {_WAIT_S:.0f} s "
            "(is the address right? does it need --username/--password?)"
        )
    if isinstance(error, confluent_kafka.KafkaException) and error.args:
        detail = error.args[0].str() if hasattr(error.args[0], "str") else str(error.args[0])
    else:
        detail = str(error)
    return CharterError(f"{what}: {detail}")


def list_groups(
    bootstrap_servers: str, *, client_config: Mapping[str, Any] | None = None
) -> list[GroupListing]:
    """Every consumer group the cluster knows, sorted by id."""
    admin = _admin(bootstrap_servers, client_config)
    try:
        result = admin.list_consumer_groups(request_timeout=_TIMEOUT_S).result(timeout=_WAIT_S)
    except _FAILURES as error:
        raise _failed("listing consumer groups", error) from None
    if result.errors:
        raise _failed("listing consumer groups", result.errors[0])
    listings = [
        GroupListing(listing.group_id, _state(listing.state), _kind(listing.type))
        for listing in result.valid
    ]
    return sorted(listings, key=lambda listing: listing.group_id)


def describe_group(
    bootstrap_servers: str, group_id: str, *, client_config: Mapping[str, Any] | None = None
) -> GroupDescription:
    """Members, assignments and per-partition lag of ``group_id`` (``CharterError`` if unknown)."""
    admin = _admin(bootstrap_servers, client_config)
    what = f"consumer group {group_id!r}"
    try:
        future = admin.describe_consumer_groups([group_id], request_timeout=_TIMEOUT_S)[group_id]
        description = future.result(timeout=_WAIT_S)
        request = [ConsumerGroupTopicPartitions(group_id)]
        offsets_future = admin.list_consumer_group_offsets(request, request_timeout=_TIMEOUT_S)
        committed = offsets_future[group_id].result(timeout=_WAIT_S).topic_partitions or []
    except _FAILURES as error:
        raise _failed(what, error) from None
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
    admin: AdminClient, partitions: list[tuple[str, int]], what: str
) -> dict[tuple[str, int], int]:
    if not partitions:
        return {}
    request = {
        TopicPartition(topic, partition): OffsetSpec.latest() for topic, partition in partitions
    }
    found = {}
    for tp, future in admin.list_offsets(request, request_timeout=_TIMEOUT_S).items():
        try:
            found[(tp.topic, tp.partition)] = future.result(timeout=_WAIT_S).offset
        except _FAILURES:
            continue  # a deleted topic: the lag is unknown, not an error of the whole group
    return found
