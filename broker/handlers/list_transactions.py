"""ListTransactions (key 66): transactional ids, filtered by state, producer id and age.

Unknown state names in ``state_filters`` are echoed in
``unknown_state_filters`` (as Kafka does) and match nothing. v1 adds
``duration_filter``: only transactions open longer than that many ms.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from broker.transactions import TxnState

__all__ = ["HANDLERS"]

API_KEY = 66
_STATE_NAMES = frozenset(state.value for state in TxnState)


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    states = set(request.state_filters)
    producer_ids = set(request.producer_id_filters)
    duration = getattr(request, "duration_filter", -1)
    now_ms = int(time.time() * 1000)
    try:
        transactions = ctx.broker.coordinator().all()
        error = ErrorCode.none
    except BrokerError as exc:
        transactions, error = [], kafka_error(exc)[0]
    listed = [
        meta
        for meta in sorted(transactions, key=lambda m: m.transactional_id)
        if (not states or meta.state.value in states)
        and (not producer_ids or meta.producer_id in producer_ids)
        and (
            duration < 0
            or (meta.state is TxnState.ONGOING and now_ms - meta.txn_start_ms > duration)
        )
    ]
    return build(
        module.ListTransactionsResponse,
        throttle_time=datetime.timedelta(0),
        error_code=error,
        unknown_state_filters=tuple(sorted(states - _STATE_NAMES)),
        transaction_states=tuple(
            build(
                module.TransactionState,
                transactional_id=meta.transactional_id,
                producer_id=meta.producer_id,
                transaction_state=meta.state.value,
            )
            for meta in listed
        ),
    )


HANDLERS = (ApiHandler(API_KEY, 0, 1, handle),)
