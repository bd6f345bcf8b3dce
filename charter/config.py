"""Charter's one typed settings object: defaults < ``charter.toml`` < ``CHARTER_*`` env < flags.

Unknown keys are rejected wherever they come from, so a typo never silently
falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["LOG_LEVELS", "ConfigError", "Settings", "load_settings", "redact_url"]

ENV_PREFIX = "CHARTER_"
CONFIG_FILE_NAME = "charter.toml"
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class ConfigError(ValueError):
    """A configuration source holds an unknown key or a value of the wrong type."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Everything a Charter process needs to start; built once, passed explicitly."""

    data_dir: Path = Path("charter-data")
    host: str = "127.0.0.1"
    http_port: int = 8081
    kafka_port: int = 9092
    database_url: str | None = None
    http_workers: int = 2
    log_level: str = "INFO"
    max_request_bytes: int = 16 * 1024 * 1024
    socket_request_max_bytes: int = 100 * 1024 * 1024
    auto_create_topics: bool = True
    default_partitions: int = 1
    log_flush_messages: int = 1
    log_retention_check_interval_ms: int = 5000
    log_retention_ms: int = 7 * 24 * 3600 * 1000
    """Default ``retention.ms`` of a topic that does not set it (Kafka's ``log.retention.ms``)."""
    transaction_max_timeout_ms: int = 900000
    """Largest ``transaction.timeout.ms`` a producer may ask for (Kafka's ``transaction.max.timeout.ms``)."""
    transaction_abort_check_interval_ms: int = 10000
    """How often timed-out transactions are aborted (Kafka's
    ``transaction.abort.timed.out.transaction.cleanup.interval.ms``)."""
    transactional_id_expiration_ms: int = 7 * 24 * 3600 * 1000
    """A finished transactional id idle this long is forgotten (Kafka's
    ``transactional.id.expiration.ms``)."""
    transaction_remove_expired_interval_ms: int = 3_600_000
    """How often expired transactional ids are looked for (Kafka's
    ``transaction.remove.expired.transaction.cleanup.interval.ms``)."""
    fetch_max_sessions: int = 1000
    """Incremental fetch sessions kept (Kafka's ``max.incremental.fetch.session.cache.slots``)."""
    advertised_host: str | None = None
    event_retention_hours: int = 168
    """How long the outboxes keep events (``charter.events``)."""
    value_schema_validation: str = "full"
    """The broker default of ``charter.value.schema.validation`` (none|id|full) for topics
    that do not set it (docs/decisions.md)."""
    group_min_session_timeout_ms: int = 6000
    group_max_session_timeout_ms: int = 1_800_000
    group_initial_rebalance_delay_ms: int = 3000
    group_max_size: int = 2**31 - 1
    group_max_assignment_bytes: int = 1024 * 1024
    offsets_retention_minutes: int = 7 * 24 * 60
    offsets_retention_check_interval_ms: int = 600_000
    offset_metadata_max_bytes: int = 4096
    group_consumer_heartbeat_interval_ms: int = 500
    """KIP-848: the heartbeat interval the coordinator gives members (Kafka: 5 s)."""
    group_consumer_heartbeat_budget: int = 200
    """KIP-848: heartbeats/s asked of all members together; the interval grows past it."""
    group_consumer_reconcile_interval_ms: int = 50
    """KIP-848: a member waiting for partitions is asked back this long after the holder's
    next heartbeat is due."""
    group_consumer_session_timeout_ms: int = 45_000
    group_consumer_assignors: str = "uniform,range"
    group_offsets_event_interval_ms: int = 5000
    log_end_report_interval_ms: int = 1000
    """How often the broker writes moved log-end offsets for the catalog's consumer lag."""
    lineage_report_interval_ms: int = 5000
    """How often the broker writes the producers it saw (lineage) for the catalog."""
    auth: bool = False
    """Require authentication on HTTP and Kafka (docs/security.md); off: loopback binds only."""
    sasl_session_lifetime_ms: int = 0
    """KIP-368: authenticated Kafka sessions must re-authenticate within this (0: never)."""
    auth_failure_limit: int = 10
    """Failed logins per user or address within ``auth_failure_window_s`` before refusing."""
    auth_failure_window_s: int = 60
    super_users: str = ""
    """Kafka's ``super.users``: ``User:a;User:b`` may do everything on both doors, whatever
    role bindings and ACL entries say (with ``auth``)."""
    ui_session_lifetime_s: int = 8 * 3600
    """How long a web UI login lasts (with ``auth``); signing out ends it sooner."""
    kafka_request_rate: int = 0
    """Kafka requests a second per principal before responses carry ``throttle_time_ms`` and
    the principal's next request waits (0: no limit; docs/security.md)."""
    kafka_request_burst: int = 0
    """Requests a principal may send at once above ``kafka_request_rate`` (0: the rate)."""
    http_request_rate: int = 0
    """HTTP requests a second per principal (all workers of the host together) before 429
    (0: no limit)."""
    http_request_burst: int = 0
    listeners: str = ""
    """Kafka listeners, Kafka's ``listeners`` syntax: ``NAME://host:port,…`` (docs/security.md);
    empty: one on ``host:kafka_port`` (PLAINTEXT; SASL_* with auth; *SSL with ``tls_cert``)."""
    advertised_listeners: str = ""
    """``NAME://host:port,…``: what Metadata tells clients of each listener (default: its own)."""
    listener_security_protocol_map: str = ""
    """``NAME:PROTOCOL,…`` for listener names other than PLAINTEXT, SSL, SASL_PLAINTEXT, SASL_SSL."""
    tls_cert: str | None = None
    """PEM certificate (chain) of the SSL/SASL_SSL listeners and of HTTPS."""
    tls_key: str | None = None
    tls_key_password: str | None = None
    tls_ca: str | None = None
    """PEM CA bundle that client certificates must chain to (mTLS)."""
    tls_client_auth: str = "none"
    """Client certificates: ``none``, ``requested`` or ``required`` (Kafka's ``ssl.client.auth``)."""
    ssl_principal_mapping_rules: str = "DEFAULT"
    """Certificate subject to principal name (Kafka's ``ssl.principal.mapping.rules``)."""
    oauth_jwks: str | None = None
    """JWKS (a file path or an http(s) URL) whose keys sign OAUTHBEARER/Bearer JWTs; enables
    SASL/OAUTHBEARER."""
    oauth_issuer: str | None = None
    oauth_audience: str | None = None
    oauth_principal_claim: str = "sub"
    oauth_jwks_refresh_ms: int = 3_600_000
    """How long JWKS keys are cached (a token with an unknown ``kid`` refreshes them sooner)."""
    oauth_clock_skew_s: int = 30

    def __post_init__(self) -> None:
        for name, check in _CHECKS.items():
            problem = check(getattr(self, name))
            if problem:
                raise ConfigError(f"setting {name!r} {problem}, got {getattr(self, name)!r}")

    @property
    def effective_database_url(self) -> str:
        """The configured database URL, or SQLite inside the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'charter.db').resolve()}"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "log"

    @property
    def database_display_url(self) -> str:
        """``effective_database_url`` with any password masked, fit for logs."""
        return redact_url(self.effective_database_url)

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **_coerce_all(changes, source="arguments"))


def _port(value: int) -> str | None:
    return None if 0 <= value <= 65535 else "must be a port number between 0 and 65535"


def _at_least(minimum: int) -> Callable[[int], str | None]:
    return lambda value: None if value >= minimum else f"must be at least {minimum}"


def _log_level(value: str) -> str | None:
    return None if value in LOG_LEVELS else "must be one of " + ", ".join(LOG_LEVELS)


def _client_auth(value: str) -> str | None:
    return (
        None
        if value in ("none", "requested", "required")
        else ("must be one of none, requested, required")
    )


def super_user_principals(value: str) -> frozenset[str]:
    """``super_users`` as a set of principals (``User:a;User:b``; blanks around ``;`` ignored)."""
    return frozenset(part.strip() for part in value.split(";") if part.strip())


def _super_users(value: str) -> str | None:
    for principal in super_user_principals(value):
        kind, _, name = principal.partition(":")
        if kind != "User" or not name:
            return f"must be principals User:NAME separated by ';' (not {principal!r})"
    return None


def _validation_level(value: str) -> str | None:
    return None if value in ("none", "id", "full") else "must be one of none, id, full"


# Range checks per setting: a message fragment when the (typed) value is out of range.
_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "http_port": _port,
    "kafka_port": _port,
    "http_workers": _at_least(1),
    "log_level": _log_level,
    "max_request_bytes": _at_least(1),
    "socket_request_max_bytes": _at_least(1),
    "default_partitions": _at_least(1),
    "log_flush_messages": _at_least(1),
    "log_retention_check_interval_ms": _at_least(1),
    "log_retention_ms": _at_least(-1),
    "value_schema_validation": _validation_level,
    "transaction_max_timeout_ms": _at_least(1),
    "transaction_abort_check_interval_ms": _at_least(1),
    "transactional_id_expiration_ms": _at_least(1),
    "transaction_remove_expired_interval_ms": _at_least(1),
    "fetch_max_sessions": _at_least(0),
    "group_min_session_timeout_ms": _at_least(1),
    "group_max_session_timeout_ms": _at_least(1),
    "group_initial_rebalance_delay_ms": _at_least(0),
    "group_max_size": _at_least(1),
    "group_max_assignment_bytes": _at_least(1),
    "offsets_retention_minutes": _at_least(1),
    "offsets_retention_check_interval_ms": _at_least(1),
    "offset_metadata_max_bytes": _at_least(0),
    "group_consumer_heartbeat_interval_ms": _at_least(1),
    "group_consumer_reconcile_interval_ms": _at_least(1),
    "group_consumer_heartbeat_budget": _at_least(1),
    "group_consumer_session_timeout_ms": _at_least(1),
    "group_offsets_event_interval_ms": _at_least(0),
    "log_end_report_interval_ms": _at_least(1),
    "lineage_report_interval_ms": _at_least(1),
    "sasl_session_lifetime_ms": _at_least(0),
    "auth_failure_limit": _at_least(1),
    "auth_failure_window_s": _at_least(1),
    "super_users": _super_users,
    "ui_session_lifetime_s": _at_least(60),
    "kafka_request_rate": _at_least(0),
    "kafka_request_burst": _at_least(0),
    "http_request_rate": _at_least(0),
    "http_request_burst": _at_least(0),
    "tls_client_auth": _client_auth,
    "oauth_jwks_refresh_ms": _at_least(1000),
    "oauth_clock_skew_s": _at_least(0),
}

_FIELDS = {field.name: field for field in dataclasses.fields(Settings)}


def redact_url(url: str) -> str:
    """``url`` with the password of its user info and any ``password=`` parameter masked."""
    parts = urllib.parse.urlsplit(url)
    changed = {}
    if parts.password is not None:
        userinfo, _, hostinfo = parts.netloc.rpartition("@")
        changed["netloc"] = f"{userinfo.split(':', 1)[0]}:***@{hostinfo}"
    params = parts.query.split("&") if parts.query else []
    if any(param.split("=", 1)[0].lower() == "password" for param in params):
        changed["query"] = "&".join(
            "password=***" if param.split("=", 1)[0].lower() == "password" else param
            for param in params
        )
    return urllib.parse.urlunsplit(parts._replace(**changed)) if changed else url


def _field_type(name: str) -> type:
    annotation = str(_FIELDS[name].type)
    if annotation.startswith("Path"):
        return Path
    if annotation.startswith("int"):
        return int
    if annotation.startswith("bool"):
        return bool
    return str


def _coerce(name: str, value: Any, source: str) -> Any:
    if name not in _FIELDS:
        known = ", ".join(sorted(_FIELDS))
        raise ConfigError(f"unknown setting {name!r} in {source}; known settings: {known}")
    if value is None:
        return None
    wanted = _field_type(name)
    try:
        if wanted is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(value)
        if wanted is int:
            if isinstance(value, bool):
                raise ValueError(value)
            return int(value)
        if wanted is Path:
            return Path(value)
        text = str(value)
        return text.strip().upper() if name == "log_level" else text
    except (TypeError, ValueError):
        raise ConfigError(
            f"setting {name!r} in {source} must be {wanted.__name__}, got {value!r}"
        ) from None


def _checked(name: str, value: Any, source: str) -> Any:
    """``value`` coerced to ``name``'s type and range-checked; ConfigError names the source."""
    coerced = _coerce(name, value, source)
    check = _CHECKS.get(name)
    problem = check(coerced) if check and coerced is not None else None
    if problem:
        raise ConfigError(f"setting {name!r} in {source} {problem}, got {value!r}")
    return coerced


