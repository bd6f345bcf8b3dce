"""The catalogue of topic configs the broker accepts: types, defaults, validation, synonyms.

Names, types, defaults and validators follow Apache Kafka 3.9's ``TopicConfig`` /
``LogConfig`` (https://kafka.apache.org/39/documentation/#topicconfigs), and error
messages follow Kafka's ``ConfigException`` wording ("Invalid value X for
configuration Y: ..."). Charter adds the gate configs described in DESIGN.md
(``charter.{value,key}.schema.validation`` and ``charter.{value,key}.subject.name.strategy``)
and accepts Confluent Server's ``confluent.{value,key}.schema.validation`` and
``confluent.{value,key}.subject.name.strategy``. One
deliberate difference from Kafka: ``flush.messages`` defaults to 1 (every append is
fsynced before it is acknowledged; docs/decisions.md has the measured cost).

This catalogue is the single source of every topic config's type, default,
validation and doc: ``broker.log.LogConfig`` derives its defaults and parsing from it.

Every value is kept as the string the client sent; ``validate_topic_configs`` only
checks names and values, raising ``InvalidConfig`` (INVALID_CONFIG, 40) naming the key.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from broker.errors import InvalidConfig
from governance.gate import GateConfig, SubjectNameStrategy, Validation

if TYPE_CHECKING:
    from broker.settings import BrokerSettings

__all__ = [
    "BrokerDefaults",
    "CONFIG_DEFS",
    "ConfigDef",
    "ConfigSource",
    "ConfigType",
    "GateConfig",
    "gate_config",
    "list_value",
    "validate_topic_configs",
]

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
LONG_MAX = 2**63 - 1
LONG_MIN = -(2**63)
_DAY_MS = 24 * 60 * 60 * 1000


class ConfigType(enum.IntEnum):
    """``config_type`` of DescribeConfigs v3+ (Kafka's ``ConfigEntry.ConfigType``)."""

    UNKNOWN = 0
    BOOLEAN = 1
    STRING = 2
    INT = 3
    SHORT = 4
    LONG = 5
    DOUBLE = 6
    LIST = 7
    CLASS = 8
    PASSWORD = 9


class ConfigSource(enum.IntEnum):
    """``config_source`` of DescribeConfigs v1+ (Kafka's ``DescribeConfigsResponse.ConfigSource``)."""

    UNKNOWN = 0
    DYNAMIC_TOPIC_CONFIG = 1
    DYNAMIC_BROKER_CONFIG = 2
    DYNAMIC_DEFAULT_BROKER_CONFIG = 3
    STATIC_BROKER_CONFIG = 4
    DEFAULT_CONFIG = 5
    DYNAMIC_BROKER_LOGGER_CONFIG = 6


# A validator gets the parsed value and returns an error message, or None when valid.
Validator = Callable[[Any], str | None]


def _at_least(minimum: float) -> Validator:
    return lambda value: None if value >= minimum else f"Value must be at least {minimum}"


def _between(minimum: float, maximum: float) -> Validator:
    def check(value: float) -> str | None:
        if value < minimum:
            return f"Value must be at least {minimum}"
        if value > maximum:
            return f"Value must be no more than {maximum}"
        return None

    return check


def _one_of(*allowed: str) -> Validator:
    message = "String must be one of: " + ", ".join(allowed)
    return lambda value: None if value in allowed else message


def _each_one_of(*allowed: str) -> Validator:
    message = "String must be one of: " + ", ".join(allowed)
    return lambda items: None if all(item in allowed for item in items) else message


def _non_empty_each_one_of(*allowed: str) -> Validator:
    each = _each_one_of(*allowed)
    return lambda items: "Empty list not allowed" if not items else each(items)


def _not_true(reason: str) -> Validator:
    return lambda value: reason if value else None


_INTEGER = re.compile(r"[+-]?\d+")
_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def list_value(text: str) -> list[str]:
    """Split a LIST config value like Kafka does (commas, surrounding blanks ignored)."""
    text = text.strip()
    return [] if not text else [item.strip() for item in text.split(",")]


def _parse(config_type: ConfigType, text: str) -> Any:
    """Parse ``text`` as Kafka's ``ConfigDef.parseType`` would; ValueError names the type."""
    trimmed = text.strip()
    if config_type is ConfigType.BOOLEAN:
        if trimmed.lower() in ("true", "false"):
            return trimmed.lower() == "true"
        raise ValueError("Expected value to be either true or false")
    if config_type in (ConfigType.INT, ConfigType.SHORT, ConfigType.LONG):
        low, high = {
            ConfigType.INT: (INT_MIN, INT_MAX),
            ConfigType.SHORT: (-(2**15), 2**15 - 1),
            ConfigType.LONG: (LONG_MIN, LONG_MAX),
        }[config_type]
        if not _INTEGER.fullmatch(trimmed) or not low <= int(trimmed) <= high:
            raise ValueError(f"Not a number of type {config_type.name}")
        return int(trimmed)
    if config_type is ConfigType.DOUBLE:
        if not _DECIMAL.fullmatch(trimmed):
            raise ValueError("Not a number of type DOUBLE")
        return float(trimmed)
    if config_type is ConfigType.LIST:
        return list_value(trimmed)
    return trimmed


@dataclass(frozen=True, slots=True)
class ConfigDef:
    """One topic config: its type, default (as a string), checks and broker-level synonym."""

    name: str
    type: ConfigType
    default: str
    doc: str
    validator: Validator | None = None
    broker_synonym: str | None = None
    """The broker config (server.properties name) that supplies this topic config's default."""

    def parse(self, text: str | None) -> Any:
        """Parse and validate ``text``; raises ``InvalidConfig`` naming this config."""
        if text is None:
            raise InvalidConfig(f"Null value not supported for topic configs: {self.name}")
        try:
            value = _parse(self.type, text)
        except ValueError as exc:
            raise InvalidConfig(
                f"Invalid value {text} for configuration {self.name}: {exc}"
            ) from None
        problem = self.validator(value) if self.validator else None
        if problem:
            raise InvalidConfig(f"Invalid value {text} for configuration {self.name}: {problem}")
        return value


_SCHEMA_VALIDATION_DOC = (
    "How the gate checks the record {part} on produce: none (no check), id (a "
    "Confluent wire-format header naming a registered schema of the subject), full "
    "(id, plus the payload decodes with that schema and passes the data-contract rules)."
)
_STRATEGY_DOC = (
    "Subject name strategy the gate uses for the record {part}: topic (<topic>-{part}), "
    "record (the record's fully-qualified name) or topic_record (<topic>-<record name>)."
)
_CONFLUENT_STRATEGIES = {
    "io.confluent.kafka.serializers.subject.TopicNameStrategy": "topic",
    "io.confluent.kafka.serializers.subject.RecordNameStrategy": "record",
    "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy": "topic_record",
}
_CONFLUENT_STRATEGY_DOC = (
    "Confluent Server compatibility: the subject name strategy class (TopicNameStrategy, "
    "RecordNameStrategy, TopicRecordNameStrategy of io.confluent.kafka.serializers.subject), "
    "read as charter.{part}.subject.name.strategy unless the charter config is set."
)
_CONFLUENT_VALIDATION_DOC = (
    "Confluent Server compatibility: true is read as "
    "charter.{part}.schema.validation=id, false as none, unless the charter config is set."
)


def _gate_defs(part: str, validation_default: str) -> tuple[ConfigDef, ...]:
    """The produce gate's configs for the record ``part`` ("value" or "key")."""
    return (
        ConfigDef(
            f"charter.{part}.schema.validation",
            ConfigType.STRING,
            validation_default,
            _SCHEMA_VALIDATION_DOC.format(part=part),
            _one_of("none", "id", "full"),
        ),
        ConfigDef(
            f"charter.{part}.subject.name.strategy",
            ConfigType.STRING,
            "topic",
            _STRATEGY_DOC.format(part=part),
            _one_of("topic", "record", "topic_record"),
        ),
        ConfigDef(
            f"confluent.{part}.schema.validation",
            ConfigType.BOOLEAN,
            "false",
            _CONFLUENT_VALIDATION_DOC.format(part=part),
        ),
        ConfigDef(
            f"confluent.{part}.subject.name.strategy",
            ConfigType.STRING,
            "io.confluent.kafka.serializers.subject.TopicNameStrategy",
            _CONFLUENT_STRATEGY_DOC.format(part=part),
            _one_of(*_CONFLUENT_STRATEGIES),
        ),
    )


_DEFS: tuple[ConfigDef, ...] = (
    ConfigDef(
        "cleanup.policy",
        ConfigType.LIST,
        "delete",
        'Retention policy for old log segments: "delete", "compact" or both.',
        _non_empty_each_one_of("compact", "delete"),
        "log.cleanup.policy",
    ),
    ConfigDef(
        "compression.type",
        ConfigType.STRING,
        "producer",
        "Final compression type of the topic; 'producer' keeps the producer's codec.",
        _one_of("uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"),
        "compression.type",
    ),
    ConfigDef(
        "compression.gzip.level",
        ConfigType.INT,
        "-1",
        "Compression level when compression.type is gzip.",
        lambda level: (
            None if level == -1 or 1 <= level <= 9 else "Value must be between 1 and 9 or -1"
        ),
        "compression.gzip.level",
    ),
    ConfigDef(
        "compression.lz4.level",
        ConfigType.INT,
        "9",
        "Compression level when compression.type is lz4.",
        _between(1, 17),
        "compression.lz4.level",
    ),
    ConfigDef(
        "compression.zstd.level",
        ConfigType.INT,
        "3",
        "Compression level when compression.type is zstd.",
        _between(-131072, 22),
        "compression.zstd.level",
    ),
    ConfigDef(
        "delete.retention.ms",
        ConfigType.LONG,
        str(_DAY_MS),
        "How long delete tombstones are kept in compacted topics.",
        _at_least(0),
        "log.cleaner.delete.retention.ms",
    ),
    ConfigDef(
        "file.delete.delay.ms",
        ConfigType.LONG,
        "60000",
        "Time to wait before deleting a file from the filesystem.",
        _at_least(0),
        "log.segment.delete.delay.ms",
    ),
    ConfigDef(
        "flush.messages",
        ConfigType.LONG,
        "1",
        "Force an fsync of the log after this many messages (Charter's default 1: every "
        "append is fsynced before it is acknowledged; Kafka's is 9223372036854775807).",
        _at_least(1),
        "log.flush.interval.messages",
    ),
    ConfigDef(
        "flush.ms",
        ConfigType.LONG,
        str(LONG_MAX),
        "Force an fsync of the log after this much time.",
        _at_least(0),
        "log.flush.interval.ms",
    ),
    ConfigDef(
        "follower.replication.throttled.replicas",
        ConfigType.LIST,
        "",
        "Replicas whose log replication is throttled on the follower side (unused on one node).",
        None,
    ),
    ConfigDef(
        "index.interval.bytes",
        ConfigType.INT,
        "4096",
        "How often an entry is added to the offset index.",
        _at_least(0),
        "log.index.interval.bytes",
    ),
    ConfigDef(
        "leader.replication.throttled.replicas",
        ConfigType.LIST,
        "",
        "Replicas whose log replication is throttled on the leader side (unused on one node).",
        None,
    ),
    ConfigDef(
        "local.retention.bytes",
        ConfigType.LONG,
        "-2",
        "Tiered storage: local size retention (-2 means retention.bytes).",
        _at_least(-2),
        "log.local.retention.bytes",
    ),
    ConfigDef(
        "local.retention.ms",
        ConfigType.LONG,
        "-2",
        "Tiered storage: local time retention (-2 means retention.ms).",
        _at_least(-2),
        "log.local.retention.ms",
    ),
    ConfigDef(
        "max.compaction.lag.ms",
        ConfigType.LONG,
        str(LONG_MAX),
        "Maximum time a message stays ineligible for compaction.",
        _at_least(1),
        "log.cleaner.max.compaction.lag.ms",
    ),
    ConfigDef(
        "max.message.bytes",
        ConfigType.INT,
        "1048588",
        "Largest record batch size allowed in the topic.",
        _at_least(0),
        "message.max.bytes",
    ),
    ConfigDef(
        "message.downconversion.enable",
        ConfigType.BOOLEAN,
        "true",
        "Whether old-format fetch requests get down-converted messages.",
        None,
        "log.message.downconversion.enable",
    ),
    ConfigDef(
        "message.timestamp.after.max.ms",
        ConfigType.LONG,
        str(LONG_MAX),
        "Largest allowed amount a message timestamp may be ahead of the broker's time.",
        _at_least(0),
        "log.message.timestamp.after.max.ms",
    ),
    ConfigDef(
        "message.timestamp.before.max.ms",
        ConfigType.LONG,
        str(LONG_MAX),
        "Largest allowed amount a message timestamp may be behind the broker's time.",
        _at_least(0),
        "log.message.timestamp.before.max.ms",
    ),
    ConfigDef(
        "message.timestamp.difference.max.ms",
        ConfigType.LONG,
        str(LONG_MAX),
        "Deprecated: largest allowed difference between message and broker timestamps.",
        _at_least(0),
        "log.message.timestamp.difference.max.ms",
    ),
    ConfigDef(
        "message.timestamp.type",
        ConfigType.STRING,
        "CreateTime",
        "Whether record timestamps are the producer's (CreateTime) or the broker's (LogAppendTime).",
        _one_of("CreateTime", "LogAppendTime"),
        "log.message.timestamp.type",
    ),
    ConfigDef(
        "min.cleanable.dirty.ratio",
        ConfigType.DOUBLE,
        "0.5",
        "How much of the log may be uncompacted before the cleaner runs.",
        _between(0, 1),
        "log.cleaner.min.cleanable.ratio",
    ),
    ConfigDef(
        "min.compaction.lag.ms",
        ConfigType.LONG,
        "0",
        "Minimum time a message stays uncompacted.",
        _at_least(0),
        "log.cleaner.min.compaction.lag.ms",
    ),
    ConfigDef(
        "min.insync.replicas",
        ConfigType.INT,
        "1",
        "Minimum number of in-sync replicas for acks=all.",
        _at_least(1),
        "min.insync.replicas",
    ),
    ConfigDef(
        "preallocate",
        ConfigType.BOOLEAN,
        "false",
        "Whether segment files are preallocated.",
        None,
        "log.preallocate",
    ),
    ConfigDef(
        "remote.storage.enable",
        ConfigType.BOOLEAN,
        "false",
        "Tiered storage; not supported by Charter's single-node broker.",
        _not_true("Tiered storage is not supported by this broker"),
    ),
    ConfigDef(
        "retention.bytes",
        ConfigType.LONG,
        "-1",
        "Maximum size a partition may grow to before old segments are deleted (-1: no limit).",
        None,
        "log.retention.bytes",
    ),
    ConfigDef(
        "retention.ms",
        ConfigType.LONG,
        str(7 * _DAY_MS),
        "How long a segment is kept before it is deleted (-1: no limit).",
        _at_least(-1),
        "log.retention.ms",
    ),
    ConfigDef(
        "segment.bytes",
        ConfigType.INT,
        str(1024**3),
        "Segment file size.",
        _at_least(14),
        "log.segment.bytes",
    ),
    ConfigDef(
        "segment.index.bytes",
        ConfigType.INT,
        str(10 * 1024 * 1024),
        "Size of the index that maps offsets to file positions.",
        _at_least(4),
        "log.index.size.max.bytes",
    ),
    ConfigDef(
        "segment.jitter.ms",
        ConfigType.LONG,
        "0",
        "Maximum random jitter subtracted from segment.ms.",
        _at_least(0),
        "log.roll.jitter.ms",
    ),
    ConfigDef(
        "segment.ms",
        ConfigType.LONG,
        str(7 * _DAY_MS),
        "Time after which the active segment is rolled even if not full.",
        _at_least(1),
        "log.roll.ms",
    ),
    ConfigDef(
        "unclean.leader.election.enable",
        ConfigType.BOOLEAN,
        "false",
        "Whether out-of-sync replicas may become leader (no effect on one node).",
        None,
        "unclean.leader.election.enable",
    ),
    *(
        definition
        for part, validation_default in (("value", "full"), ("key", "none"))
        for definition in _gate_defs(part, validation_default)
    ),
)

CONFIG_DEFS: dict[str, ConfigDef] = {definition.name: definition for definition in _DEFS}
"""Every topic config the broker accepts, by name."""


def validate_topic_configs(configs: Mapping[str, str | None]) -> None:
    """Check names and values of topic config overrides; raises ``InvalidConfig`` naming the key.

    Also checks Kafka's cross-config rule that ``min.compaction.lag.ms`` may not
    exceed ``max.compaction.lag.ms``.
    """
    unknown = sorted(name for name in configs if name not in CONFIG_DEFS)
    if unknown:
        raise InvalidConfig(f"Unknown topic config name: {', '.join(unknown)}")
    null_valued = sorted(name for name, value in configs.items() if value is None)
    if null_valued:
        raise InvalidConfig(f"Null value not supported for topic configs: {','.join(null_valued)}")
    parsed = {name: CONFIG_DEFS[name].parse(value) for name, value in configs.items()}
    min_lag = parsed.get("min.compaction.lag.ms", 0)
    max_lag = parsed.get("max.compaction.lag.ms", LONG_MAX)
    if min_lag > max_lag:
        raise InvalidConfig(
            f"conflict topic config setting min.compaction.lag.ms ({min_lag}) > "
            f"max.compaction.lag.ms ({max_lag})"
        )


@dataclass(frozen=True, slots=True)
class BrokerDefaults:
    """Topic-config defaults as set by the broker's own settings, plus broker-only configs.

    ``topic_overrides`` maps a topic config name to the value the broker's settings give
    it (reported with source STATIC_BROKER_CONFIG); ``broker_configs`` are the
    broker-level configs reported for a DescribeConfigs BROKER resource.
    """

    topic_overrides: Mapping[str, str] = field(default_factory=dict)
    broker_configs: Mapping[str, str] = field(default_factory=dict)
    default_partitions: int = 1
    retention_check_interval_ms: int = 5000

    @classmethod
    def from_settings(cls, settings: BrokerSettings, *, log_dir: str = "") -> BrokerDefaults:
        """The defaults ``settings`` give (already validated when ``settings`` was built)."""
        flush_messages = settings.log_flush_messages
        partitions = settings.default_partitions
        interval_ms = settings.log_retention_check_interval_ms
        auto_create = settings.auto_create_topics
        max_request = settings.socket_request_max_bytes
        node_id = settings.node_id
        broker_configs = {
            "node.id": str(node_id),
            "broker.id": str(node_id),
            "log.dirs": log_dir,
            "num.partitions": str(partitions),
            "default.replication.factor": "1",
            "auto.create.topics.enable": str(auto_create).lower(),
            "log.retention.check.interval.ms": str(interval_ms),
            "log.cleaner.backoff.ms": str(interval_ms),
            "socket.request.max.bytes": str(max_request),
        }
        topic_overrides = {"flush.messages": str(flush_messages)}
        if str(settings.log_retention_ms) != CONFIG_DEFS["retention.ms"].default:
            topic_overrides["retention.ms"] = str(settings.log_retention_ms)
        validation_key = "charter.value.schema.validation"
        if settings.value_schema_validation != CONFIG_DEFS[validation_key].default:
            topic_overrides[validation_key] = settings.value_schema_validation
        return cls(
            topic_overrides=topic_overrides,
            broker_configs=broker_configs,
            default_partitions=partitions,
            retention_check_interval_ms=interval_ms,
        )

    def topic_default(self, name: str) -> str:
        """The value a topic without an override gets for config ``name``."""
        if name in self.topic_overrides:
            return self.topic_overrides[name]
        return CONFIG_DEFS[name].default

    def effective(self, overrides: Mapping[str, str]) -> dict[str, str]:
        """Every topic config's value for a topic with these ``overrides``."""
        values = {name: self.topic_default(name) for name in CONFIG_DEFS}
        values.update(overrides)
        return values

    def broker_entries(self) -> Iterable[tuple[str, str, bool]]:
        """(name, value, set_by_settings) of every broker-level config, sorted by name."""
        entries: dict[str, tuple[str, bool]] = {
            name: (value, True) for name, value in self.broker_configs.items()
        }
        for definition in _DEFS:
            if definition.broker_synonym is None:
                continue
            if definition.name in self.topic_overrides:
                entries[definition.broker_synonym] = (self.topic_overrides[definition.name], True)
            else:
                entries.setdefault(definition.broker_synonym, (definition.default, False))
        for name in sorted(entries):
            value, from_settings = entries[name]
            yield name, value, from_settings


def _validation(configs: Mapping[str, str], part: str, defaults: BrokerDefaults | None) -> str:
    charter_key = f"charter.{part}.schema.validation"
    confluent_key = f"confluent.{part}.schema.validation"
    if charter_key in configs:
        return configs[charter_key].strip()
    if confluent_key in configs:
        return "id" if configs[confluent_key].strip().lower() == "true" else "none"
    if defaults is not None:
        return defaults.topic_default(charter_key)
    return CONFIG_DEFS[charter_key].default


def _strategy(configs: Mapping[str, str], part: str) -> SubjectNameStrategy:
    charter_key = f"charter.{part}.subject.name.strategy"
    confluent_key = f"confluent.{part}.subject.name.strategy"
    if charter_key in configs:
        return SubjectNameStrategy(configs[charter_key].strip())
    if confluent_key in configs:
        return SubjectNameStrategy(_CONFLUENT_STRATEGIES[configs[confluent_key].strip()])
    return SubjectNameStrategy("topic")


def gate_config(overrides: Mapping[str, str], defaults: BrokerDefaults | None = None) -> GateConfig:
    """The gate's settings (``governance.gate.GateConfig``) for a topic with these config ``overrides`` (not effective values).

    An explicit ``charter.*.schema.validation`` wins; otherwise an explicit
    ``confluent.*.schema.validation`` gives ``id`` (true) or ``none`` (false);
    otherwise the broker's defaults (``defaults``; the catalogue's ``full`` for
    values and ``none`` for keys unless the broker's settings change them). The
    subject name strategies likewise: ``charter.*``, else Confluent Server's class
    name in ``confluent.*.subject.name.strategy``, else ``topic``.
    """
    return GateConfig(
        value_validation=Validation(_validation(overrides, "value", defaults)),
        key_validation=Validation(_validation(overrides, "key", defaults)),
        value_subject_strategy=_strategy(overrides, "value"),
        key_subject_strategy=_strategy(overrides, "key"),
    )
