"""TxnOffsetCommit (key 28): stage a consumer group's offsets in a producer's transaction.

The offsets go to the broker's ``PendingOffsets`` (the seam to the group
offsets store) and become the group's committed offsets when the transaction
commits. Errors apply to every partition of the request. PRODUCER_FENCED is
INVALID_PRODUCER_EPOCH below v3.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, denied_topics, require_group, require_transactional_id
from broker.errors import BrokerError, InvalidRequest, fenced_code, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from broker.transactions import GroupMember, OffsetAndMetadata

__all__ = ["HANDLERS"]

API_KEY = 28
_PRODUCER_FENCED_VERSION = 3


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    offsets = {
        (topic.name, int(partition.partition_index)): OffsetAndMetadata(
            int(partition.committed_offset),
            int(getattr(partition, "committed_leader_epoch", -1)),
            partition.committed_metadata,
        )
        for topic in request.topics
        for partition in topic.partitions
    }
    member = GroupMember(
        int(getattr(request, "generation_id", -1)),
        getattr(request, "member_id", "") or "",
        getattr(request, "group_instance_id", None),
    )
    error = ErrorCode.none
    denied: dict[str, ErrorCode] = {}
    try:
        require_transactional_id(ctx, Action.WRITE, request.transactional_id)
        if not request.group_id:
            raise InvalidRequest("the group id must not be empty")
        require_group(ctx, Action.READ, request.group_id)
        denied = denied_topics(ctx, Action.READ, {topic for topic, _ in offsets})
        offsets = {key: value for key, value in offsets.items() if key[0] not in denied}
        if any(offset.offset < 0 for offset in offsets.values()):
            raise InvalidRequest("committed offsets must not be negative")
        if offsets:
            ctx.broker.coordinator().txn_offset_commit(
                request.transactional_id,
                request.group_id,
                request.producer_id,
                request.producer_epoch,
                offsets,
                member,
            )
    except BrokerError as exc:
        fenced = fenced_code(exc, use_producer_fenced=ctx.api_version >= _PRODUCER_FENCED_VERSION)
        error = kafka_error(fenced)[0]
    return build(
        module.TxnOffsetCommitResponse,
        throttle_time=datetime.timedelta(0),
        topics=tuple(
            build(
                module.TxnOffsetCommitResponseTopic,
                name=topic.name,
                partitions=tuple(
                    build(
                        module.TxnOffsetCommitResponsePartition,
                        partition_index=partition.partition_index,
                        error_code=denied.get(topic.name, error),
                    )
                    for partition in topic.partitions
                ),
            )
            for topic in request.topics
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 3, handle),)
