"""AlterConfigs (key 33): replace every config override of a topic (the legacy, replace-all API).

Configs not in the request go back to their defaults. BROKER resources naming
this broker are accepted only with no configs: Charter's broker configs are
static (charter.toml, ``CHARTER_*`` environment, flags). A resource named twice
answers INVALID_REQUEST, as Kafka's controller does. The broker hooks see the
validated new overrides of a topic first (POLICY_VIOLATION on a deny).
"""

from __future__ import annotations

from typing import Any

from broker.authorization import Action, require_cluster, require_topic
from broker.errors import InvalidRequest
from broker.handlers.admin_support import (
    NO_THROTTLE,
    RESOURCE_BROKER,
    RESOURCE_TOPIC,
    alter_broker_resource,
    duplicates,
    resource_results,
)
from broker.handlers.context import ApiHandler, RequestContext
from broker.hooks import check_alter_config
from broker.protocol import build, response_module

__all__ = ["HANDLERS"]

API_KEY = 33


def _alter(ctx: RequestContext, resource: Any, validate_only: bool) -> None:
    names = [config.name for config in resource.configs]
    if duplicates(names):
        raise InvalidRequest("Error due to duplicate config keys")
    if resource.resource_type == RESOURCE_TOPIC:
        require_topic(ctx, Action.ALTER_CONFIGS, resource.resource_name)
        configs = {config.name: config.value for config in resource.configs}
        planned = ctx.broker.topics.alter_configs(resource.resource_name, configs, True)
        check_alter_config(ctx.broker.hooks, ctx.principal, planned.name, planned.configs)
        if not validate_only:
            ctx.broker.topics.alter_configs(resource.resource_name, configs)
    elif resource.resource_type == RESOURCE_BROKER:
        require_cluster(ctx, Action.ALTER_CONFIGS)
        alter_broker_resource(ctx, resource.resource_name, names)
    else:
        raise InvalidRequest(f"Unsupported resource type {resource.resource_type}")


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    responses = resource_results(
        module, request, lambda resource: _alter(ctx, resource, request.validate_only)
    )
    return build(module.AlterConfigsResponse, throttle_time=NO_THROTTLE, responses=responses)


HANDLERS = (ApiHandler(API_KEY, 0, 2, handle),)
