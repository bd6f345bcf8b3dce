"""Fetch (key 1): whole record batches straight from the log, long-polling for new data.

The response waits up to ``max_wait_ms`` until ``min_bytes`` are available, woken
by appends to any fetched partition. ``max_bytes`` caps the response and
``partition_max_bytes`` each partition, except that the first non-empty
partition always gets at least one whole batch (KIP-74) so a consumer never
stalls on a large record. The broker hooks are asked once per topic per
request; a denied topic's partitions answer TOPIC_AUTHORIZATION_FAILED.

Isolation: read_uncommitted reads up to the high watermark (the log end);
read_committed only up to the last stable offset (the first offset of the
oldest open transaction) and gets the aborted transactions overlapping what it
reads, so the client can drop their records. Every response carries the LSO.

Sessions (KIP-227, ``broker.handlers.fetch_sessions``): a full fetch with
epoch 0 creates one, incremental fetches then name only changed partitions
and get back only partitions with news. v13+ names topics by topic id
(UNKNOWN_TOPIC_ID for an id this broker does not know).
"""

from __future__ import annotations

import dataclasses
import datetime
import time
import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_topic
from broker.errors import BrokerError, UnknownTopicId, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.fetch_sessions import (
    FINAL_EPOCH,
    INITIAL_EPOCH,
    FetchSession,
    PartitionKey,
    SessionPartition,
)
from broker.handlers.topic_access import partition_log
from broker.hooks import check_fetch
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 1
_READ_COMMITTED = 1
_TOPIC_ID_VERSION = 13
_EMPTY = b""
_NO_TOPIC_ID = uuid.UUID(int=0)


@dataclasses.dataclass(slots=True)
class _Target:
    """One partition to read: where, and how much."""

    topic: str
    topic_id: uuid.UUID
    partition: int
    fetch_offset: int
    max_bytes: int
    error: ErrorCode = ErrorCode.none
    """Set for a partition that cannot be read at all (unknown topic id)."""


@dataclasses.dataclass(slots=True)
class _PartitionRead:
    target: _Target
    error: ErrorCode
    high_watermark: int = -1
    last_stable_offset: int = -1
    log_start_offset: int = -1
    records: bytes = _EMPTY
    aborted: tuple[tuple[int, int], ...] | None = None


def _read_all(
    ctx: RequestContext,
    request: Any,
    targets: list[_Target],
    denied: dict[str, ErrorCode],
) -> tuple[list[_PartitionRead], int, bool]:
    """One pass over every target partition: (results, bytes read, any error)."""
    topics = ctx.broker.topics
    committed = getattr(request, "isolation_level", 0) == _READ_COMMITTED
    remaining = request.max_bytes if ctx.api_version >= 3 else 2**31 - 1
    total = 0
    any_error = False
    results: list[_PartitionRead] = []
    for target in targets:
        if target.error != ErrorCode.none or target.topic in denied:
            any_error = True
            results.append(_PartitionRead(target, denied.get(target.topic, target.error)))
            continue
        try:
            log = partition_log(topics, target.topic, target.partition)
            high_watermark = log.log_end_offset
            stable = log.last_stable_offset
            log_start = log.log_start_offset
            upper = stable if committed else high_watermark
            limit = min(target.max_bytes, remaining)
            if (
                log_start <= target.fetch_offset <= high_watermark
                and target.fetch_offset >= upper
                or limit <= 0
                and total > 0
            ):
                records = _EMPTY
            else:
                # The log returns at least one whole batch even past ``limit``;
                # only the first non-empty partition may exceed the limits.
                records = log.read(
                    target.fetch_offset,
                    max(limit, 1) if total == 0 else limit,
                    max_offset=upper if committed else None,
                )
                if total > 0 and len(records) > limit:
                    records = _EMPTY
            aborted = None
            if committed:
                aborted = (
                    tuple(
                        (entry.producer_id, entry.first_offset)
                        for entry in log.aborted_transactions(target.fetch_offset, upper)
                    )
                    if records
                    else ()
                )
            results.append(
                _PartitionRead(
                    target, ErrorCode.none, high_watermark, stable, log_start, records, aborted
                )
            )
            total += len(records)
            remaining -= len(records)
        except BrokerError as exc:
            any_error = True
            results.append(_PartitionRead(target, kafka_error(exc)[0]))
    return results, total, any_error


def _response(
    module: Any,
    version: int,
    results: list[_PartitionRead],
    session_id: int = 0,
    error: ErrorCode = ErrorCode.none,
) -> Any:
    grouped: dict[tuple[str, uuid.UUID], list[_PartitionRead]] = {}
    for read in results:
        grouped.setdefault((read.target.topic, read.target.topic_id), []).append(read)
    return build(
        module.FetchResponse,
        throttle_time=datetime.timedelta(0),
        error_code=error,
        session_id=session_id,
        responses=tuple(
            build(
                module.FetchableTopicResponse,
                topic=topic,
                topic_id=topic_id,
                partitions=tuple(
                    build(
                        module.PartitionData,
                        partition_index=read.target.partition,
                        error_code=read.error,
                        high_watermark=read.high_watermark,
                        last_stable_offset=read.last_stable_offset,
                        log_start_offset=read.log_start_offset,
                        aborted_transactions=None
                        if read.aborted is None
                        else tuple(
                            build(
                                module.AbortedTransaction,
                                producer_id=producer_id,
                                first_offset=first_offset,
                            )
                            for producer_id, first_offset in read.aborted
                        ),
                        preferred_read_replica=-1,
                        records=read.records,
                    )
                    for read in reads
                ),
            )
            for (topic, topic_id), reads in grouped.items()
        ),
    )


