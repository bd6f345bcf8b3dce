"""Produce (key 0): validate batches, pass the gate, append to the log, acknowledge.

Per partition, in Kafka's order:

1. the shape ``ProduceRequest.validateRecords`` demands of v3+ requests (exactly
   one complete record batch, magic 2: INVALID_RECORD otherwise);
2. acks=all against the topic's ``min.insync.replicas`` (one replica here:
   NOT_ENOUGH_REPLICAS above 1, as Kafka's leader answers);
3. ``read_batches``: lengths, magic and CRC (CORRUPT_MESSAGE);
4. header rules a client batch must follow (known compression codec, no control
   batch); a transactional batch needs the request's transactional id and a
   producer whose ongoing transaction holds the partition
   (``TransactionCoordinator.check_produce``: INVALID_PRODUCER_ID_MAPPING,
   INVALID_PRODUCER_EPOCH or INVALID_TXN_STATE otherwise);
5. batch sizes (MESSAGE_TOO_LARGE), before any record is read;
6. CreateTime timestamps within the topic's ``message.timestamp.before/after.max.ms``
   (INVALID_TIMESTAMP with an error per record, ``broker.log.timestamps``);
7. the gate (INVALID_RECORD with per-record errors when it rejects, v8+);
8. ``log.append``: offsets, idempotent-producer sequencing, and a batch without
   the transactional bit from a producer with an open transaction in the
   partition is INVALID_TXN_STATE.

A retried batch the log already holds is answered as success with its original
offsets. When an append makes an fsync due (``flush.messages``/``flush.ms``), the
group commit runs it off the event loop and the response is ``Deferred`` until
it is done. acks=0 sends no response at all. The broker hooks are asked once per
topic first (TOPIC_AUTHORIZATION_FAILED on a deny).

Record bytes are decoded here only for a bounded timestamp check (step 6); when
the gate inspects a topic (``broker.gate``), ``_append_gated`` has it decode and
check the batch on a worker thread, then appends what it admits (the batch, or a
rebuilt one plus dead letters).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import logging
import struct
import time
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_topic, require_transactional_id
from broker.errors import BrokerError, NotEnoughReplicas, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.deferred import Deferred
from broker.handlers.topic_access import partition_log
from broker.hooks import check_produce
from broker.log import DuplicateBatch, PartitionLog
from broker.log.timestamps import out_of_range_timestamps
from broker.protocol import build, response_module
from broker.protocol.records import BatchHeader, decompression_limit, read_batches
from governance.gate import GateContext, Reject

__all__ = ["HANDLERS"]

API_KEY = 0
_VALID_ACKS = frozenset({-1, 0, 1})
_ACKS_ALL = -1
_IN_SYNC_REPLICAS = 1  # this broker, the only replica of every partition
_RECORD_ERRORS_VERSION = 8
_UTC = datetime.UTC
log = logging.getLogger(__name__)

# Offsets inside a record batch (https://kafka.apache.org/documentation/#recordbatch).
_LOG_OVERHEAD = 12  # baseOffset int64 + batchLength int32
_MAGIC_OFFSET = 16
_BATCH_LENGTH = struct.Struct(">i")
_MIN_BATCH_LENGTH = 14  # Kafka's LegacyRecord.RECORD_OVERHEAD_V0, its first sanity bound
_MAX_CODEC = 4  # 0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd


def _batch_extent(records: bytes, position: int) -> int | None:
    """End of the complete batch at ``position``, or None when none is complete there.

    Follows Kafka's ``ByteBufferLogInputStream``: a length below the minimum or an
    unknown magic is corrupt; a batch cut short is simply not a batch.
    """
    remaining = len(records) - position
    if remaining < _LOG_OVERHEAD:
        return None
    (length,) = _BATCH_LENGTH.unpack_from(records, position + 8)
    if length < _MIN_BATCH_LENGTH:
        raise _Rejected(
            ErrorCode.corrupt_message,
            f"record batch length {length} is less than the minimum of {_MIN_BATCH_LENGTH}",
        )
    if remaining <= _MAGIC_OFFSET:
        return None
    magic = int.from_bytes(
        records[position + _MAGIC_OFFSET : position + _MAGIC_OFFSET + 1], "big", signed=True
    )
    if not 0 <= magic <= 2:
        raise _Rejected(ErrorCode.corrupt_message, f"invalid magic {magic} in record batch")
    if remaining < _LOG_OVERHEAD + length:
        return None
    return position + _LOG_OVERHEAD + length


class _Rejected(Exception):
    def __init__(
        self,
        error: ErrorCode,
        message: str,
        record_errors: tuple[tuple[int, str | None], ...] = (),
    ) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.record_errors = record_errors


def _check_timestamps(
    log_: PartitionLog, records: bytes, headers: list[BatchHeader], now_ms: int
) -> None:
    """INVALID_TIMESTAMP with an error per record outside the topic's CreateTime bounds."""
    errors = out_of_range_timestamps(log_.config, records, headers, now_ms)
    if errors:
        raise _Rejected(
            ErrorCode.invalid_timestamp,
            ", ".join(message for _, message in errors),
            tuple(errors),
        )


