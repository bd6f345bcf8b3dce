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
    node_id: int = 0
    value_schema_validation: str = "full"
    """Broker-wide default of the ``charter.value.schema.validation`` topic config."""

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
        CONFIG_DEFS["flush.messages"].parse(str(self.log_flush_messages))
        CONFIG_DEFS["charter.value.schema.validation"].parse(self.value_schema_validation)

    @property
    def log_dir(self) -> Path:
        """Where partition logs live: ``<data_dir>/log``."""
        return self.data_dir / "log"