def _denied_topics(ctx: RequestContext, names: set[str]) -> dict[str, ErrorCode]:
    """Topics the broker hooks do not let this principal fetch, asked once per request."""
    denied: dict[str, ErrorCode] = {}
    for name in names:
        try:
            require_topic(ctx, Action.READ, name)
            check_fetch(ctx.broker.hooks, ctx.principal, name, ctx.header.client_id)
        except BrokerError as exc:
            denied[name] = kafka_error(exc)[0]
    return denied


def _topic_of(ctx: RequestContext, fetch_topic: Any) -> tuple[str, uuid.UUID, ErrorCode]:
    """(name, topic id, error) of a request topic, named (v12-) or by id (v13+)."""
    topics = ctx.broker.topics
    if ctx.api_version < _TOPIC_ID_VERSION:
        info = topics.get(fetch_topic.topic)
        return fetch_topic.topic, info.topic_id if info else _NO_TOPIC_ID, ErrorCode.none
    try:
        info = topics.get_by_id(fetch_topic.topic_id)
    except UnknownTopicId as exc:
        return "", fetch_topic.topic_id, kafka_error(exc)[0]
    return info.name, info.topic_id, ErrorCode.none


def _requested(ctx: RequestContext, request: Any) -> list[_Target]:
    targets = []
    for fetch_topic in request.topics:
        name, topic_id, error = _topic_of(ctx, fetch_topic)
        for wanted in fetch_topic.partitions:
            targets.append(
                _Target(
                    name,
                    topic_id,
                    wanted.partition,
                    wanted.fetch_offset,
                    wanted.partition_max_bytes,
                    error,
                )
            )
    return targets


def _forgotten(ctx: RequestContext, request: Any) -> list[PartitionKey]:
    keys = []
    for forgotten in getattr(request, "forgotten_topics_data", ()) or ():
        if ctx.api_version < _TOPIC_ID_VERSION:
            name = forgotten.topic
        else:
            info = ctx.broker.topics.find_by_id(forgotten.topic_id)
            if info is None:
                continue
            name = info.name
        keys.extend((name, int(partition)) for partition in forgotten.partitions)
    return keys


def _update_session(session: FetchSession, targets: list[_Target]) -> list[_Target]:
    """Fold a request's partitions into ``session``; returns the ones that cannot be kept."""
    unreadable = []
    for target in targets:
        if target.error != ErrorCode.none:
            unreadable.append(target)
            continue
        key = (target.topic, target.partition)
        entry = session.partitions.get(key)
        if entry is None:
            session.partitions[key] = SessionPartition(
                target.topic_id, target.fetch_offset, target.max_bytes
            )
        else:
            entry.fetch_offset, entry.max_bytes = target.fetch_offset, target.max_bytes
    return unreadable


def _session_targets(session: FetchSession, unreadable: list[_Target]) -> list[_Target]:
    return [
        _Target(topic, entry.topic_id, partition, entry.fetch_offset, entry.max_bytes)
        for (topic, partition), entry in session.partitions.items()
    ] + unreadable


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    version = ctx.api_version
    cache = ctx.broker.fetch_sessions
    session_id = getattr(request, "session_id", 0)
    epoch = getattr(request, "session_epoch", FINAL_EPOCH)
    targets = _requested(ctx, request)
    session: FetchSession | None = None
    incremental = False
    if session_id != 0 and epoch > INITIAL_EPOCH:
        try:
            session = cache.incremental(session_id, epoch)
        except BrokerError as exc:
            return _response(module, version, [], 0, kafka_error(exc)[0])
        for key in _forgotten(ctx, request):
            session.partitions.pop(key, None)
        targets = _session_targets(session, _update_session(session, targets))
        incremental = True
        cache.incremental_fetches += 1
    else:
        if session_id != 0:
            cache.remove(session_id)
        if epoch == INITIAL_EPOCH:
            session = cache.create()
            if session is not None:
                _update_session(session, targets)
        cache.full_fetches += 1
    deadline = time.monotonic() + request.max_wait.total_seconds()
    keys = [(target.topic, target.partition) for target in targets]
    denied = _denied_topics(ctx, {target.topic for target in targets if target.topic})
    while True:
        results, total, any_error = _read_all(ctx, request, targets, denied)
        remaining = deadline - time.monotonic()
        if total >= request.min_bytes or any_error or remaining <= 0:
            break
        await ctx.broker.appends.wait(keys, remaining)
    if session is not None:
        results = [
            read
            for read in results
            if session.changed(
                (read.target.topic, read.target.partition),
                read.high_watermark,
                read.last_stable_offset,
                read.log_start_offset,
            )
            or read.records
            or read.error != ErrorCode.none
            or not incremental
        ]
    return _response(module, version, results, session.session_id if session else 0)


HANDLERS = (ApiHandler(API_KEY, 4, 16, handle),)