def _check_request_shape(records: bytes | None, version: int) -> None:
    """Kafka's rules for the records of one partition in a v3+ produce request."""
    data = records or b""
    end = _batch_extent(data, 0)
    if end is None:
        raise _Rejected(
            ErrorCode.invalid_record,
            f"Produce requests with version {version} must have at least one record batch "
            "per partition",
        )
    if data[_MAGIC_OFFSET] != 2:
        raise _Rejected(
            ErrorCode.invalid_record,
            f"Produce requests with version {version} are only allowed to contain record "
            f"batches with magic version 2 (got magic {data[_MAGIC_OFFSET]})",
        )
    if _batch_extent(data, end) is not None:
        raise _Rejected(
            ErrorCode.invalid_record,
            f"Produce requests with version {version} are only allowed to contain exactly "
            "one record batch per partition",
        )


def _check_client_batch(
    ctx: RequestContext,
    transactional_id: str | None,
    header: BatchHeader,
    topic: str,
    partition: int,
) -> None:
    """Header rules for a batch written by a client; a transactional one must be in its
    producer's ongoing transaction."""
    if header.compression > _MAX_CODEC:
        raise _Rejected(
            ErrorCode.corrupt_message, f"unknown compression codec id {header.compression}"
        )
    if header.is_control:
        raise _Rejected(ErrorCode.invalid_record, "clients may not write control batches")
    if header.is_transactional:
        if transactional_id is None:
            raise _Rejected(
                ErrorCode.transactional_id_authorization_failed,
                "a transactional record batch needs the request's transactional id",
            )
        if header.producer_id < 0:
            raise _Rejected(
                ErrorCode.invalid_record, "a transactional record batch needs a producer id"
            )
        ctx.broker.coordinator().check_produce(
            transactional_id, header.producer_id, header.producer_epoch, (topic, partition)
        )


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


def _check_in_sync_replicas(log_: PartitionLog, acks: int, topic: str, partition: int) -> None:
    """acks=all needs ``min.insync.replicas`` in-sync replicas, as Kafka's leader checks."""
    required = log_.config.min_insync_replicas
    if acks == _ACKS_ALL and required > _IN_SYNC_REPLICAS:
        raise NotEnoughReplicas(
            f"The size of the current ISR {_IN_SYNC_REPLICAS} is insufficient to satisfy "
            f"the min.isr requirement of {required} for partition {topic}-{partition}"
        )


async def _append(
    ctx: RequestContext,
    acks: int,
    transactional_id: str | None,
    topic: str,
    partition: int,
    records: bytes | None,
    flushes: list[PartitionLog],
) -> _PartitionOutcome:
    try:
        log_ = partition_log(ctx.broker.topics, topic, partition)
        _check_request_shape(records, ctx.api_version)
        _check_in_sync_replicas(log_, acks, topic, partition)
        assert records is not None
        headers = read_batches(records)
        for header in headers:
            _check_client_batch(ctx, transactional_id, header, topic, partition)
        log_.check_sizes(headers)  # before any record is read, as Kafka
        _check_timestamps(log_, records, headers, int(time.time() * 1000))
        gate = ctx.broker.gate
        gate_context = gate.context(
            ctx.broker.topics,
            topic,
            partition,
            principal=ctx.principal,
            client_id=ctx.header.client_id,
            producer_id=headers[0].producer_id,
        )
        if gate_context is not None and gate.inspects(gate_context):
            return await _append_gated(ctx, gate_context, log_, records, headers, flushes)
        result = log_.append(records, headers, now_ms=int(time.time() * 1000), defer_flush=True)
        if gate_context is not None:  # records the gate did not read: lineage only
            gate.observe_unread(gate_context, records, headers)
    except DuplicateBatch as duplicate:
        flushes.append(log_)  # its first append's fsync may still be running
        return _PartitionOutcome(
            base_offset=max(duplicate.base_offset, -1), log_start_offset=log_.log_start_offset
        )
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return _PartitionOutcome(code, error_message=message)
    except _Rejected as rejected:
        return _PartitionOutcome(
            rejected.error, error_message=rejected.message, record_errors=rejected.record_errors
        )
    if result.flush_due:
        flushes.append(log_)
    ctx.broker.appends.notify(topic, partition)
    return _PartitionOutcome(
        base_offset=result.base_offset,
        log_append_time_ms=result.log_append_time_ms,
        log_start_offset=result.log_start_offset,
    )


