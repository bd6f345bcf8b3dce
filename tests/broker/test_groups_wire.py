"""Group APIs over the wire with exact (and hostile) requests: Kafka's error codes, never a crash."""

from __future__ import annotations

import datetime
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kio.index import load_request_schema
from kio.schema.errors import ErrorCode

from tests.broker.conftest import RunningBroker, start_broker
from tests.charter.kafka_wire import RawClient

GROUP_KEYS = {8, 9, 10, 11, 12, 13, 14, 15, 16, 42, 47, 68, 69}


@pytest.fixture
def groups_broker(tmp_path: Path) -> Iterator[RunningBroker]:
    running = start_broker(
        tmp_path / "data",
        group_initial_rebalance_delay_ms=0,
        group_min_session_timeout_ms=1000,
        group_max_assignment_bytes=10_000,
    )
    try:
        running.create_topic("t", 2)
        yield running
    finally:
        running.stop()


def request(api_key: int, version: int, **fields: Any) -> Any:
    return load_request_schema(api_key, version)(**fields)


def module(api_key: int, version: int) -> Any:
    return sys.modules[load_request_schema(api_key, version).__module__]


def join(
    client: RawClient, member_id: str = "", metadata: bytes = b"\x00\x01garbage", **extra: Any
) -> Any:
    proto = module(11, 5).JoinGroupRequestProtocol(name="range", metadata=metadata)
    return client.call(
        request(
            11,
            5,
            group_id=extra.get("group_id", "g"),
            session_timeout=datetime.timedelta(seconds=10),
            rebalance_timeout=datetime.timedelta(seconds=10),
            member_id=member_id,
            group_instance_id=None,
            protocol_type=extra.get("protocol_type", "consumer"),
            protocols=extra.get("protocols", (proto,)),
        )
    )


def test_api_versions_advertise_group_apis(groups_broker: RunningBroker) -> None:
    with RawClient(groups_broker.port) as client:
        keys = {item.api_key for item in client.api_versions().api_keys}
    assert keys >= GROUP_KEYS


def test_find_coordinator_single_and_batched(groups_broker: RunningBroker) -> None:
    with RawClient(groups_broker.port) as client:
        single = client.call(request(10, 1, key="g", key_type=0))
        assert single.error_code == ErrorCode.none and single.port == groups_broker.port
        batched = client.call(request(10, 4, key_type=0, coordinator_keys=("a", "b", "")))
        codes = [c.error_code for c in batched.coordinators]
        assert codes == [ErrorCode.none, ErrorCode.none, ErrorCode.invalid_request]


def test_hostile_group_requests_get_error_codes(groups_broker: RunningBroker) -> None:
    with RawClient(groups_broker.port) as client:
        first = join(client)
        assert first.error_code == ErrorCode.member_id_required
        # Garbage protocol metadata is relayed, not parsed: the join succeeds.
        joined = join(client, first.member_id)
        assert joined.error_code == ErrorCode.none and joined.generation_id == 1
        member_id = joined.member_id
        no_protocols = join(client, protocols=())
        assert no_protocols.error_code == ErrorCode.inconsistent_group_protocol
        other_type = join(client, protocol_type="connect")
        assert other_type.error_code == ErrorCode.inconsistent_group_protocol
        empty_group = join(client, group_id="")
        assert empty_group.error_code == ErrorCode.invalid_group_id

        assignment = module(14, 3).SyncGroupRequestAssignment
        wrong_generation = client.call(
            request(
                14,
                3,
                group_id="g",
                generation_id=7,
                member_id=member_id,
                group_instance_id=None,
                assignments=(),
            )
        )
        assert wrong_generation.error_code == ErrorCode.illegal_generation
        unknown = client.call(
            request(
                14,
                3,
                group_id="g",
                generation_id=1,
                member_id="who",
                group_instance_id=None,
                assignments=(),
            )
        )
        assert unknown.error_code == ErrorCode.unknown_member_id
        huge = client.call(
            request(
                14,
                3,
                group_id="g",
                generation_id=1,
                member_id=member_id,
                group_instance_id=None,
                assignments=(assignment(member_id=member_id, assignment=b"x" * 50_000),),
            )
        )
        assert huge.error_code == ErrorCode.unknown_server_error

        beat = client.call(
            request(12, 3, group_id="g", generation_id=1, member_id="who", group_instance_id=None)
        )
        assert beat.error_code == ErrorCode.unknown_member_id
        beat = client.call(
            request(12, 3, group_id="nope", generation_id=1, member_id="x", group_instance_id=None)
        )
        assert beat.error_code == ErrorCode.unknown_member_id

        partition = module(8, 8).OffsetCommitRequestPartition(
            partition_index=0,
            committed_offset=1,
            committed_leader_epoch=-1,
            committed_metadata=None,
        )
        topic = module(8, 8).OffsetCommitRequestTopic(name="t", partitions=(partition,))
        commit = client.call(
            request(
                8,
                8,
                group_id="g",
                generation_id_or_member_epoch=1,
                member_id="who",
                group_instance_id=None,
                topics=(topic,),
            )
        )
        assert commit.topics[0].partitions[0].error_code == ErrorCode.unknown_member_id

        bad_848 = client.call(
            request(
                68,
                0,
                group_id="k",
                member_id="",
                member_epoch=5,
                instance_id=None,
                rack_id=None,
                rebalance_timeout=datetime.timedelta(seconds=-0.001),
                subscribed_topic_names=None,
                server_assignor=None,
                topic_partitions=None,
            )
        )
        assert bad_848.error_code == ErrorCode.invalid_request and bad_848.error_message
        # The connection is still served after all that.
        assert client.api_versions().error_code == ErrorCode.none


