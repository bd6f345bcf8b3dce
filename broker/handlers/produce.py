"""Produce (key 0): validate batches, pass the gate, append to the log, acknowledge.

Per partition: ``read_batches`` checks lengths, magic and CRC; the gate decides
(INVALID_RECORD with per-record errors when it rejects, v8+); ``log.append``
assigns offsets and enforces idempotent-producer sequencing. A retried batch
the log already holds is answered as success with its original offsets. acks=0
sends no response at all. Record bytes are never decoded here.
"""

from __future__ import annotations

import datetime
import logging
import time
from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError
from broker.handlers import ApiHandler
from broker.handlers.context import RequestContext
from broker.handlers.topic_access import partition_log
from broker.log import DuplicateBatch
from broker.protocol import build, response_module
from broker.records import read_batches

__all__ = ["HANDLERS"]

API_KEY = 0
_VALID_ACKS = frozenset({-1, 0, 1})
_RECORD_ERRORS_VERSION = 8
_UTC = datetime.UTC
log = logging.getLogger(__name__)


class _PartitionOutcome:
    __slots__ = (
        "base_offset",
        "error",
        "error_message",
        "log_append_time_ms",
        "log_start_offset",
        "record_errors",
    )

    def __init__(
        self,
        error: ErrorCode = ErrorCode.none,
        base_offset: int = -1,
        log_append_time_ms: int = -1,
        log_start_offset: int = -1,
        error_message: str | None = None,
        record_errors: tuple[tuple[int, str | None], ...] = (),
    ) -> None:
        self.error = error
        self.base_offset = base_offset
        self.log_append_time_ms = log_append_time_ms
        self.log_start_offset = log_start_offset
        self.error_message = error_message
        self.record_errors = record_errors


def _append(
    ctx: RequestContext, topic: str, partition: int, records: bytes | None
) -> _PartitionOutcome:
    try:
        log_ = partition_log(ctx.broker.topics, topic, partition)
        if not records:
            return _PartitionOutcome(ErrorCode.corrupt_message, error_message="no record batches")
        headers = read_batches(records)
        verdict = ctx.broker.gate.check(topic, partition, records, headers, ctx.header.client_id)
        if not verdict.accepted:
            return _PartitionOutcome(
                ErrorCode.invalid_record,
                error_message=verdict.error_message or "record rejected by the gate",
                record_errors=tuple(
                    (error.batch_index, error.message) for error in verdict.record_errors
                ),
            )
        result = log_.append(records, headers, now_ms=int(time.time() * 1000))
    except DuplicateBatch as duplicate:
        return _PartitionOutcome(
            base_offset=duplicate.base_offset, log_start_offset=log_.log_start_offset
        )
    except BrokerError as exc:
        return _PartitionOutcome(ErrorCode(exc.error_code), error_message=exc.message or None)
    ctx.broker.appends.notify(topic, partition)
    return _PartitionOutcome(
        base_offset=result.base_offset,
        log_append_time_ms=result.log_append_time_ms,
        log_start_offset=result.log_start_offset,
    )


def _partition_response(module: Any, index: int, outcome: _PartitionOutcome, version: int) -> Any:
    append_time = (
        None
        if outcome.log_append_time_ms < 0
        else datetime.datetime.fromtimestamp(outcome.log_append_time_ms / 1000, _UTC)
    )
    record_errors: tuple[Any, ...] = ()
    error_message = None
    if version >= _RECORD_ERRORS_VERSION:
        error_message = outcome.error_message
        record_errors = tuple(
            build(
                module.BatchIndexAndErrorMessage,
                batch_index=batch_index,
                batch_index_error_message=message,
            )
            for batch_index, message in outcome.record_errors
        )
    return build(
        module.PartitionProduceResponse,
        index=index,
        error_code=outcome.error,
        base_offset=outcome.base_offset,
        log_append_time=append_time,
        log_start_offset=outcome.log_start_offset,
        record_errors=record_errors,
        error_message=error_message,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    acks = request.acks
    if request.transactional_id is not None:
        outcome = _PartitionOutcome(
            ErrorCode.transactional_id_authorization_failed,
            error_message="transactions are not supported yet",
        )
        outcomes = {
            (t.name, p.index): outcome for t in request.topic_data for p in t.partition_data
        }
    elif acks not in _VALID_ACKS:
        outcome = _PartitionOutcome(ErrorCode.invalid_required_acks, error_message=f"acks={acks}")
        outcomes = {
            (t.name, p.index): outcome for t in request.topic_data for p in t.partition_data
        }
    else:
        outcomes = {
            (topic_data.name, partition_data.index): _append(
                ctx, topic_data.name, partition_data.index, partition_data.records
            )
            for topic_data in request.topic_data
            for partition_data in topic_data.partition_data
        }
    if acks == 0:
        return None
    module = response_module(API_KEY, ctx.api_version)
    version = ctx.api_version
    return build(
        module.ProduceResponse,
        responses=tuple(
            build(
                module.TopicProduceResponse,
                name=topic_data.name,
                partition_responses=tuple(
                    _partition_response(
                        module,
                        partition_data.index,
                        outcomes[(topic_data.name, partition_data.index)],
                        version,
                    )
                    for partition_data in topic_data.partition_data
                ),
            )
            for topic_data in request.topic_data
        ),
        throttle_time=datetime.timedelta(0),
    )


HANDLERS = (ApiHandler(API_KEY, 3, 9, handle),)
