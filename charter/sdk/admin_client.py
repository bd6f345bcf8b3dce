"""One confluent-kafka ``AdminClient`` for the SDK's admin helpers, that gives up early on fatal errors.

librdkafka retries a refused login or an unreachable cluster until a request
times out (30 s here), and reports why only to ``error_cb``, which runs when
the client is polled. ``AdminConnection`` polls while it waits for an answer
and stops at once with a ``CharterError`` naming the reason when librdkafka
reports a failed authentication or every broker down, as a command-line user
expects (``curl`` does not wait 30 s on a refused connection either).
"""

from __future__ import annotations

import concurrent.futures
import logging
import time
from collections.abc import Mapping
from typing import Any

import confluent_kafka
from confluent_kafka.admin import AdminClient, ClusterMetadata

from charter.sdk.cluster_watch import reason_of
from charter.sdk.errors import CharterError

__all__ = ["TIMEOUT_S", "AdminConnection"]

TIMEOUT_S = 30.0
_POLL_S = 0.05
# The reasons to give up before the timeout: the cluster will not answer this client.
_FATAL = frozenset(
    {confluent_kafka.KafkaError._AUTHENTICATION, confluent_kafka.KafkaError._ALL_BROKERS_DOWN}
)
# Short metadata requests that fail so are retried (polling for fatal errors in between).
_RETRIED = frozenset({confluent_kafka.KafkaError._TIMED_OUT, confluent_kafka.KafkaError._TRANSPORT})
_HINT = "(is the address right? does it need --username/--password?)"


class AdminConnection:
    """An ``AdminClient`` on ``bootstrap_servers``; ``client_config`` adds librdkafka settings (SASL…)."""

    def __init__(
        self, bootstrap_servers: str, client_config: Mapping[str, Any] | None = None
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self._fatal: confluent_kafka.KafkaError | None = None
        self.client = AdminClient(
            {
                **(client_config or {}),
                "bootstrap.servers": bootstrap_servers,
                # a metadata request for one topic must not create it (``topic describe``)
                "allow.auto.create.topics": False,
                "error_cb": self._on_error,
                "logger": logging.getLogger("charter.sdk.librdkafka"),
            }
        )

    def _on_error(self, error: confluent_kafka.KafkaError) -> None:
        if error.code() in _FATAL and self._fatal is None:
            self._fatal = error

    def _check(self, what: str) -> None:
        if self._fatal is not None:
            raise CharterError(
                f"{what}: cannot use the cluster at {self.bootstrap_servers}: "
                f"{reason_of(self._fatal)} {_HINT}"
            )

    def result(self, future: concurrent.futures.Future[Any], what: str) -> Any:
        """``future``'s result, or a ``CharterError`` saying ``what`` failed and why."""
        deadline = time.monotonic() + TIMEOUT_S + 5.0  # librdkafka times the request out first
        while not future.done():
            self._check(what)
            if time.monotonic() > deadline:
                raise CharterError(f"{what}: no answer within {TIMEOUT_S:.0f} s {_HINT}")
            self.client.poll(_POLL_S)
        try:
            return future.result()
        except confluent_kafka.KafkaException as error:
            raise CharterError(f"{what}: {describe(error)}") from None

    def metadata(self, what: str, topic: str | None = None) -> ClusterMetadata:
        """The cluster's metadata (of ``topic`` only, if given)."""
        deadline = time.monotonic() + TIMEOUT_S
        while True:
            self._check(what)
            try:
                return self.client.list_topics(topic, timeout=0.5)
            except confluent_kafka.KafkaException as error:
                if error.args[0].code() not in _RETRIED:
                    raise CharterError(f"{what}: {describe(error)}") from None
                if time.monotonic() > deadline:
                    raise CharterError(f"{what}: {describe(error)} {_HINT}") from None
            self.client.poll(_POLL_S)


def describe(error: Exception) -> str:
    """The message of a ``KafkaException`` (its ``KafkaError``'s), else ``str(error)``."""
    if isinstance(error, confluent_kafka.KafkaException) and error.args:
        first = error.args[0]
        return str(first.str()) if hasattr(first, "str") else str(first)
    return str(error)
