"""DeleteTopics (key 20): delete topics by name (v1-v5 ``topic_names``) or by name or id (v6 ``topics``).

Unknown names answer UNKNOWN_TOPIC_OR_PARTITION, unknown ids UNKNOWN_TOPIC_ID;
a name or id given twice answers INVALID_REQUEST, as Kafka's controller does.
Every group's committed offsets of a deleted topic go with it, as Kafka's group
coordinator drops them, so a topic created again is read from its reset point.
"""

from __future__ import annotations

import uuid
from typing import Any

from kio.schema.errors import ErrorCode

from broker.authorization import Action, require_topic
from broker.errors import InvalidRequest
from broker.handlers.admin_support import NO_THROTTLE, attempt, duplicates
from broker.handlers.context import ApiHandler, RequestContext
from broker.protocol import build, response_module
from broker.topics import TopicInfo

__all__ = ["HANDLERS"]

API_KEY = 20
_ZERO_UUID = uuid.UUID(int=0)


def _wanted(request: Any) -> list[tuple[str | None, uuid.UUID | None]]:
    """(name, topic id) of every topic the request names, in order."""
    names = getattr(request, "topic_names", None)
    if names is not None:
        return [(name, None) for name in names]
    return [
        (state.name, None if state.topic_id in (None, _ZERO_UUID) else state.topic_id)
        for state in request.topics
    ]


def _delete(ctx: RequestContext, name: str | None, topic_id: uuid.UUID | None) -> TopicInfo:
    topics = ctx.broker.topics
    if name is not None and topic_id is not None:
        raise InvalidRequest("You may not specify both topic name and topic id.")
    if topic_id is not None:
        name = topics.get_by_id(topic_id).name
    if name is None:
        raise InvalidRequest("Neither topic name nor topic id was given.")
    require_topic(ctx, Action.DELETE, name)
    deleted = topics.delete(name)
    if ctx.broker.groups is not None:
        ctx.broker.groups.forget_topic(name)
    return deleted


def _result(
    module: Any, name: str | None, topic_id: uuid.UUID | None, code: ErrorCode, message: str | None
) -> Any:
    return build(
        module.DeletableTopicResult,
        name=name,
        topic_id=topic_id or _ZERO_UUID,
        error_code=code,
        error_message=message,
    )


async def handle(ctx: RequestContext, request: Any) -> Any:
    module = response_module(API_KEY, ctx.api_version)
    wanted = _wanted(request)
    repeated_names = duplicates(name for name, _ in wanted)
    repeated_ids = duplicates(str(topic_id) for _, topic_id in wanted if topic_id is not None)
    results = []
    answered: set[tuple[str | None, uuid.UUID | None]] = set()
    for name, topic_id in wanted:
        if name in repeated_names or (topic_id is not None and str(topic_id) in repeated_ids):
            if (name, topic_id) not in answered:  # one answer per repeated topic
                answered.add((name, topic_id))
                results.append(
                    _result(
                        module, name, topic_id, ErrorCode.invalid_request, "Duplicate topic name."
                    )
                )
            continue
        info, code, message = attempt(
            lambda name=name, topic_id=topic_id: _delete(ctx, name, topic_id),
            f"deleting topic {name or topic_id}",
        )
        if info is None:
            results.append(_result(module, name, topic_id, code, message))
        else:
            results.append(_result(module, info.name, info.topic_id, ErrorCode.none, None))
    return build(module.DeleteTopicsResponse, throttle_time=NO_THROTTLE, responses=tuple(results))


HANDLERS = (ApiHandler(API_KEY, 1, 6, handle),)
