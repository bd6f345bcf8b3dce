"""DescribeLogDirs (key 35, KIP-113): the broker's log directory and each partition's size.

One log directory (``<data-dir>/log``), its volume's total and usable bytes
(v4), and per partition asked for (null topics: all) the bytes its segments
hold; ``offset_lag`` is 0 (a single replica's high watermark is its log end)
and no log is a future one. Topics or partitions this broker does not hold are
left out, as Kafka does. Needs Cluster describe (else CLUSTER_AUTHORIZATION_FAILED
and no results).
"""

from __future__ import annotations

import shutil
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_cluster
from broker.errors import BrokerError, kafka_error
from broker.handlers.admin_support import NO_THROTTLE
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 35


def _wanted(ctx: RequestContext, request: Any) -> dict[str, list[int]]:
    """Topic -> partition indexes to describe, those that exist only."""
    topics = ctx.broker.topics
    if request.topics is None:
        return {name: list(range(len(topics.partitions(name)))) for name in topics.names()}
    wanted: dict[str, list[int]] = {}
    for topic in request.topics:
        info = topics.get(topic.topic)
        if info is None:
            continue
        held = [index for index in topic.partitions if 0 <= index < info.partitions]
        wanted.setdefault(topic.topic, []).extend(held)
    return wanted


def _log_dir_result(module: Any, ctx: RequestContext, request: Any) -> Any:
    topics = ctx.broker.topics
    log_dir = ctx.broker.settings.log_dir.resolve()
    usage = shutil.disk_usage(log_dir)
    return build(
        module.DescribeLogDirsResult,
        error_code=ErrorCode.none,
        log_dir=str(log_dir),
        topics=tuple(
            build(
                module.DescribeLogDirsTopic,
                name=name,
                partitions=tuple(
                    build(
                        module.DescribeLogDirsPartition,
                        partition_index=index,
                        partition_size=topics.partition(name, index).size_bytes,
                        offset_lag=0,
                        is_future_key=False,
                    )
                    for index in partitions
                ),
            )
            for name, partitions in _wanted(ctx, request).items()
        ),
        total_bytes=usage.total,
        usable_bytes=usage.free,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    try:
        require_cluster(ctx, Action.DESCRIBE)
    except BrokerError as exc:
        code, _ = kafka_error(exc)
        return build(
            module.DescribeLogDirsResponse, throttle_time=NO_THROTTLE, error_code=code, results=()
        )
    return build(
        module.DescribeLogDirsResponse,
        throttle_time=NO_THROTTLE,
        error_code=ErrorCode.none,
        results=(_log_dir_result(module, ctx, request),),
    )


HANDLERS = (ApiHandler(API_KEY, 1, 4, handle),)
