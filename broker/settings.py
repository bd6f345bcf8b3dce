"""What the broker reads from configuration: one typed, validated object.

The broker never imports ``charter``: ``charter`` builds a ``BrokerSettings`` from
its own ``Settings`` (``charter.compose.broker_settings``) and passes it in. Every
field is checked when the object is built, so a bad value fails at start-up with
the field's name instead of deep inside a handler.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from broker.config_catalog import CONFIG_DEFS
from broker.errors import InvalidConfig

__all__ = ["BrokerSettings"]

DEFAULT_SOCKET_REQUEST_MAX_BYTES = 100 * 1024 * 1024


@dataclasses.dataclass(frozen=True, slots=True)
class BrokerSettings:
    """The broker's configuration; ``InvalidConfig`` naming the field when a value is out of range."""

    data_dir: Path
    """Holds ``log/`` (partition logs), the cluster id and the producer-id block file."""
    host: str = "127.0.0.1"
    port: int = 9092
    """Kafka listener port; 0 binds an ephemeral port and advertises the one bound."""
    advertised_host: str | None = None
    """Host given to clients in Metadata (default: ``host``)."""
    socket_request_max_bytes: int = DEFAULT_SOCKET_REQUEST_MAX_BYTES
    auto_create_topics: bool = True
    default_partitions: int = 1
    log_flush_messages: int = 1
    """Broker-wide default of the ``flush.messages`` topic config."""
    log_retention_check_interval_ms: int = 5000
    log_retention_ms: int = 7 * 24 * 3600 * 1000
    """Broker-wide default of the ``retention.ms`` topic config (Kafka's ``log.retention.ms``;
    -1: kept forever)."""
    node_id: int = 0
    value_schema_validation: str = "full"
    """Broker-wide default of the ``charter.value.schema.validation`` topic config."""
    transaction_max_timeout_ms: int = 900000
    """Largest ``transaction.timeout.ms`` a producer may ask for (``transaction.max.timeout.ms``)."""
    transaction_abort_check_interval_ms: int = 10000
    """How often timed-out transactions are aborted."""
    transactional_id_expiration_ms: int = 7 * 24 * 3600 * 1000
    """A finished transactional id idle this long is forgotten (``transactional.id.expiration.ms``)."""
    transaction_remove_expired_interval_ms: int = 3_600_000
    """How often expired transactional ids are looked for
    (``transaction.remove.expired.transaction.cleanup.interval.ms``)."""
    fetch_max_sessions: int = 1000
    """Incremental fetch sessions kept (``max.incremental.fetch.session.cache.slots``)."""
    # -- consumer groups (broker.groups); names follow Kafka's broker configs --
    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1_800_000
    group_initial_rebalance_delay_ms: int = 3000
    """How long a classic group that was empty waits for more members before its first rebalance."""
    group_max_size: int = 2**31 - 1
    group_max_assignment_bytes: int = 1024 * 1024
    """Largest SyncGroup assignment set a leader may store (Kafka: the offsets topic's max message)."""
    offsets_retention_minutes: int = 7 * 24 * 60
    """Committed offsets of a group with no members expire this long after it emptied."""
    offsets_retention_check_interval_ms: int = 600_000
    offset_metadata_max_bytes: int = 4096
    group_consumer_heartbeat_interval_ms: int = 500
    """KIP-848: the heartbeat interval the coordinator gives consumer-protocol members while
    the budget below allows (Kafka: 5 s); a running member learns at its next heartbeat that
    it must give partitions up."""
    group_consumer_heartbeat_budget: int = 200
    """KIP-848: heartbeats per second the coordinator asks of all its members together; with
    more members than the interval above allows, the interval grows to fit (up to a third of
    the session timeout)."""
    group_consumer_reconcile_interval_ms: int = 50
    """KIP-848: a member waiting for partitions other members hold is asked back this long
    after the holder's next heartbeat is due (and then this often until they are released)."""
    group_consumer_session_timeout_ms: int = 45_000
    group_consumer_assignors: str = "uniform,range"
    """KIP-848 server-side assignors offered, the first being the default."""
    group_offsets_event_interval_ms: int = 5000
    """At most one ``group_offsets_committed`` outbox event per group per interval (a summary)."""
    log_end_report_interval_ms: int = 1000
    """How often moved log-end offsets are written for the HTTP tier (``broker.topics.log_end``)."""

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise InvalidConfig(f"port must be between 0 and 65535, got {self.port}")
        if self.default_partitions < 1:
            raise InvalidConfig(
                f"default_partitions must be at least 1, got {self.default_partitions}"
            )
        if self.log_retention_check_interval_ms < 1:
            raise InvalidConfig(
                "log_retention_check_interval_ms must be at least 1, "
                f"got {self.log_retention_check_interval_ms}"
            )
        if self.socket_request_max_bytes < 1:
            raise InvalidConfig(
                f"socket_request_max_bytes must be at least 1, got {self.socket_request_max_bytes}"
            )
        for name in (
            "transaction_max_timeout_ms",
            "transaction_abort_check_interval_ms",
            "log_end_report_interval_ms",
            "transactional_id_expiration_ms",
            "transaction_remove_expired_interval_ms",
        ):
            if getattr(self, name) < 1:
                raise InvalidConfig(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.fetch_max_sessions < 0:
            raise InvalidConfig(
                f"fetch_max_sessions must be at least 0, got {self.fetch_max_sessions}"
            )
        self._check_groups()
        CONFIG_DEFS["flush.messages"].parse(str(self.log_flush_messages))
        CONFIG_DEFS["retention.ms"].parse(str(self.log_retention_ms))
        CONFIG_DEFS["charter.value.schema.validation"].parse(self.value_schema_validation)

    def _check_groups(self) -> None:
        at_least_one = (
            "group_min_session_timeout_ms",
            "group_max_session_timeout_ms",
            "group_max_size",
            "group_max_assignment_bytes",
            "offsets_retention_minutes",
            "offsets_retention_check_interval_ms",
            "group_consumer_heartbeat_interval_ms",
            "group_consumer_reconcile_interval_ms",
            "group_consumer_heartbeat_budget",
            "group_consumer_session_timeout_ms",
        )
        for name in at_least_one:
            if getattr(self, name) < 1:
                raise InvalidConfig(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in (
            "group_initial_rebalance_delay_ms",
            "offset_metadata_max_bytes",
            "group_offsets_event_interval_ms",
        ):
            if getattr(self, name) < 0:
                raise InvalidConfig(f"{name} must be at least 0, got {getattr(self, name)}")
        if self.group_min_session_timeout_ms > self.group_max_session_timeout_ms:
            raise InvalidConfig(
                "group_min_session_timeout_ms must not exceed group_max_session_timeout_ms"
            )
        unknown = set(self.consumer_assignors) - {"uniform", "range"}
        if not self.consumer_assignors or unknown:
            raise InvalidConfig(
                "group_consumer_assignors must list some of uniform, range; "
                f"got {self.group_consumer_assignors!r}"
            )

    @property
    def consumer_assignors(self) -> tuple[str, ...]:
        """The KIP-848 server-side assignors by name, the default first."""
        return tuple(
            name.strip() for name in self.group_consumer_assignors.split(",") if name.strip()
        )

    @property
    def log_dir(self) -> Path:
        """Where partition logs live: ``<data_dir>/log``."""
        return self.data_dir / "log"