def _coerce_all(values: Mapping[str, Any], source: str) -> dict[str, Any]:
    return {name: _checked(name, value, source) for name, value in values.items()}


def _normalise_key(key: str) -> str:
    return key.strip().lower().replace("-", "_")


def _from_toml(path: Path) -> dict[str, Any]:
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    # Accept both a flat file and a [charter] table.
    table = (
        document.get("charter", document) if isinstance(document.get("charter"), dict) else document
    )
    return _coerce_all({_normalise_key(k): v for k, v in table.items()}, source=str(path))


def _from_env(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {
        _normalise_key(key[len(ENV_PREFIX) :]): value
        for key, value in environ.items()
        if key.startswith(ENV_PREFIX) and key not in _IGNORED_ENV
    }
    return _coerce_all(values, source="environment (CHARTER_*)")


# Settings of the client commands (``charter produce``, ``schema``, ...; charter.cli_client),
# read by click, not by the servers: they may be set in a shell that also runs ``charter up``.
CLIENT_ENV = frozenset(
    {
        "CHARTER_BOOTSTRAP_SERVERS",
        "CHARTER_REGISTRY_URL",
        "CHARTER_OUTPUT",
        "CHARTER_USERNAME",
        "CHARTER_PASSWORD",
        "CHARTER_API_KEY",
        "CHARTER_SASL_MECHANISM",
    }
)

# Variables with the prefix that are not settings (test switches, the config path itself).
_IGNORED_ENV = (
    frozenset(
        {
            "CHARTER_REQUIRE_PG",
            "CHARTER_CONFIG",
            "CHARTER_TEST_DATABASE_URL",
            "CHARTER_ADMIN_PASSWORD",  # a secret read once at bootstrap, never a setting
        }
    )
    | CLIENT_ENV
)


def load_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    config_file: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build settings from defaults, then the TOML file, then the environment, then flags.

    ``flags`` with value ``None`` are treated as "not given" so click options can
    pass everything through.
    """
    environ = os.environ if environ is None else environ
    merged: dict[str, Any] = {}
    if config_file is None and environ.get("CHARTER_CONFIG"):
        config_file = Path(environ["CHARTER_CONFIG"])
    if config_file is None and Path(CONFIG_FILE_NAME).is_file():
        config_file = Path(CONFIG_FILE_NAME)
    if config_file is not None:
        if not config_file.is_file():
            raise ConfigError(f"config file {config_file} does not exist")
        merged.update(_from_toml(config_file))
    merged.update(_from_env(environ))
    given_flags = {_normalise_key(k): v for k, v in (flags or {}).items() if v is not None}
    merged.update(_coerce_all(given_flags, source="command-line flags"))
    return Settings(**merged)
