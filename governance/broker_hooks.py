"""The broker's doors that governance guards: create topic, alter config, produce, fetch.

The broker calls a ``BrokerHooks`` before each of these with the connection's
principal and answers the client with the right Kafka error on a deny
(POLICY_VIOLATION for create and alter, TOPIC_AUTHORIZATION_FAILED for
produce and fetch). A hook that raises is a deny (fail closed). The protocol
lives here, not in ``broker``, so the governance engine implements it without
importing the broker; ``AllowAll`` is the default until policies exist.
``Decision`` is the registry's hook answer (``registry.hooks``): one type for
every door.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from registry.hooks import ALLOW, Decision

__all__ = ["ALLOW", "AllowAll", "BrokerHooks", "Decision"]


class BrokerHooks(Protocol):
    """Called on the broker's event loop: answer quickly from cached state, no blocking I/O."""

    def before_create_topic(
        self, principal: str, topic: str, partitions: int, configs: Mapping[str, str]
    ) -> Decision:
        """A topic is about to be created (CreateTopics, also validate-only, or auto-creation).

        ``configs`` are the topic's config overrides, already validated.
        """
        ...

    def before_alter_config(
        self, principal: str, topic: str, configs: Mapping[str, str]
    ) -> Decision:
        """A topic's config overrides are about to become ``configs`` (the whole new set)."""
        ...

    def before_produce(self, principal: str, topic: str, client_id: str | None) -> Decision:
        """Records are about to be appended to ``topic`` (asked once per topic per request)."""
        ...

    def before_fetch(self, principal: str, topic: str, client_id: str | None) -> Decision:
        """Records of ``topic`` are about to be read (asked once per topic per request)."""
        ...


class AllowAll:
    """The default hooks: every door open."""

    def before_create_topic(
        self, principal: str, topic: str, partitions: int, configs: Mapping[str, str]
    ) -> Decision:
        return ALLOW

    def before_alter_config(
        self, principal: str, topic: str, configs: Mapping[str, str]
    ) -> Decision:
        return ALLOW

    def before_produce(self, principal: str, topic: str, client_id: str | None) -> Decision:
        return ALLOW

    def before_fetch(self, principal: str, topic: str, client_id: str | None) -> Decision:
        return ALLOW
