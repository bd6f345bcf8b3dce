"""AddPartitionsToTxn (key 24): put partitions in a producer's transaction.

v0–v3 (what clients send) carry one transaction; v4 carries a batch of them
(``verify_only`` asks whether partitions are already in, without adding).
Errors are per partition: when some partitions are unknown they answer
UNKNOWN_TOPIC_OR_PARTITION and the others OPERATION_NOT_ATTEMPTED, as Kafka
does; a state or producer error answers the same code for every partition.
PRODUCER_FENCED is INVALID_PRODUCER_EPOCH below v2 (KIP-588). Authorization, as
Kafka: WRITE on the transactional id (else TRANSACTIONAL_ID_AUTHORIZATION_FAILED
for every partition), then WRITE on each topic (TOPIC_AUTHORIZATION_FAILED for
the denied ones, OPERATION_NOT_ATTEMPTED for the rest).
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, denied_topics, require_transactional_id
from broker.errors import BrokerError, UnknownTopicOrPartition, fenced_code, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 24
_PRODUCER_FENCED_VERSION = 2
_BATCHED_VERSION = 4


def _results(
    ctx: RequestContext,
    transactional_id: str,
    producer_id: int,
    producer_epoch: int,
    topics: Any,
    verify_only: bool,
) -> dict[tuple[str, int], ErrorCode]:
    wanted = [(topic.name, int(index)) for topic in topics for index in topic.partitions]
    try:
        require_transactional_id(ctx, Action.WRITE, transactional_id)
    except BrokerError as exc:
        return dict.fromkeys(wanted, kafka_error(exc)[0])
    denied = denied_topics(ctx, Action.WRITE, {topic for topic, _ in wanted})
    if denied:
        return {tp: denied.get(tp[0], ErrorCode.operation_not_attempted) for tp in wanted}
    try:
        coordinator = ctx.broker.coordinator()
        if verify_only:
            outside = coordinator.verify_partitions(
                transactional_id, producer_id, producer_epoch, wanted
            )
            return {
                tp: ErrorCode.invalid_txn_state if tp in outside else ErrorCode.none
                for tp in wanted
            }
        coordinator.add_partitions(transactional_id, producer_id, producer_epoch, wanted)
    except UnknownTopicOrPartition:
        topics_ = ctx.broker.topics
        return {
            tp: ErrorCode.unknown_topic_or_partition
            if topics_.log(*tp) is None
            else ErrorCode.operation_not_attempted
            for tp in wanted
        }
    except BrokerError as exc:
        error = fenced_code(exc, use_producer_fenced=ctx.api_version >= _PRODUCER_FENCED_VERSION)
        code = kafka_error(error)[0]
        return dict.fromkeys(wanted, code)
    return dict.fromkeys(wanted, ErrorCode.none)


def _topic_results(module: Any, topics: Any, results: dict[tuple[str, int], ErrorCode]) -> Any:
    return tuple(
        build(
            module.AddPartitionsToTxnTopicResult,
            name=topic.name,
            results_by_partition=tuple(
                build(
                    module.AddPartitionsToTxnPartitionResult,
                    partition_index=index,
                    partition_error_code=results[(topic.name, int(index))],
                )
                for index in topic.partitions
            ),
        )
        for topic in topics
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    if ctx.api_version < _BATCHED_VERSION:
        results = _results(
            ctx,
            request.v3_and_below_transactional_id,
            request.v3_and_below_producer_id,
            request.v3_and_below_producer_epoch,
            request.v3_and_below_topics,
            False,
        )
        return build(
            module.AddPartitionsToTxnResponse,
            throttle_time=datetime.timedelta(0),
            results_by_topic_v3_and_below=_topic_results(
                module, request.v3_and_below_topics, results
            ),
        )
    return build(
        module.AddPartitionsToTxnResponse,
        throttle_time=datetime.timedelta(0),
        error_code=ErrorCode.none,
        results_by_transaction=tuple(
            build(
                module.AddPartitionsToTxnResult,
                transactional_id=txn.transactional_id,
                topic_results=_topic_results(
                    module,
                    txn.topics,
                    _results(
                        ctx,
                        txn.transactional_id,
                        txn.producer_id,
                        txn.producer_epoch,
                        txn.topics,
                        txn.verify_only,
                    ),
                ),
            )
            for txn in request.transactions
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 4, handle),)
