"""Asking the broker hooks (``governance.broker_hooks.BrokerHooks``), failing closed.

Each door turns a deny into the broker error its API answers with:
POLICY_VIOLATION (44) for creating a topic or altering its configs,
TOPIC_AUTHORIZATION_FAILED (29) for producing and fetching. A hook that
raises, or answers something that is not a ``Decision``, denies: the error is
logged, the client gets the error code and the connection stays open.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping

from broker.errors import BrokerError, PolicyViolation, TopicAuthorizationFailed
from governance.broker_hooks import BrokerHooks, Decision

__all__ = ["check_alter_config", "check_create_topic", "check_fetch", "check_produce"]

log = logging.getLogger(__name__)


def _require(decide: Callable[[], Decision], error: type[BrokerError], what: str) -> None:
    try:
        decision = decide()
    except Exception:
        log.exception("a broker hook failed while checking %s; denying", what)
        raise error(f"{what} denied: the policy check failed") from None
    if not isinstance(decision, Decision):
        log.error("a broker hook answered %r for %s; denying", decision, what)
        raise error(f"{what} denied: the policy check failed")
    if not decision.allowed:
        raise error(decision.reason or f"{what} denied by policy")


def check_create_topic(
    hooks: BrokerHooks, principal: str, topic: str, partitions: int, configs: Mapping[str, str]
) -> None:
    """Raise ``PolicyViolation`` unless ``principal`` may create ``topic``."""
    _require(
        lambda: hooks.before_create_topic(principal, topic, partitions, configs),
        PolicyViolation,
        f"creating topic {topic!r}",
    )


def check_alter_config(
    hooks: BrokerHooks, principal: str, topic: str, configs: Mapping[str, str]
) -> None:
    """Raise ``PolicyViolation`` unless ``principal`` may set ``topic``'s overrides to ``configs``."""
    _require(
        lambda: hooks.before_alter_config(principal, topic, configs),
        PolicyViolation,
        f"altering the configs of topic {topic!r}",
    )


def check_produce(hooks: BrokerHooks, principal: str, topic: str, client_id: str | None) -> None:
    """Raise ``TopicAuthorizationFailed`` unless ``principal`` may produce to ``topic``."""
    _require(
        lambda: hooks.before_produce(principal, topic, client_id),
        TopicAuthorizationFailed,
        f"producing to topic {topic!r}",
    )


def check_fetch(hooks: BrokerHooks, principal: str, topic: str, client_id: str | None) -> None:
    """Raise ``TopicAuthorizationFailed`` unless ``principal`` may fetch from ``topic``."""
    _require(
        lambda: hooks.before_fetch(principal, topic, client_id),
        TopicAuthorizationFailed,
        f"fetching from topic {topic!r}",
    )
