"""Whether a Kafka cluster answers a client at start, told quickly from librdkafka's reports.

librdkafka retries an unreachable cluster until a request times out and
reports why only to ``error_cb`` (served while the client is polled): every
broker down (a refused connection is known within milliseconds), a failed
login. ``await_cluster`` asks for metadata in short tries, polling between
them, and stops with a ``CharterError`` naming the bootstrap servers as soon as
such a report arrives, or keeps retrying for ``wait_s`` seconds when the
caller expects the cluster to come up later. Once a client has started, the
same reports are only logged: librdkafka reconnects by itself, as Kafka's Java
clients do.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import confluent_kafka

from charter.sdk.errors import CharterError

__all__ = ["NO_ANSWER_S", "ClusterWatch", "await_cluster", "reason_of"]

log = logging.getLogger(__name__)

NO_ANSWER_S = 10.0  # no report and no answer (a silently dropped connection): give up then
_TRY_S = 0.25
_POLL_S = 0.05
_DOWN = confluent_kafka.KafkaError._ALL_BROKERS_DOWN
_AUTHENTICATION = confluent_kafka.KafkaError._AUTHENTICATION
_RETRIED = frozenset({confluent_kafka.KafkaError._TIMED_OUT, confluent_kafka.KafkaError._TRANSPORT})


def reason_of(error: confluent_kafka.KafkaError) -> str:
    """What a report means for the user (librdkafka's "N/M brokers are down" counts
    internal brokers too, and sometimes says 0/2 for one address)."""
    if error.code() == _DOWN:
        return "no broker answers (every bootstrap server is down or unreachable)"
    return str(error.str())


class ClusterWatch:
    """An ``error_cb`` that keeps the first report that the cluster will not answer."""

    def __init__(
        self,
        bootstrap_servers: str,
        also: Callable[[confluent_kafka.KafkaError], object] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.report: confluent_kafka.KafkaError | None = None
        self.started = False
        self._also = also  # the application's own error_cb, told of every error too

    def on_error(self, error: confluent_kafka.KafkaError) -> None:
        if self._also is not None:
            self._also(error)
        if self.started:
            if error.code() in (_DOWN, _AUTHENTICATION):
                log.warning(
                    "cluster at %s: %s (retrying)", self.bootstrap_servers, reason_of(error)
                )
            return
        if error.code() in (_DOWN, _AUTHENTICATION) and self.report is None:
            self.report = error

    def failure(self, reason: str) -> CharterError:
        return CharterError(f"cannot use the Kafka cluster at {self.bootstrap_servers}: {reason}")


def await_cluster(client: Any, watch: ClusterWatch, topic: str | None, wait_s: float = 0.0) -> None:
    """Return once ``client`` (a confluent-kafka client whose ``error_cb`` is ``watch.on_error``,
    not yet subscribed) gets metadata; else ``CharterError``.

    Every broker down fails at once unless ``wait_s`` is left; a failed login fails at once.
    """
    started = time.monotonic()
    give_up = started + max(wait_s, NO_ANSWER_S)
    while True:
        try:
            client.list_topics(topic, timeout=_TRY_S)
        except confluent_kafka.KafkaException as error:
            if error.args[0].code() not in _RETRIED:
                raise watch.failure(error.args[0].str()) from None
        else:
            watch.started = True
            return
        client.poll(_POLL_S)  # serves error_cb; no records before a subscription
        now = time.monotonic()
        report = watch.report  # reported once per outage: kept while waiting for the cluster
        if report is not None and (report.code() == _AUTHENTICATION or now - started >= wait_s):
            raise watch.failure(reason_of(report))
        if now >= give_up:
            raise watch.failure(f"no answer within {now - started:.0f} s")
