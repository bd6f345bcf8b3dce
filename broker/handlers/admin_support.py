"""What the admin handlers share: error capture, duplicate detection, config resource kinds.

Admin APIs answer per topic or per resource: a failure of one entry becomes that
entry's error code and message (Kafka's wording) and never fails the request.
"""

from __future__ import annotations

import datetime
import logging
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from kio.schema.errors import ErrorCode

from broker.errors import BrokerError, InvalidRequest, kafka_error
from broker.handlers.context import RequestContext
from broker.protocol import build

__all__ = [
    "NO_THROTTLE",
    "RESOURCE_BROKER",
    "RESOURCE_TOPIC",
    "Outcome",
    "alter_broker_resource",
    "attempt",
    "broker_resource_error",
    "duplicates",
    "resource_results",
    "topic_outcomes",
]

NO_THROTTLE = datetime.timedelta(0)

# ConfigResource.Type codes of the Kafka protocol.
RESOURCE_TOPIC = 2
RESOURCE_BROKER = 4

log = logging.getLogger(__name__)
T = TypeVar("T")

Outcome = tuple[T | None, ErrorCode, str | None]
"""(result, error code, error message): result is None unless the code is NONE."""


def attempt(action: Callable[[], T], what: str) -> Outcome[T]:
    """Run ``action``; a ``BrokerError`` becomes its code and message, anything else -1."""
    try:
        return action(), ErrorCode.none, None
    except BrokerError as exc:
        code, _ = kafka_error(exc)
        return None, code, str(exc)
    except Exception:
        log.exception("admin request failed: %s", what)
        return None, ErrorCode.unknown_server_error, f"Unexpected error while handling {what}"


def duplicates(names: Iterable[str | None]) -> set[str]:
    """Names given more than once (Kafka answers each with INVALID_REQUEST)."""
    return {name for name, count in Counter(names).items() if count > 1 and name is not None}


def topic_outcomes(
    topics: Iterable[Any], action: Callable[[Any], T], what: Callable[[Any], str]
) -> list[tuple[str, Outcome[T]]]:
    """(name, outcome) per requested topic, as CreateTopics and CreatePartitions answer.

    Each name given more than once comes first (sorted) with INVALID_REQUEST
    ("Duplicate topic name."), once; every other topic follows in request order
    with ``attempt(action(topic), what(topic))``.
    """
    topics = tuple(topics)
    repeated = duplicates(topic.name for topic in topics)
    outcomes: list[tuple[str, Outcome[T]]] = [
        (name, (None, ErrorCode.invalid_request, "Duplicate topic name."))
        for name in sorted(repeated)
    ]
    for topic in topics:
        if topic.name not in repeated:
            outcome = attempt(lambda topic=topic: action(topic), what(topic))
            outcomes.append((topic.name, outcome))
    return outcomes


def broker_resource_error(ctx: RequestContext, resource_name: str) -> InvalidRequest | None:
    """Why a BROKER resource name does not name this broker (None when it does, or is "")."""
    if resource_name == "":
        return None
    try:
        broker_id = int(resource_name)
    except ValueError:
        return InvalidRequest(f"Broker id must be an integer, but it is: {resource_name}")
    if broker_id != ctx.broker.node_id:
        return InvalidRequest(
            f"Unexpected broker id, expected {ctx.broker.node_id} or empty string, "
            f"but received {broker_id}"
        )
    return None


def alter_broker_resource(ctx: RequestContext, resource_name: str, config_names: list[str]) -> None:
    """Refuse to change broker configs (they are static); an empty change is fine."""
    problem = broker_resource_error(ctx, resource_name)
    if problem is not None:
        raise problem
    if config_names:
        raise InvalidRequest(
            f"Cannot update these configs dynamically: {', '.join(sorted(config_names))} "
            "(broker configs are static: set them in charter.toml, CHARTER_* or flags)"
        )


def resource_results(module: Any, request: Any, alter: Any) -> tuple[Any, ...]:
    """One ``AlterConfigsResourceResponse`` per resource; ``alter(resource)`` does the work."""
    repeated = duplicates(f"{r.resource_type}:{r.resource_name}" for r in request.resources)
    results = []
    for resource in request.resources:
        if f"{resource.resource_type}:{resource.resource_name}" in repeated:
            code, message = ErrorCode.invalid_request, "Duplicate resource."
        else:
            _, code, message = attempt(
                lambda resource=resource: alter(resource),
                f"altering configs of {resource.resource_name!r}",
            )
        results.append(
            build(
                module.AlterConfigsResourceResponse,
                error_code=code,
                error_message=message,
                resource_type=resource.resource_type,
                resource_name=resource.resource_name,
            )
        )
    return tuple(results)
