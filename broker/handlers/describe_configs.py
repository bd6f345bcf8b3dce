"""DescribeConfigs (key 32): a topic's configs with value, source and synonyms, or the broker's.

TOPIC resources (type 2) list every topic config (or the requested keys; unknown
keys are left out, as in Kafka). BROKER resources (type 4) named with this
broker's id list its read-only broker-level configs; the cluster-default broker
resource (empty name) has no dynamic defaults, so it lists nothing. Other
resource types answer INVALID_REQUEST.
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_cluster, require_topic
from broker.errors import InvalidRequest
from broker.handlers.admin_support import (
    NO_THROTTLE,
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    attempt,
    broker_resource_error,
)
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from broker.topics import ConfigEntry, validate_topic_name

__all__ = ["HANDLERS"]

API_KEY = 32


def _entries(ctx: RequestContext, resource: Any, synonyms: bool, docs: bool) -> list[ConfigEntry]:
    topics = ctx.broker.topics
    keys = resource.configuration_keys
    if resource.resource_type == RESOURCE_TOPIC:
        validate_topic_name(resource.resource_name)
        require_topic(ctx, Action.DESCRIBE_CONFIGS, resource.resource_name)
        return topics.describe_configs(
            resource.resource_name,
            keys,
            include_synonyms=synonyms,
            include_documentation=docs,
        )
    if resource.resource_type == RESOURCE_BROKER:
        problem = broker_resource_error(ctx, resource.resource_name)
        if problem is not None:
            raise problem
        require_cluster(ctx, Action.DESCRIBE_CONFIGS)
        if resource.resource_name == "":
            return []
        return topics.describe_broker_configs(
            keys, include_synonyms=synonyms, include_documentation=docs
        )
    raise InvalidRequest(f"Unsupported resource type {resource.resource_type}")


def _config(module: Any, entry: ConfigEntry) -> Any:
    synonyms = tuple(
        build(module.DescribeConfigsSynonym, name=s.name, value=s.value, source=int(s.source))
        for s in entry.synonyms
    )
    return build(
        module.DescribeConfigsResourceResult,
        name=entry.name,
        value=entry.value,
        read_only=entry.read_only,
        config_source=int(entry.source),
        is_default=entry.is_default,
        is_sensitive=entry.is_sensitive,
        synonyms=synonyms,
        config_type=int(entry.config_type),
        documentation=entry.documentation,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    synonyms = bool(getattr(request, "include_synonyms", False))
    docs = bool(getattr(request, "include_documentation", False))
    results = []
    for resource in request.resources:
        entries, code, message = attempt(
            lambda resource=resource: _entries(ctx, resource, synonyms, docs),
            f"describing configs of {resource.resource_name!r}",
        )
        results.append(
            build(
                module.DescribeConfigsResult,
                error_code=code,
                error_message=message,
                resource_type=resource.resource_type,
                resource_name=resource.resource_name,
                configs=tuple(_config(module, entry) for entry in entries or ()),
            )
        )
    return build(module.DescribeConfigsResponse, throttle_time=NO_THROTTLE, results=tuple(results))


HANDLERS = (ApiHandler(API_KEY, 1, 4, handle),)