def test_offsets_list_describe_delete_over_the_wire(groups_broker: RunningBroker) -> None:
    with RawClient(groups_broker.port) as client:
        partition = module(8, 8).OffsetCommitRequestPartition(
            partition_index=1, committed_offset=7, committed_leader_epoch=2, committed_metadata="m"
        )
        topic = module(8, 8).OffsetCommitRequestTopic(name="t", partitions=(partition,))
        commit = client.call(
            request(
                8,
                8,
                group_id="solo",
                generation_id_or_member_epoch=-1,
                member_id="",
                group_instance_id=None,
                topics=(topic,),
            )
        )
        assert commit.topics[0].partitions[0].error_code == ErrorCode.none
        fetch_group = module(9, 8).OffsetFetchRequestGroup(group_id="solo", topics=None)
        missing = module(9, 8).OffsetFetchRequestGroup(group_id="nobody", topics=None)
        fetched = client.call(request(9, 8, groups=(fetch_group, missing), require_stable=False))
        [solo, nobody] = fetched.groups
        [part] = solo.topics[0].partitions
        assert (part.committed_offset, part.committed_leader_epoch, part.metadata) == (7, 2, "m")
        assert nobody.topics == () and nobody.error_code == ErrorCode.none
        listed = client.call(request(16, 4, states_filter=("Empty",)))
        assert [g.group_id for g in listed.groups] == ["solo"]
        described = client.call(
            request(15, 5, groups=("solo", "ghost"), include_authorized_operations=False)
        )
        assert [g.group_state for g in described.groups] == ["Empty", "Dead"]
        assert [g.error_code for g in described.groups] == [ErrorCode.none] * 2
        # v6 (KIP-1043, Kafka 4): an unknown group is an error with a message.
        described = client.call(
            request(15, 6, groups=("solo", "ghost"), include_authorized_operations=False)
        )
        solo, ghost = described.groups
        assert (solo.error_code, solo.group_state) == (ErrorCode.none, "Empty")
        assert (ghost.error_code, ghost.group_state) == (ErrorCode.group_id_not_found, "Dead")
        assert ghost.error_message == "Group ghost not found."
        deleted = client.call(request(42, 2, groups_names=("solo", "ghost")))
        codes = {r.group_id: r.error_code for r in deleted.results}
        assert codes == {"solo": ErrorCode.none, "ghost": ErrorCode.group_id_not_found}
        not_consumer = client.call(
            request(69, 0, group_ids=("ghost",), include_authorized_operations=False)
        )
        assert not_consumer.groups[0].error_code == ErrorCode.group_id_not_found


def test_describe_groups_v6_refers_a_kip848_group_to_consumer_group_describe(
    groups_broker: RunningBroker,
) -> None:
    """As Kafka 4: DescribeGroups v6 describes classic groups only; v5 still shows the group."""
    with RawClient(groups_broker.port) as client:
        joined = client.call(
            request(
                68,
                0,
                group_id="next",
                member_id="m-1",
                member_epoch=0,
                instance_id=None,
                rack_id=None,
                rebalance_timeout=datetime.timedelta(seconds=30),
                subscribed_topic_names=("t",),
                server_assignor=None,
                topic_partitions=(),
            )
        )
        assert joined.error_code == ErrorCode.none
        [v6] = client.call(
            request(15, 6, groups=("next",), include_authorized_operations=False)
        ).groups
        assert v6.error_code == ErrorCode.group_id_not_found
        assert v6.error_message == "Group next is not a classic group."
        [v5] = client.call(
            request(15, 5, groups=("next",), include_authorized_operations=False)
        ).groups
        assert v5.error_code == ErrorCode.none and len(v5.members) == 1


def test_join_barrier_waits_for_every_member(groups_broker: RunningBroker) -> None:
    """Two raw members: the second join holds until the first rejoins (a real barrier)."""
    results: dict[str, Any] = {}
    with RawClient(groups_broker.port) as first, RawClient(groups_broker.port) as second:
        member = join(first, join(first).member_id)
        sync = first.call(
            request(
                14,
                3,
                group_id="g",
                generation_id=1,
                member_id=member.member_id,
                group_instance_id=None,
                assignments=(),
            )
        )
        assert sync.error_code == ErrorCode.none
        second_id = join(second).member_id

        def second_join() -> None:
            results["second"] = join(second, second_id)

        thread = threading.Thread(target=second_join)
        thread.start()
        beat = None
        for _ in range(50):
            beat = first.call(
                request(
                    12,
                    3,
                    group_id="g",
                    generation_id=1,
                    member_id=member.member_id,
                    group_instance_id=None,
                )
            )
            if beat.error_code == ErrorCode.rebalance_in_progress:
                break
        assert beat is not None and beat.error_code == ErrorCode.rebalance_in_progress
        rejoined = join(first, member.member_id)
        thread.join(timeout=30)
        assert rejoined.generation_id == results["second"].generation_id == 2
