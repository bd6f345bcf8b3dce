"""AlterPartitionReassignments (key 45) and ListPartitionReassignments (key 46), KIP-455.

Every partition of a single broker has one replica, this broker, so no
reassignment is ever in progress: listing answers none, a reassignment to
``[node_id]`` is a no-op that succeeds, one naming any other broker (or none,
or this one twice) is INVALID_REPLICA_ASSIGNMENT, and cancelling (null
replicas) is NO_REASSIGNMENT_IN_PROGRESS, as Kafka answers each. Unknown
topics or partitions answer UNKNOWN_TOPIC_OR_PARTITION when altering and are
left out when listing. Altering needs Cluster alter, listing Cluster describe
(else CLUSTER_AUTHORIZATION_FAILED for the whole request).
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError, NoReassignmentInProgress, kafka_error
from broker.handlers.admin_support import NO_THROTTLE, attempt
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from broker.topics.validation import check_replicas

__all__ = ["HANDLERS"]

ALTER_API_KEY = 45
LIST_API_KEY = 46


def _reassign(ctx: RequestContext, topic: str, partition: int, replicas: Any) -> None:
    ctx.broker.topics.partition(topic, partition)  # UNKNOWN_TOPIC_OR_PARTITION
    if replicas is None:
        raise NoReassignmentInProgress(
            f"No ongoing reassignment for partition {topic}-{partition}."
        )
    check_replicas(replicas, ctx.broker.node_id)


async def alter(ctx: RequestContext, request: Any) -> Any:
    module = response_module(ALTER_API_KEY, ctx.api_version)
    try:
        require_cluster(ctx, Action.ALTER)
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return build(
            module.AlterPartitionReassignmentsResponse,
            throttle_time=NO_THROTTLE,
            error_code=code,
            error_message=message,
            responses=(),
        )

    def partition_response(topic: str, wanted: Any) -> Any:
        _, code, message = attempt(
            lambda: _reassign(ctx, topic, wanted.partition_index, wanted.replicas),
            f"reassigning {topic}-{wanted.partition_index}",
        )
        return build(
            module.ReassignablePartitionResponse,
            partition_index=wanted.partition_index,
            error_code=code,
            error_message=message,
        )

    return build(
        module.AlterPartitionReassignmentsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        error_message=None,
        responses=tuple(
            build(
                module.ReassignableTopicResponse,
                name=topic.name,
                partitions=tuple(partition_response(topic.name, p) for p in topic.partitions),
            )
            for topic in request.topics
        ),
    )


async def list_ongoing(ctx: RequestContext, request: Any) -> Any:
    module = response_module(LIST_API_KEY, ctx.api_version)
    try:
        require_cluster(ctx, Action.DESCRIBE)
    except BrokerError as exc:
        code, message = kafka_error(exc)
    else:
        code, message = ErrorCode.none, None
    return build(
        module.ListPartitionReassignmentsResponse,
        throttle_time=NO_THROTTLE,
        error_code=code,
        error_message=message,
        topics=(),
    )


HANDLERS = (
    ApiHandler(ALTER_API_KEY, 0, 1, alter),
    ApiHandler(LIST_API_KEY, 0, 0, list_ongoing),
)
