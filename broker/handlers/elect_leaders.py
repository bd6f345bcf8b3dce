"""ElectLeaders (key 43, KIP-460): preferred or unclean leader election.

On a single broker every partition's leader is broker 0, its only (and
preferred) replica, so no election is ever needed: each named partition answers
ELECTION_NOT_NEEDED (84), and a request for every partition (null) answers an
empty list, as Kafka leaves out the partitions that already have their leader.
Unknown topics or partitions answer UNKNOWN_TOPIC_OR_PARTITION, an unknown
election type INVALID_REQUEST. Needs Cluster alter (else every named partition
answers CLUSTER_AUTHORIZATION_FAILED, at the top level too from v1).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError, ElectionNotNeeded, InvalidRequest, kafka_error
from broker.handlers.admin_support import NO_THROTTLE, attempt
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 43
ELECTION_TYPES = {0: "preferred", 1: "unclean"}


def _elect(ctx: RequestContext, election_type: int, topic: str, partition: int) -> None:
    if election_type not in ELECTION_TYPES:
        raise InvalidRequest(f"Unknown election type {election_type}")
    ctx.broker.topics.partition(topic, partition)  # UNKNOWN_TOPIC_OR_PARTITION
    raise ElectionNotNeeded("Leader election not needed for topic partition.")


def _results(
    module: Any,
    requested: dict[str, list[int]],
    outcome: Callable[[str, int], tuple[ErrorCode, str | None]],
) -> tuple[Any, ...]:
    return tuple(
        build(
            module.ReplicaElectionResult,
            topic=topic,
            partition_result=tuple(
                build(
                    module.PartitionResult,
                    partition_id=partition,
                    error_code=code,
                    error_message=message,
                )
                for partition in partitions
                for code, message in (outcome(topic, partition),)
            ),
        )
        for topic, partitions in requested.items()
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    election_type = int(getattr(request, "election_type", 0))  # v0: preferred only
    requested: dict[str, list[int]] = {}
    for wanted in request.topic_partitions or ():
        requested.setdefault(wanted.topic, []).extend(wanted.partitions)
    try:
        require_cluster(ctx, Action.ALTER)
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return build(
            module.ElectLeadersResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            replica_election_results=_results(module, requested, lambda *_: (code, message)),
        )

    def outcome(topic: str, partition: int) -> tuple[ErrorCode, str | None]:
        _, code, message = attempt(
            lambda: _elect(ctx, election_type, topic, partition),
            f"electing a leader of {topic}-{partition}",
        )
        return code, message

    return build(
        module.ElectLeadersResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        replica_election_results=_results(module, requested, outcome),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 2, handle),)
