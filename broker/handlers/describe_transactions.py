"""DescribeTransactions (key 65): state, producer, timeout and partitions of transactional ids.

An unknown id answers TRANSACTIONAL_ID_NOT_FOUND in its entry.
"""

from __future__ import annotations

import datetime
from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from broker.transactions import TxnState

__all__ = ["HANDLERS"]

API_KEY = 65
_EPOCH = datetime.datetime.fromtimestamp(0, datetime.UTC)


def _state(module: Any, ctx: RequestContext, transactional_id: str) -> Any:
    try:
        meta = ctx.broker.coordinator().describe(transactional_id)
    except BrokerError as exc:
        return build(
            module.TransactionState,
            error_code=kafka_error(exc)[0],
            transactional_id=transactional_id,
            transaction_state="",
            transaction_timeout=datetime.timedelta(0),
            transaction_start_time=_EPOCH,
            producer_id=-1,
            producer_epoch=-1,
            topics=(),
        )
    by_topic: dict[str, list[int]] = {}
    # Kafka empties the partition set when a transaction completes (prepareComplete): a
    # finished transaction describes no partitions, though ours are kept for its event.
    completed = meta.state in (TxnState.COMPLETE_COMMIT, TxnState.COMPLETE_ABORT)
    for topic, index in sorted(() if completed else meta.partitions):
        by_topic.setdefault(topic, []).append(index)
    return build(
        module.TransactionState,
        error_code=ErrorCode.none,
        transactional_id=transactional_id,
        transaction_state=meta.state.value,
        transaction_timeout=datetime.timedelta(milliseconds=meta.timeout_ms),
        # -1 (no transaction yet) cannot be encoded by the codec: the epoch stands for it
        transaction_start_time=_EPOCH + datetime.timedelta(milliseconds=max(meta.txn_start_ms, 0)),
        producer_id=meta.producer_id,
        producer_epoch=meta.producer_epoch,
        topics=tuple(
            build(module.TopicData, topic=topic, partitions=tuple(indexes))
            for topic, indexes in by_topic.items()
        ),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    return build(
        module.DescribeTransactionsResponse,
        throttle_time=datetime.timedelta(0),
        transaction_states=tuple(
            _state(module, ctx, transactional_id) for transactional_id in request.transactional_ids
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 0, handle),)
