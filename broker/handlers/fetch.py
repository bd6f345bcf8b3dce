"""Fetch (key 1): whole record batches straight from the log, long-polling for new data.

The response waits up to ``max_wait_ms`` until ``min_bytes`` are available, woken
by appends to any fetched partition. ``max_bytes`` caps the response and
``partition_max_bytes`` each partition, except that the first non-empty
partition always gets at least one whole batch (KIP-74) so a consumer never
stalls on a large record. Fetch sessions are not kept: a sessionless or new
session request gets session id 0 (a full fetch every time, which clients
accept); an incremental request naming a session gets FETCH_SESSION_ID_NOT_FOUND,
after which clients start over with a full fetch. The broker hooks are asked
once per topic per request; a denied topic's partitions answer
TOPIC_AUTHORIZATION_FAILED.
"""

from __future__ import annotations

import datetime
import time
from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.topic_access import partition_log
from broker.hooks import check_fetch
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 1
_READ_COMMITTED = 1
_EMPTY = b""


class _PartitionRead:
    __slots__ = ("error", "high_watermark", "index", "log_start_offset", "records")

    def __init__(
        self,
        index: int,
        error: ErrorCode,
        high_watermark: int,
        log_start_offset: int,
        records: bytes,
    ) -> None:
        self.index = index
        self.error = error
        self.high_watermark = high_watermark
        self.log_start_offset = log_start_offset
        self.records = records


def _read_all(
    ctx: RequestContext, request: Any, denied: dict[str, ErrorCode]
) -> tuple[list[tuple[str, list[_PartitionRead]]], int, bool]:
    """One pass over every requested partition: (results, bytes read, any error).

    Topics in ``denied`` get their error code for every partition, unread.
    """
    topics = ctx.broker.topics
    remaining = request.max_bytes if ctx.api_version >= 3 else 2**31 - 1
    total = 0
    any_error = False
    results: list[tuple[str, list[_PartitionRead]]] = []
    for fetch_topic in request.topics:
        reads: list[_PartitionRead] = []
        for wanted in fetch_topic.partitions:
            if fetch_topic.topic in denied:
                any_error = True
                reads.append(
                    _PartitionRead(wanted.partition, denied[fetch_topic.topic], -1, -1, _EMPTY)
                )
                continue
            try:
                log = partition_log(topics, fetch_topic.topic, wanted.partition)
                high_watermark = log.log_end_offset
                log_start = log.log_start_offset
                limit = min(wanted.partition_max_bytes, remaining)
                if (
                    wanted.fetch_offset == high_watermark
                    and log_start <= high_watermark
                    or limit <= 0
                    and total > 0
                ):
                    records = _EMPTY
                else:
                    # The log returns at least one whole batch even past ``limit``;
                    # only the first non-empty partition may exceed the limits.
                    records = log.read(wanted.fetch_offset, max(limit, 1) if total == 0 else limit)
                    if total > 0 and len(records) > limit:
                        records = _EMPTY
                reads.append(
                    _PartitionRead(
                        wanted.partition, ErrorCode.none, high_watermark, log_start, records
                    )
                )
                total += len(records)
                remaining -= len(records)
            except BrokerError as exc:
                any_error = True
                reads.append(_PartitionRead(wanted.partition, kafka_error(exc)[0], -1, -1, _EMPTY))
        results.append((fetch_topic.topic, reads))
    return results, total, any_error


def _response(
    module: Any,
    request: Any,
    results: list[tuple[str, list[_PartitionRead]]],
    error: ErrorCode = ErrorCode.none,
) -> Any:
    aborted = () if getattr(request, "isolation_level", 0) == _READ_COMMITTED else None
    return build(
        module.FetchResponse,
        throttle_time=datetime.timedelta(0),
        error_code=error,
        session_id=0,
        responses=tuple(
            build(
                module.FetchableTopicResponse,
                topic=topic,
                partitions=tuple(
                    build(
                        module.PartitionData,
                        partition_index=read.index,
                        error_code=read.error,
                        high_watermark=read.high_watermark,
                        last_stable_offset=read.high_watermark,
                        log_start_offset=read.log_start_offset,
                        aborted_transactions=aborted,
                        preferred_read_replica=-1,
                        records=read.records,
                    )
                    for read in reads
                ),
            )
            for topic, reads in results
        ),
    )


def _denied_topics(ctx: RequestContext, request: Any) -> dict[str, ErrorCode]:
    """Topics the broker hooks do not let this principal fetch, asked once per request."""
    denied: dict[str, ErrorCode] = {}
    for name in {topic.topic for topic in request.topics}:
        try:
            check_fetch(ctx.broker.hooks, ctx.principal, name, ctx.header.client_id)
        except BrokerError as exc:
            denied[name] = kafka_error(exc)[0]
    return denied


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    if getattr(request, "session_id", 0) != 0:
        return _response(module, request, [], ErrorCode.fetch_session_id_not_found)
    deadline = time.monotonic() + request.max_wait.total_seconds()
    keys = [
        (topic.topic, partition.partition)
        for topic in request.topics
        for partition in topic.partitions
    ]
    denied = _denied_topics(ctx, request)
    while True:
        results, total, any_error = _read_all(ctx, request, denied)
        remaining = deadline - time.monotonic()
        if total >= request.min_bytes or any_error or remaining <= 0:
            return _response(module, request, results)
        await ctx.broker.appends.wait(keys, remaining)


HANDLERS = (ApiHandler(API_KEY, 4, 12, handle),)
