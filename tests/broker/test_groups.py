"""The group coordinator without a network: state machine, classic protocol, KIP-848, offsets."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from broker.errors import (
    FencedInstanceId,
    FencedMemberEpoch,
    GroupIdNotFound,
    IllegalGeneration,
    InconsistentGroupProtocol,
    InvalidRequest,
    InvalidSessionTimeout,
    MemberIdRequired,
    NonEmptyGroup,
    OffsetMetadataTooLarge,
    RebalanceInProgress,
    UnknownMemberId,
    UnknownTopicOrPartition,
    UnsupportedAssignor,
)
from broker.groups import (
    ConsumerHeartbeatRequest,
    GroupCoordinator,
    GroupState,
    GroupStore,
    JoinRequest,
    MemberState,
)
from broker.groups import store as groups_store
from broker.groups.assignors import range_assign, uniform_assign
from broker.groups.classic import parse_subscription
from broker.groups.state import CLASSIC_TRANSITIONS, IllegalStateTransition, check_transition
from broker.settings import BrokerSettings
from broker.topics import store as topics_store
from charter.db import apply_migrations, open_database


class FakeTopics:
    def __init__(self, **partitions: int) -> None:
        self.partitions = partitions
        self.ids = {name: uuid.uuid5(uuid.NAMESPACE_DNS, name) for name in partitions}

    def topic_names(self) -> list[str]:
        return list(self.partitions)

    def generation(self) -> int:  # the partitions dict may be edited by a test at any time
        return hash(tuple(sorted(self.partitions.items())))

    def topic(self, name: str) -> tuple[uuid.UUID, int] | None:
        if name not in self.partitions:
            return None
        return self.ids[name], self.partitions[name]

    def topic_by_id(self, topic_id: uuid.UUID) -> tuple[str, int] | None:
        for name, known in self.ids.items():
            if known == topic_id:
                return name, self.partitions[name]
        return None


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.wall = 1_700_000_000_000

    def __call__(self) -> float:
        return self.now

    def wall_ms(self) -> int:
        return self.wall


@pytest.fixture
def env(tmp_path: Path) -> Iterator[dict[str, Any]]:
    database = open_database(f"sqlite:///{tmp_path / 'charter.db'}")
    apply_migrations(database, [topics_store, groups_store])
    yield {"database": database, "tmp_path": tmp_path}
    database.close()


def make(env: dict[str, Any], clock: Clock | None = None, **overrides: Any) -> GroupCoordinator:
    settings = BrokerSettings(
        data_dir=env["tmp_path"],
        group_initial_rebalance_delay_ms=overrides.pop("delay", 0),
        group_min_session_timeout_ms=1000,
        **overrides,
    )
    store = GroupStore(env["database"], topics_store.broker_outbox(env["database"]))
    clock = clock or Clock()
    coordinator = GroupCoordinator(
        settings, store, FakeTopics(t=4, u=2), clock=clock, wall_ms=clock.wall_ms
    )
    coordinator.load()
    return coordinator


def subscription(*topics: str) -> bytes:
    body = b"".join(len(t).to_bytes(2, "big") + t.encode() for t in topics)
    return b"\x00\x00" + len(topics).to_bytes(4, "big") + body + b"\xff\xff\xff\xff"


def join_request(member_id: str = "", **changes: Any) -> JoinRequest:
    values: dict[str, Any] = {
        "group_id": "g",
        "member_id": member_id,
        "instance_id": None,
        "protocol_type": "consumer",
        "protocols": (("range", subscription("t")),),
        "session_timeout_ms": 10_000,
        "rebalance_timeout_ms": 10_000,
        "client_id": "c",
        "client_host": "/127.0.0.1",
        "require_known_member_id": True,
    }
    values.update(changes)
    return JoinRequest(**values)


async def join_with_id(coordinator: GroupCoordinator, **changes: Any) -> Any:
    """KIP-394: the first JoinGroup gets MEMBER_ID_REQUIRED and the id to rejoin with."""
    with pytest.raises(MemberIdRequired) as required:
        await coordinator.classic.join(join_request(**changes))
    return await coordinator.classic.join(join_request(required.value.member_id, **changes))


def events(env: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    outbox = topics_store.broker_outbox(env["database"])
    return [(event.name, dict(event.payload)) for event in outbox.events_since(0, 10_000)]


# -- the state machine ---------------------------------------------------------------------


def test_transition_table_is_kafkas() -> None:
    check_transition(CLASSIC_TRANSITIONS, GroupState.EMPTY, GroupState.PREPARING_REBALANCE)
    check_transition(CLASSIC_TRANSITIONS, GroupState.COMPLETING_REBALANCE, GroupState.STABLE)
    with pytest.raises(IllegalStateTransition):
        check_transition(CLASSIC_TRANSITIONS, GroupState.EMPTY, GroupState.STABLE)
    with pytest.raises(IllegalStateTransition):
        check_transition(CLASSIC_TRANSITIONS, GroupState.DEAD, GroupState.PREPARING_REBALANCE)


# -- classic protocol ------------------------------------------------------------------------


def test_single_member_joins_syncs_and_is_stable(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env)
        result = await join_with_id(coordinator)
        assert result.generation == 1 and result.leader == result.member_id
        assert result.protocol_name == "range"
        assert [m[0] for m in result.members] == [result.member_id]
        synced = await coordinator.classic.sync(
            "g", 1, result.member_id, None, "consumer", "range", [(result.member_id, b"A")]
        )
        assert synced.assignment == b"A"
        assert coordinator.groups["g"].state is GroupState.STABLE
        coordinator.classic.heartbeat("g", 1, result.member_id, None)
        with pytest.raises(IllegalGeneration):
            coordinator.classic.heartbeat("g", 0, result.member_id, None)
        with pytest.raises(UnknownMemberId):
            coordinator.classic.heartbeat("g", 1, "nobody", None)

    asyncio.run(scenario())
    names = [name for name, _ in events(env)]
    assert "group_member_joined" in names and "group_state_changed" in names


def test_second_member_triggers_a_rebalance_both_rejoin(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env)
        first = await join_with_id(coordinator)
        await coordinator.classic.sync("g", 1, first.member_id, None, None, None, [])
        second_task = asyncio.ensure_future(join_with_id(coordinator, client_id="c2"))
        await asyncio.sleep(0.01)
        assert coordinator.groups["g"].state is GroupState.PREPARING_REBALANCE
        with pytest.raises(RebalanceInProgress):
            coordinator.classic.heartbeat("g", 1, first.member_id, None)
        rejoined = await coordinator.classic.join(join_request(first.member_id))
        second = await second_task
        assert rejoined.generation == second.generation == 2
        assert len(rejoined.members) == 2 and second.members == ()
        assignments = [(rejoined.member_id, b"0,1"), (second.member_id, b"2,3")]
        sync_second = asyncio.ensure_future(
            coordinator.classic.sync("g", 2, second.member_id, None, None, None, [])
        )
        await asyncio.sleep(0)
        leader = await coordinator.classic.sync(
            "g", 2, rejoined.member_id, None, None, None, assignments
        )
        assert leader.assignment == b"0,1" and (await sync_second).assignment == b"2,3"

    asyncio.run(scenario())


def test_session_expiry_removes_member_and_group_empties(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        clock = Clock()
        coordinator = make(env, clock)
        first = await join_with_id(coordinator)
        await coordinator.classic.sync("g", 1, first.member_id, None, None, None, [])
        clock.now += 11
        coordinator.sweep()
        group = coordinator.groups["g"]
        assert group.state is GroupState.EMPTY and not group.members

    asyncio.run(scenario())
    assert any(
        name == "group_member_left" and payload["reason"] == "session timeout"
        for name, payload in events(env)
    )


def test_static_member_rejoins_without_rebalance_and_old_id_is_fenced(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env)
        first = await coordinator.classic.join(join_request(instance_id="i-1"))
        await coordinator.classic.sync(
            "g", 1, first.member_id, "i-1", None, None, [(first.member_id, b"P")]
        )
        again = await coordinator.classic.join(join_request(instance_id="i-1"))
        assert again.generation == 1 and again.member_id != first.member_id
        group = coordinator.groups["g"]
        assert group.state is GroupState.STABLE
        synced = await coordinator.classic.sync("g", 1, again.member_id, "i-1", None, None, [])
        assert synced.assignment == b"P"
        with pytest.raises(FencedInstanceId):
            coordinator.classic.heartbeat("g", 1, first.member_id, "i-1")

    asyncio.run(scenario())


@pytest.mark.parametrize("can_skip_assignment", [True, False])
def test_a_restarted_static_leader_is_not_asked_to_assign_again(
    env: dict[str, Any], can_skip_assignment: bool
) -> None:
    """v9+ (KIP-814): leader, members and skip_assignment. Before: answered as a follower
    naming the old leader id, as Kafka did, so the client neither reassigns nor rejoins."""

    async def scenario() -> None:
        coordinator = make(env)
        first = await coordinator.classic.join(join_request(instance_id="i-1"))
        assert first.leader == first.member_id
        await coordinator.classic.sync(
            "g", 1, first.member_id, "i-1", None, None, [(first.member_id, b"P")]
        )
        request = join_request(instance_id="i-1", can_skip_assignment=can_skip_assignment)
        again = await coordinator.classic.join(request)
        assert again.generation == 1
        assert coordinator.groups["g"].leader_id == again.member_id
        if can_skip_assignment:
            assert again.leader == again.member_id and again.skip_assignment
            assert [member[0] for member in again.members] == [again.member_id]
        else:
            assert again.leader == first.member_id and again.members == ()
            assert not again.skip_assignment
        synced = await coordinator.classic.sync("g", 1, again.member_id, "i-1", None, None, [])
        assert synced.assignment == b"P"
        assert coordinator.groups["g"].generation == 1

    asyncio.run(scenario())


def test_join_validation_errors(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env)
        with pytest.raises(InvalidSessionTimeout):
            await coordinator.classic.join(join_request(session_timeout_ms=10))
        with pytest.raises(UnknownMemberId):
            await coordinator.classic.join(join_request("made-up"))
        first = await join_with_id(coordinator)
        with pytest.raises(InconsistentGroupProtocol):
            await coordinator.classic.join(join_request(protocols=(("other", b""),)))
        with pytest.raises(InconsistentGroupProtocol):
            await coordinator.classic.join(join_request(protocol_type="connect"))
        assert first.generation == 1

    asyncio.run(scenario())


def test_leave_by_member_and_instance(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env)
        first = await coordinator.classic.join(join_request(instance_id="i-1"))
        await coordinator.classic.sync("g", 1, first.member_id, None, None, None, [])
        outcomes = coordinator.classic.leave("g", [("", "i-1"), ("ghost", None)])
        assert outcomes[0].error is None and isinstance(outcomes[1].error, UnknownMemberId)
        assert coordinator.groups["g"].state is GroupState.EMPTY

    asyncio.run(scenario())


def test_huge_assignment_is_refused_and_group_rebalances(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env, group_max_assignment_bytes=100)
        first = await join_with_id(coordinator)
        with pytest.raises(Exception) as refused:
            await coordinator.classic.sync(
                "g", 1, first.member_id, None, None, None, [(first.member_id, b"x" * 1000)]
            )
        assert getattr(refused.value, "error_code", None) == -1
        assert coordinator.groups["g"].state is GroupState.PREPARING_REBALANCE

    asyncio.run(scenario())


def test_parse_subscription_rejects_garbage() -> None:
    assert parse_subscription(subscription("a", "bb")) == {"a", "bb"}
    assert parse_subscription(b"\x00") is None
    assert parse_subscription(b"\x00\x00\x7f\xff\xff\xff") is None


# -- offsets -----------------------------------------------------------------------------------


def test_offsets_survive_a_reload_with_metadata_and_epoch(env: dict[str, Any]) -> None:
    coordinator = make(env)
    results = coordinator.commit_offsets(
        "solo",
        -1,
        "",
        None,
        [("t", 0, 42, 3, "meta"), ("t", 9, 1, -1, None), ("nope", 0, 1, -1, None)],
    )
    assert results[("t", 0)] is None
    assert isinstance(results[("t", 9)], UnknownTopicOrPartition)
    assert isinstance(results[("nope", 0)], UnknownTopicOrPartition)
    with pytest.raises(IllegalGeneration):
        coordinator.commit_offsets("absent", 1, "m", None, [("t", 0, 1, -1, None)])
    too_long = coordinator.commit_offsets("solo", -1, "", None, [("t", 1, 1, -1, "x" * 5000)])
    assert isinstance(too_long[("t", 1)], OffsetMetadataTooLarge)
    reloaded = make(env)
    [(key, entry)] = reloaded.fetch_offsets("solo", None)
    assert key == ("t", 0) and (entry.offset, entry.leader_epoch, entry.metadata) == (42, 3, "meta")
    assert reloaded.fetch_offsets("solo", [("t", 2)]) == [(("t", 2), None)]
    assert [s.group_id for s in reloaded.list_groups()] == ["solo"]


def test_commit_events_are_summarised(env: dict[str, Any]) -> None:
    clock = Clock()
    coordinator = make(env, clock, group_offsets_event_interval_ms=5000)
    for offset in range(50):
        coordinator.commit_offsets("g", -1, "", None, [("t", 0, offset, -1, None)])
    clock.wall += 6000
    coordinator.sweep()
    summaries = [p for name, p in events(env) if name == "group_offsets_committed"]
    assert len(summaries) == 2
    assert summaries[-1]["offsets"] == [{"topic": "t", "partition": 0, "offset": 49}]
    assert sum(s["commits"] for s in summaries) == 50


def test_offsets_of_empty_groups_expire_after_retention(env: dict[str, Any]) -> None:
    clock = Clock()
    coordinator = make(env, clock, offsets_retention_minutes=1)
    coordinator.commit_offsets("old", -1, "", None, [("t", 0, 5, -1, None)])
    clock.wall += 30_000
    assert coordinator.expire_offsets(clock.wall) == 0
    clock.wall += 31_000
    assert coordinator.expire_offsets(clock.wall) == 1
    assert "old" not in coordinator.groups
    assert make(env).fetch_offsets("old", None) == []


def test_delete_groups_and_offsets(env: dict[str, Any]) -> None:
    async def scenario() -> None:
        coordinator = make(env)
        first = await join_with_id(coordinator)
        await coordinator.classic.sync("g", 1, first.member_id, None, None, None, [])
        coordinator.commit_offsets(
            "g", 1, first.member_id, None, [("t", 0, 1, -1, None), ("u", 0, 1, -1, None)]
        )
        results = coordinator.delete_groups(["g", "missing"])
        assert isinstance(results["g"], NonEmptyGroup)
        assert isinstance(results["missing"], GroupIdNotFound)
        deleted = coordinator.delete_offsets("g", [("t", 0), ("u", 0)])
        assert deleted[("t", 0)] is not None and deleted[("u", 0)] is None
        coordinator.classic.leave("g", [(first.member_id, None)])
        assert coordinator.delete_groups(["g"]) == {"g": None}
        assert "g" not in coordinator.groups

    asyncio.run(scenario())
    assert "group_deleted" in [name for name, _ in events(env)]


# -- KIP-848 -------------------------------------------------------------------------------------


def heartbeat(member_id: str, epoch: int, **changes: Any) -> ConsumerHeartbeatRequest:
    values: dict[str, Any] = {
        "group_id": "k",
        "member_id": member_id,
        "member_epoch": epoch,
        "instance_id": None,
        "rack_id": None,
        "rebalance_timeout_ms": 30_000 if epoch == 0 else -1,
        "subscribed_topic_names": ("t",) if epoch == 0 else None,
        "subscribed_topic_regex": None,
        "server_assignor": None,
        "owned": None if epoch != 0 else {},
        "client_id": "c",
        "client_host": "/127.0.0.1",
        "member_id_from_client": True,
    }
    values.update(changes)
    return ConsumerHeartbeatRequest(**values)


def test_kip848_revoke_before_assign(env: dict[str, Any]) -> None:
    coordinator = make(env)
    consumer = coordinator.consumer
    a = consumer.heartbeat(heartbeat("a", 0))
    assert a.member_epoch == 1 and a.assignment == {"t": {0, 1, 2, 3}}
    b = consumer.heartbeat(heartbeat("b", 0))
    # b must wait: a still owns everything.
    assert b.member_epoch == 2 and b.assignment == {}
    group = coordinator.groups["k"]
    assert group.state is GroupState.RECONCILING
    a2 = consumer.heartbeat(heartbeat("a", 1))
    assert a2.member_epoch == 1 and a2.assignment is not None and len(a2.assignment["t"]) == 2
    assert group.members["a"].state is MemberState.UNREVOKED_PARTITIONS
    a3 = consumer.heartbeat(heartbeat("a", 1, owned={"t": a2.assignment["t"]}))
    assert a3.member_epoch == 2
    b2 = consumer.heartbeat(heartbeat("b", 2, owned={}))
    assert b2.assignment is not None and b2.assignment["t"] == {0, 1, 2, 3} - a2.assignment["t"]
    assert group.state is GroupState.STABLE
    with pytest.raises(FencedMemberEpoch):
        consumer.heartbeat(heartbeat("b", 7))
    left = consumer.heartbeat(heartbeat("b", -1))
    assert left.member_epoch == -1 and "b" not in group.members


def test_kip848_waiting_member_is_asked_back_when_the_holder_can_release(
    env: dict[str, Any],
) -> None:
    clock = Clock()
    coordinator = make(
        env,
        clock,
        group_consumer_heartbeat_interval_ms=1000,
        group_consumer_reconcile_interval_ms=50,
    )
    consumer = coordinator.consumer
    a = consumer.heartbeat(heartbeat("a", 0))
    assert a.heartbeat_interval_ms == 1000  # a stable member: the regular interval
    clock.now += 0.2
    b = consumer.heartbeat(heartbeat("b", 0))
    # a's next heartbeat is due in 800 ms: b comes back 50 ms after it, not before.
    assert b.assignment == {} and b.heartbeat_interval_ms == 850
    clock.now += 0.8
    a2 = consumer.heartbeat(heartbeat("a", 1))
    assert a2.assignment is not None and len(a2.assignment["t"]) == 2
    b2 = consumer.heartbeat(heartbeat("b", 2, owned={}))
    assert b2.heartbeat_interval_ms == 50  # a was told: the release is due any moment
    consumer.heartbeat(heartbeat("a", 1, owned={"t": a2.assignment["t"]}))
    clock.now += 0.05
    b3 = consumer.heartbeat(heartbeat("b", 2, owned={}))
    assert b3.assignment == {"t": {0, 1, 2, 3} - a2.assignment["t"]}
    assert b3.heartbeat_interval_ms == 1000
    # a holder that is late (its heartbeat was due long ago): the short step, never negative
    clock.now += 0.1
    consumer.heartbeat(heartbeat("c", 0))
    clock.now += 5
    c = consumer.heartbeat(heartbeat("c", 3, owned={}))
    assert c.heartbeat_interval_ms == 50


def test_kip848_interval_grows_to_keep_the_heartbeat_budget(env: dict[str, Any]) -> None:
    coordinator = make(
        env,
        group_consumer_heartbeat_interval_ms=500,
        group_consumer_heartbeat_budget=4,
        group_consumer_session_timeout_ms=9000,
    )
    consumer = coordinator.consumer
    assert consumer.heartbeat(heartbeat("a", 0)).heartbeat_interval_ms == 500
    consumer.heartbeat(heartbeat("b", 0))
    consumer.heartbeat(heartbeat("c", 0))
    coordinator.sweep()  # 3 members at 4 heartbeats/s: every 750 ms
    epoch = coordinator.groups["k"].members["a"].member_epoch
    assert consumer.heartbeat(heartbeat("a", epoch)).heartbeat_interval_ms == 750
    for name in "defghijklmnopq":
        consumer.heartbeat(heartbeat(name, 0, group_id="other"))
    coordinator.sweep()  # 17 members would need 4.25 s; a third of the session is the most
    epoch = coordinator.groups["k"].members["a"].member_epoch
    assert consumer.heartbeat(heartbeat("a", epoch)).heartbeat_interval_ms == 3000


def test_kip848_topics_are_read_again_only_when_they_change(env: dict[str, Any]) -> None:
    coordinator = make(env)
    topics = coordinator.topics
    assert isinstance(topics, FakeTopics)
    consumer = coordinator.consumer
    consumer.heartbeat(heartbeat("a", 0))
    reads = 0
    listing = topics.topic_names

    def counted() -> list[str]:
        nonlocal reads
        reads += 1
        return listing()

    topics.topic_names = counted  # type: ignore[method-assign]
    consumer.heartbeat(heartbeat("a", 1))
    assert reads == 0  # nothing changed: the cached partitions serve
    topics.partitions["t"] = 6  # the topic grew (CreatePartitions)
    grown = consumer.heartbeat(heartbeat("a", 1))
    assert reads == 1 and grown.assignment == {"t": {0, 1, 2, 3, 4, 5}}
    resubscribed = consumer.heartbeat(
        heartbeat("a", grown.member_epoch, subscribed_topic_names=("t", "u"))
    )
    assert reads == 2 and resubscribed.assignment == {"t": set(range(6)), "u": {0, 1}}


def test_kip848_validation(env: dict[str, Any]) -> None:
    consumer = make(env).consumer
    with pytest.raises(InvalidRequest):
        consumer.heartbeat(heartbeat("a", 0, subscribed_topic_names=None))
    with pytest.raises(UnsupportedAssignor):
        consumer.heartbeat(heartbeat("a", 0, server_assignor="nope"))
    with pytest.raises(UnknownMemberId):
        consumer.heartbeat(heartbeat("ghost", 3))
    with pytest.raises(InvalidRequest):
        consumer.heartbeat(heartbeat("a", 0, subscribed_topic_regex="("))


def test_kip848_session_expiry_reassigns(env: dict[str, Any]) -> None:
    clock = Clock()
    coordinator = make(env, clock, group_consumer_session_timeout_ms=5000)
    consumer = coordinator.consumer
    consumer.heartbeat(heartbeat("a", 0))
    clock.now += 3
    consumer.heartbeat(heartbeat("b", 0))
    clock.now += 3
    coordinator.sweep()  # a expired
    b = consumer.heartbeat(heartbeat("b", 2))
    assert b.assignment == {"t": {0, 1, 2, 3}}


def test_group_records_are_json_and_reloaded(env: dict[str, Any]) -> None:
    coordinator = make(env)
    coordinator.consumer.heartbeat(heartbeat("a", 0))
    row = groups_store.GroupRecord.get(groups_store.GroupRecord.group_id == "k")
    assert json.loads(row.members)[0]["member_id"] == "a"
    reloaded = make(env)
    assert reloaded.groups["k"].members["a"].assigned == {"t": {0, 1, 2, 3}}


# -- assignors -----------------------------------------------------------------------------------


def test_uniform_is_balanced_and_sticky() -> None:
    subs = {"a": {"t"}, "b": {"t"}}
    first = uniform_assign(subs, {"t": 6}, {})
    assert sorted(len(first[m]["t"]) for m in "ab") == [3, 3]
    third = uniform_assign({**subs, "c": {"t"}}, {"t": 6}, first)
    for member in "ab":
        assert third[member]["t"] <= first[member]["t"]
    assert sorted(len(third[m]["t"]) for m in "abc") == [2, 2, 2]


def test_range_copartitions() -> None:
    result = range_assign({"a": {"t", "u"}, "b": {"t", "u"}}, {"t": 4, "u": 4}, {})
    assert result["a"] == {"t": {0, 1}, "u": {0, 1}} and result["b"] == {"t": {2, 3}, "u": {2, 3}}