async def _append_gated(
    ctx: RequestContext,
    gate_context: GateContext,
    log_: PartitionLog,
    records: bytes,
    headers: list[BatchHeader],
    flushes: list[PartitionLog],
) -> _PartitionOutcome:
    """The gate inspects this partition: check off the loop, then append what it admits.

    Raises what ``log.append`` raises (``_append`` answers it).
    """
    gate = ctx.broker.gate
    limit = decompression_limit(log_.config.max_message_bytes)
    admission = await gate.admit(gate_context, records, headers, max_decompressed_bytes=limit)
    missing = gate.missing_dead_letter_topic(ctx.broker.topics, admission)
    if admission.rejection is None and missing is not None:
        admission = dataclasses.replace(
            admission,
            rejection=Reject((), f"the dead-letter topic {missing!r} does not exist"),
        )
    if admission.rejection is not None:
        return _PartitionOutcome(
            ErrorCode.invalid_record,
            error_message=admission.rejection.message or "record rejected by the gate",
            record_errors=tuple(
                (error.index, error.message) for error in admission.rejection.errors
            ),
        )
    now_ms = int(time.time() * 1000)
    topic, partition = gate_context.topic, gate_context.partition
    if admission.records is None:  # every record routed: only the producer's sequences count
        assert admission.skipped is not None
        log_.skip_sequences(admission.skipped)
        outcome = _PartitionOutcome(log_start_offset=log_.log_start_offset)
    else:
        result = log_.append(
            admission.records,
            admission.headers,
            now_ms=now_ms,
            first_sequence=admission.first_sequence,
            defer_flush=True,
        )
        if result.flush_due:
            flushes.append(log_)
        ctx.broker.appends.notify(topic, partition)
        outcome = _PartitionOutcome(
            base_offset=result.base_offset,
            log_append_time_ms=result.log_append_time_ms,
            log_start_offset=result.log_start_offset,
        )
    for target in gate.deliver(ctx.broker.topics, admission, now_ms):
        ctx.broker.appends.notify(*target)
    return outcome


def _denied(ctx: RequestContext, topic: str) -> _PartitionOutcome | None:
    """The outcome for every partition of ``topic`` when the broker hooks deny producing."""
    try:
        require_topic(ctx, Action.WRITE, topic)
        check_produce(ctx.broker.hooks, ctx.principal, topic, ctx.header.client_id)
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return _PartitionOutcome(code, error_message=message)
    return None


def _transactional_id_denied(
    ctx: RequestContext, transactional_id: str | None
) -> _PartitionOutcome | None:
    """A transactional produce needs WRITE on its transactional id too (as Kafka)."""
    if transactional_id is None:
        return None
    try:
        require_transactional_id(ctx, Action.WRITE, transactional_id)
    except BrokerError as exc:
        code, message = kafka_error(exc)
        return _PartitionOutcome(code, error_message=message)
    return None


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
    flushes: list[PartitionLog] = []
    if acks not in _VALID_ACKS:
        outcome = _PartitionOutcome(ErrorCode.invalid_required_acks, error_message=f"acks={acks}")
        outcomes = {
            (t.name, p.index): outcome for t in request.topic_data for p in t.partition_data
        }
    elif (txn_denied := _transactional_id_denied(ctx, request.transactional_id)) is not None:
        outcomes = {
            (t.name, p.index): txn_denied for t in request.topic_data for p in t.partition_data
        }
    else:
        outcomes = {}
        for topic_data in request.topic_data:
            denied = _denied(ctx, topic_data.name)
            for partition_data in topic_data.partition_data:
                outcomes[(topic_data.name, partition_data.index)] = denied or await _append(
                    ctx,
                    acks,
                    request.transactional_id,
                    topic_data.name,
                    partition_data.index,
                    partition_data.records,
                    flushes,
                )
    durable = [ctx.broker.group_commit.flush(log_) for log_ in flushes]
    if acks == 0:
        for future in durable:
            future.add_done_callback(_report_failed_flush)
        return None
    module = response_module(API_KEY, ctx.api_version)
    version = ctx.api_version
    response = build(
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
    if not durable:
        return response
    return Deferred(response, durable[0] if len(durable) == 1 else asyncio.gather(*durable))


def _report_failed_flush(future: asyncio.Future[None]) -> None:
    if not future.cancelled() and future.exception() is not None:
        log.error("fsync after an acks=0 produce failed", exc_info=future.exception())


HANDLERS = (ApiHandler(API_KEY, 3, 9, handle),)
