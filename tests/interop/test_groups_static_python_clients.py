"""Static membership (KIP-345, ``group_instance_id``) with kafka-python and aiokafka: a member
killed and restarted under the same instance id gets its partitions back without a rebalance
(the group's generation does not change and the other member keeps its assignment)."""

from __future__ import annotations

import time

import pytest

from tests.broker.conftest import RunningBroker

from .test_groups import PARTITIONS, Member, groups_broker, members, split, wait_until

__all__ = ["groups_broker", "members"]  # fixtures used here


def _generation(broker: RunningBroker, group_id: str) -> tuple[int, str]:
    groups = broker.app.groups
    assert groups is not None
    return broker.call(
        lambda: (groups.groups[group_id].generation, groups.groups[group_id].state.value)
    )


def _settled(broker: RunningBroker, group_id: str, group: list[Member]) -> tuple[int, str]:
    """Wait for the group to be Stable with the same generation over 2 s (a client may rejoin
    once after its first assignment, e.g. on a metadata refresh) and return it."""
    for _ in range(10):
        wait_until(lambda: split(group, [3, 3]), "two static members to split the partitions")
        wait_until(lambda: _generation(broker, group_id)[1] == "Stable", "a stable group")
        seen = _generation(broker, group_id)
        time.sleep(2)
        if _generation(broker, group_id) == seen and split(group, [3, 3]):
            return seen
    raise AssertionError("the group kept rebalancing")


def _leader_instance(broker: RunningBroker, group_id: str) -> str | None:
    groups = broker.app.groups
    assert groups is not None

    def leader() -> str | None:
        group = groups.groups[group_id]
        return group.members[group.leader_id].instance_id

    return broker.call(leader)


@pytest.mark.parametrize("client", ["kafka-python", "aiokafka"])
def test_static_member_restart_keeps_its_partitions_without_rebalance(
    client: str, groups_broker: RunningBroker, members: list[Member]
) -> None:
    topic = f"static-{client}"
    group_id = f"g-static-{client}"
    groups_broker.create_topic(topic, PARTITIONS)

    def spawn(instance: str) -> Member:
        member = Member(
            client,
            groups_broker.bootstrap,
            group_id,
            topic,
            f"group_instance_id={instance}",
            "session_timeout_ms=30000",
            "heartbeat_interval_ms=500",
        )
        members.append(member)
        return member

    first, second = spawn("a"), spawn("b")
    generation = _settled(groups_broker, group_id, [first, second])
    # The leader restarts: the harder case (it must not reassign; KIP-814's skip_assignment).
    leader = _leader_instance(groups_broker, group_id)
    (a, b), b_instance = ((second, first), "a") if leader == "a" else ((first, second), "b")
    before_a, before_b = a.assignment, b.assignment
    a_changes = len([e for e in a.snapshot() if e["event"] == "assigned"])
    b.kill()
    b2 = spawn(b_instance)
    wait_until(
        lambda: b2.assignment == before_b,
        "the restarted static member to get its partitions back",
    )
    time.sleep(2)  # would a rebalance reach the other member? (its absence is what is checked)
    assert _generation(groups_broker, group_id) == generation  # no rebalance happened
    assert len([e for e in a.snapshot() if e["event"] == "assigned"]) == a_changes
    assert a.assignment == before_a and b2.assignment == before_b
