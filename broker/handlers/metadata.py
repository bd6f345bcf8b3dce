"""Metadata (key 3): this single broker (id 0) leads every partition of every topic.

Topics that do not exist are created on the spot when auto topic creation is on
(``auto.create.topics.enable`` = ``settings.auto_create_topics``) and the request
allows it (v4+) and the broker hooks allow it (POLICY_VIOLATION otherwise), and
answered at once with their partitions.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import (
    NOT_REQUESTED,
    Action,
    authorized_operations,
    may_describe_topic,
    require_topic,
)
from broker.errors import BrokerError, kafka_error
from broker.handlers.context import ApiHandler, RequestContext
from broker.handlers.topic_access import (
    TopicView,
    all_topics,
    create_topic,
    find_topic,
    find_topic_by_id,
    single_replica_partition,
)
from broker.hooks import check_create_topic
from broker.protocol import build, response_module
from governance.security.model import CLUSTER_NAME, ResourceType

__all__ = ["HANDLERS"]

API_KEY = 3
_ZERO_UUID = uuid.UUID(int=0)
log = logging.getLogger(__name__)


def _topic_entry(module: Any, ctx: RequestContext, topic: TopicView) -> Any:
    partitions = tuple(
        build(module.MetadataResponsePartition, **single_replica_partition(ctx, index))
        for index in range(topic.partitions)
    )
    return build(
        module.MetadataResponseTopic,
        error_code=ErrorCode.none,
        name=topic.name,
        topic_id=topic.topic_id,
        is_internal=False,
        partitions=partitions,
        topic_authorized_operations=NOT_REQUESTED,
    )


def _error_entry(
    module: Any, code: ErrorCode, name: str | None, topic_id: uuid.UUID | None = None
) -> Any:
    return build(
        module.MetadataResponseTopic,
        error_code=code,
        name=name,
        topic_id=topic_id or _ZERO_UUID,
        is_internal=False,
        partitions=(),
        topic_authorized_operations=NOT_REQUESTED,
    )


def _requested_topic(module: Any, ctx: RequestContext, wanted: Any, allow_auto_create: bool) -> Any:
    topics = ctx.broker.topics
    name = getattr(wanted, "name", None)
    topic_id = getattr(wanted, "topic_id", None)
    if name is None:
        if topic_id is None or topic_id == _ZERO_UUID:
            return _error_entry(module, ErrorCode.invalid_request, None, topic_id)
        found = find_topic_by_id(topics, topic_id)
        if found is None:
            return _error_entry(module, ErrorCode.unknown_topic_id, None, topic_id)
        return _topic_entry(module, ctx, found)
    found = find_topic(topics, name)
    if not may_describe_topic(ctx, name) and (found is not None or not allow_auto_create):
        return _error_entry(module, ErrorCode.topic_authorization_failed, name)
    if found is not None:
        return _topic_entry(module, ctx, found)
    if not allow_auto_create:
        return _error_entry(module, ErrorCode.unknown_topic_or_partition, name)
    try:
        partitions = topics.defaults.default_partitions
        require_topic(ctx, Action.CREATE, name)
        check_create_topic(ctx.broker.hooks, ctx.principal, name, partitions, {})
        created = create_topic(topics, name)
    except BrokerError as exc:
        existing = find_topic(topics, name)  # created concurrently by someone else
        if existing is not None:
            return _topic_entry(module, ctx, existing)
        log.info("auto-creating topic %r failed: %s", name, exc)
        return _error_entry(module, kafka_error(exc)[0], name)
    log.info("auto-created topic %r with %d partition(s)", name, created.partitions)
    return _topic_entry(module, ctx, created)


def _with_operations(ctx: RequestContext, entry: Any) -> Any:
    """A topic entry with the operations the principal may do on it (KIP-430)."""
    if entry.error_code != ErrorCode.none or not entry.name:
        return entry
    operations = authorized_operations(ctx, ResourceType.TOPIC, entry.name)
    return dataclasses.replace(entry, topic_authorized_operations=operations)


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    allow_auto_create = ctx.broker.settings.auto_create_topics and getattr(
        request, "allow_auto_topic_creation", True
    )
    # v0: an empty list means every topic; v1+: null means every topic.
    if request.topics is None or (ctx.api_version == 0 and not request.topics):
        topic_entries = tuple(
            _topic_entry(module, ctx, topic)
            for topic in all_topics(ctx.broker.topics)
            if may_describe_topic(ctx, topic.name)
        )
    else:
        topic_entries = tuple(
            _requested_topic(module, ctx, wanted, allow_auto_create) for wanted in request.topics
        )
    if getattr(request, "include_topic_authorized_operations", False):
        topic_entries = tuple(_with_operations(ctx, entry) for entry in topic_entries)
    cluster_operations = NOT_REQUESTED
    if getattr(request, "include_cluster_authorized_operations", False):
        cluster_operations = authorized_operations(ctx, ResourceType.CLUSTER, CLUSTER_NAME)
    host, port = ctx.advertised
    broker = build(
        module.MetadataResponseBroker,
        node_id=ctx.broker.node_id,
        host=host,
        port=port,
        rack=None,
    )
    return build(
        module.MetadataResponse,
        throttle_time=datetime.timedelta(0),
        brokers=(broker,),
        cluster_id=ctx.broker.cluster_id,
        controller_id=ctx.broker.node_id,
        topics=topic_entries,
        cluster_authorized_operations=cluster_operations,
        error_code=ErrorCode.none,
    )


HANDLERS = (ApiHandler(API_KEY, 0, 12, handle),)
