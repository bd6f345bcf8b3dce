"""KIP-848 server-side assignors: ``uniform`` (balanced, sticky) and ``range`` (co-partitioned).

An assignor is a pure function: the members' subscriptions, the partition count
of each subscribed topic and the current target assignment in; a new target
assignment out (member id -> topic -> partitions). Classic-protocol groups
assign on the client (range, roundrobin, sticky, cooperative-sticky): the
coordinator only relays those.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

__all__ = ["ASSIGNORS", "Assignment", "range_assign", "uniform_assign"]

Assignment = dict[str, dict[str, set[int]]]
"""member id -> topic name -> partition indexes."""

Assignor = Callable[[Mapping[str, set[str]], Mapping[str, int], Assignment], Assignment]


def uniform_assign(
    subscriptions: Mapping[str, set[str]], partitions: Mapping[str, int], current: Assignment
) -> Assignment:
    """Spread every subscribed partition evenly, keeping each member's current partitions
    where the balance allows (so a rebalance moves as few partitions as possible)."""
    members = sorted(subscriptions)
    result: Assignment = {member: {} for member in members}
    if not members:
        return result
    all_partitions = [
        (topic, index)
        for topic in sorted(partitions)
        if any(topic in subscriptions[m] for m in members)
        for index in range(partitions[topic])
    ]
    counts = dict.fromkeys(members, 0)
    quota_low, extra = divmod(len(all_partitions), len(members))
    quotas = {member: quota_low + (1 if rank < extra else 0) for rank, member in enumerate(members)}
    owner: dict[tuple[str, int], str] = {}
    # Keep what each member already has, within its quota.
    for member in members:
        for topic, indexes in sorted(current.get(member, {}).items()):
            if topic not in subscriptions[member] or topic not in partitions:
                continue
            for index in sorted(indexes):
                key = (topic, index)
                if (
                    index < partitions[topic]
                    and key not in owner
                    and counts[member] < quotas[member]
                ):
                    owner[key] = member
                    counts[member] += 1
    # Hand out the rest to the least loaded subscriber.
    for key in all_partitions:
        if key in owner:
            continue
        eligible = [m for m in members if key[0] in subscriptions[m]]
        member = min(eligible, key=lambda m: (counts[m] >= quotas[m], counts[m], m))
        owner[key] = member
        counts[member] += 1
    for (topic, index), member in owner.items():
        result[member].setdefault(topic, set()).add(index)
    return result


def range_assign(
    subscriptions: Mapping[str, set[str]], partitions: Mapping[str, int], current: Assignment
) -> Assignment:
    """Per topic, contiguous ranges to the sorted subscribers (partition i of co-partitioned
    topics goes to the same member), as Kafka's RangeAssignor."""
    result: Assignment = {member: {} for member in subscriptions}
    for topic in sorted(partitions):
        subscribers = sorted(m for m, topics in subscriptions.items() if topic in topics)
        if not subscribers:
            continue
        per_member, extra = divmod(partitions[topic], len(subscribers))
        start = 0
        for rank, member in enumerate(subscribers):
            count = per_member + (1 if rank < extra else 0)
            if count:
                result[member][topic] = set(range(start, start + count))
            start += count
    return result


ASSIGNORS: dict[str, Assignor] = {"uniform": uniform_assign, "range": range_assign}
