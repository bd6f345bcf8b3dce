"""CreateTopics (key 19): create topics, or with ``validate_only`` only check that they could be.

Each topic gets its own result; v5+ results also carry the partition count,
replication factor and every config with its source, v7+ the topic id. A name
given twice in one request is answered INVALID_REQUEST ("Duplicate topic name."),
as Kafka's controller does. The broker hooks see each valid topic first, also
for ``validate_only`` (POLICY_VIOLATION on a deny), as Kafka's CreateTopicPolicy does.
"""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_topic
from broker.handlers.admin_support import NO_THROTTLE, topic_outcomes
from broker.handlers.context import ApiHandler, RequestContext
from broker.hooks import check_create_topic
from broker.protocol import build, response_module
from broker.topics import TopicInfo

__all__ = ["HANDLERS"]

API_KEY = 19
_ZERO_UUID = uuid.UUID(int=0)


def _create(ctx: RequestContext, topic: Any, validate_only: bool) -> TopicInfo:
    assignments = {a.partition_index: tuple(a.broker_ids) for a in topic.assignments}
    configs = {config.name: config.value for config in topic.configs}

    def create(only_validate: bool) -> TopicInfo:
        return ctx.broker.topics.create(
            topic.name,
            topic.num_partitions,
            topic.replication_factor,
            configs,
            only_validate,
            assignments=assignments or None,
        )

    require_topic(ctx, Action.CREATE, topic.name)
    planned = create(True)  # validated name, partition count and configs for the hooks
    check_create_topic(
        ctx.broker.hooks, ctx.principal, planned.name, planned.partitions, planned.configs
    )
    return planned if validate_only else create(False)


def _success(module: Any, ctx: RequestContext, info: TopicInfo) -> Any:
    if not hasattr(module, "CreatableTopicConfigs"):  # v2-v4 results carry no configs
        return _failure(module, info.name, ErrorCode.none, None)
    configs = tuple(
        build(
            module.CreatableTopicConfigs,
            name=entry.name,
            value=entry.value,
            read_only=entry.read_only,
            config_source=int(entry.source),
            is_sensitive=entry.is_sensitive,
        )
        for entry in ctx.broker.topics.config_entries(info.configs, include_synonyms=False)
    )
    return build(
        module.CreatableTopicResult,
        name=info.name,
        topic_id=info.topic_id,
        error_code=ErrorCode.none,
        error_message=None,
        topic_config_error_code=0,
        num_partitions=info.partitions,
        replication_factor=1,
        configs=configs,
    )


def _failure(module: Any, name: str, code: ErrorCode, message: str | None) -> Any:
    return build(
        module.CreatableTopicResult,
        name=name,
        topic_id=_ZERO_UUID,
        error_code=code,
        error_message=message,
        topic_config_error_code=0,
        num_partitions=-1,
        replication_factor=-1,
        configs=(),
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    outcomes = topic_outcomes(
        request.topics,
        lambda topic: _create(ctx, topic, request.validate_only),
        lambda topic: f"creating topic {topic.name!r}",
    )
    results = [
        _failure(module, name, code, message) if info is None else _success(module, ctx, info)
        for name, (info, code, message) in outcomes
    ]
    return build(module.CreateTopicsResponse, throttle_time=NO_THROTTLE, topics=tuple(results))


HANDLERS = (ApiHandler(API_KEY, 2, 7, handle),)
