"""The topic config catalogue: names, parsing, validation messages, broker defaults, gate view."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from broker import config_catalog as topic_config
from broker.config_catalog import (
    CONFIG_DEFS,
    BrokerDefaults,
    ConfigType,
    gate_config,
    list_value,
    validate_topic_configs,
)
from broker.errors import InvalidConfig
from broker.log import LOG_CONFIG_KEYS, LogConfig
from broker.log.config import LOG_CONFIG_FIELDS
from broker.settings import BrokerSettings


def test_all_names_are_exported() -> None:
    for name in topic_config.__all__:
        assert hasattr(topic_config, name)


def test_catalogue_has_the_kafka_and_charter_configs() -> None:
    expected = {
        "cleanup.policy",
        "retention.ms",
        "retention.bytes",
        "segment.bytes",
        "segment.ms",
        "delete.retention.ms",
        "min.compaction.lag.ms",
        "max.compaction.lag.ms",
        "min.cleanable.dirty.ratio",
        "max.message.bytes",
        "message.timestamp.type",
        "flush.messages",
        "flush.ms",
        "index.interval.bytes",
        "min.insync.replicas",
        "compression.type",
        "charter.value.schema.validation",
        "charter.key.schema.validation",
        "charter.value.subject.name.strategy",
        "charter.key.subject.name.strategy",
        "confluent.value.schema.validation",
        "confluent.key.schema.validation",
    }
    assert expected <= set(CONFIG_DEFS)


def test_every_default_is_valid_for_its_own_config() -> None:
    for definition in CONFIG_DEFS.values():
        definition.parse(definition.default)


def test_kafka_defaults() -> None:
    # Defaults from https://kafka.apache.org/39/documentation/#topicconfigs
    assert CONFIG_DEFS["retention.ms"].default == "604800000"
    assert CONFIG_DEFS["segment.bytes"].default == "1073741824"
    assert CONFIG_DEFS["cleanup.policy"].default == "delete"
    assert CONFIG_DEFS["max.message.bytes"].default == "1048588"
    assert CONFIG_DEFS["min.cleanable.dirty.ratio"].default == "0.5"
    assert CONFIG_DEFS["charter.value.schema.validation"].default == "full"
    assert CONFIG_DEFS["charter.key.schema.validation"].default == "none"
    assert CONFIG_DEFS["cleanup.policy"].type is ConfigType.LIST
    assert CONFIG_DEFS["retention.ms"].type is ConfigType.LONG


@pytest.mark.parametrize(
    "configs",
    [
        {"retention.ms": "1000", "segment.bytes": "2048"},
        {"cleanup.policy": "compact,delete"},
        {"cleanup.policy": " compact , delete "},
        {"retention.ms": "-1", "retention.bytes": "-1"},
        {"min.cleanable.dirty.ratio": "0.01", "segment.ms": "100"},
        {"message.timestamp.type": "LogAppendTime"},
        {"compression.type": "zstd"},
        {"preallocate": "TRUE"},
        {"charter.value.schema.validation": "id", "charter.key.schema.validation": "full"},
        {"charter.value.subject.name.strategy": "topic_record"},
        {"confluent.value.schema.validation": "true"},
        {"min.compaction.lag.ms": "10", "max.compaction.lag.ms": "10"},
    ],
)
def test_valid_configs_pass(configs: dict[str, str]) -> None:
    validate_topic_configs(configs)


@pytest.mark.parametrize(
    ("configs", "message"),
    [
        ({"retention.msx": "1"}, "Unknown topic config name: retention.msx"),
        (
            {"retention.ms": "abc"},
            "Invalid value abc for configuration retention.ms: Not a number of type LONG",
        ),
        ({"retention.ms": "1_000"}, "Not a number of type LONG"),
        (
            {"retention.ms": "-2"},
            "Invalid value -2 for configuration retention.ms: Value must be at least -1",
        ),
        ({"segment.bytes": "13"}, "Value must be at least 14"),
        ({"segment.bytes": "2147483648"}, "Not a number of type INT"),
        ({"cleanup.policy": "compactx"}, "String must be one of: compact, delete"),
        ({"cleanup.policy": ""}, "configuration cleanup.policy: Empty list not allowed"),
        ({"min.cleanable.dirty.ratio": "1.5"}, "Value must be no more than 1"),
        ({"min.cleanable.dirty.ratio": "nan"}, "Not a number of type DOUBLE"),
        (
            {"message.timestamp.type": "createtime"},
            "String must be one of: CreateTime, LogAppendTime",
        ),
        ({"preallocate": "yes"}, "Expected value to be either true or false"),
        ({"charter.value.schema.validation": "strict"}, "String must be one of: none, id, full"),
        ({"charter.key.subject.name.strategy": "io.Foo"}, "topic, record, topic_record"),
        ({"remote.storage.enable": "true"}, "Tiered storage is not supported"),
        ({"retention.ms": None}, "Null value not supported for topic configs: retention.ms"),
        (
            {"min.compaction.lag.ms": "11", "max.compaction.lag.ms": "10"},
            "min.compaction.lag.ms (11) > max.compaction.lag.ms (10)",
        ),
    ],
)
def test_invalid_configs_name_the_key(configs: dict[str, str | None], message: str) -> None:
    with pytest.raises(InvalidConfig) as raised:
        validate_topic_configs(configs)
    assert message in str(raised.value)
    assert raised.value.error_code == 40


def test_list_value_splits_like_kafka() -> None:
    assert list_value("") == []
    assert list_value(" a , b,c ") == ["a", "b", "c"]


def test_broker_defaults_from_settings() -> None:
    settings = BrokerSettings(
        data_dir=Path("/data"),
        log_flush_messages=1,
        default_partitions=3,
        log_retention_check_interval_ms=200,
        auto_create_topics=False,
        node_id=7,
    )
    defaults = BrokerDefaults.from_settings(settings, log_dir="/data/log")
    assert defaults.default_partitions == 3
    assert defaults.retention_check_interval_ms == 200
    assert defaults.topic_default("flush.messages") == "1"
    assert defaults.topic_default("retention.ms") == "604800000"
    effective = defaults.effective({"retention.ms": "1000"})
    assert effective["retention.ms"] == "1000"
    assert effective["flush.messages"] == "1"
    assert set(effective) == set(CONFIG_DEFS)
    broker = {
        name: (value, from_settings) for name, value, from_settings in defaults.broker_entries()
    }
    assert broker["num.partitions"] == ("3", True)
    assert broker["broker.id"] == ("7", True)
    assert broker["auto.create.topics.enable"] == ("false", True)
    assert broker["log.flush.interval.messages"] == ("1", True)
    assert broker["log.retention.ms"] == ("604800000", False)
    assert broker["log.retention.check.interval.ms"] == ("200", True)


def test_the_brokers_retention_default_applies_to_topics_without_one() -> None:
    settings = BrokerSettings(data_dir=Path("/data"), log_retention_ms=3_600_000)
    defaults = BrokerDefaults.from_settings(settings)
    assert defaults.topic_default("retention.ms") == "3600000"
    assert LogConfig.from_topic_configs(defaults.effective({})).retention_ms == 3_600_000
    broker = {name: (value, ours) for name, value, ours in defaults.broker_entries()}
    assert broker["log.retention.ms"] == ("3600000", True)


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("default_partitions", 0, "default_partitions"),
        ("log_flush_messages", 0, "flush.messages"),
        ("log_retention_check_interval_ms", 0, "log_retention_check_interval_ms"),
        ("log_retention_ms", -2, "retention.ms"),
        ("port", 70000, "port"),
        ("socket_request_max_bytes", 0, "socket_request_max_bytes"),
    ],
)
def test_broker_settings_reject_bad_values(field: str, value: int, fragment: str) -> None:
    with pytest.raises(InvalidConfig, match=fragment):
        BrokerSettings(data_dir=Path("d"), **{field: value})


def test_effective_defaults_agree_with_the_log_config() -> None:
    # What the catalogue calls the default is what the log uses when nothing is set.
    effective = BrokerDefaults.from_settings(BrokerSettings(data_dir=Path("d"))).effective({})
    assert LogConfig.from_topic_configs(effective) == LogConfig()


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, ("full", "none", "topic", "topic")),
        ({"charter.value.schema.validation": "none"}, ("none", "none", "topic", "topic")),
        ({"confluent.value.schema.validation": "true"}, ("id", "none", "topic", "topic")),
        ({"confluent.value.schema.validation": "false"}, ("none", "none", "topic", "topic")),
        ({"confluent.key.schema.validation": "TRUE"}, ("full", "id", "topic", "topic")),
        (
            {
                "confluent.value.schema.validation": "true",
                "charter.value.schema.validation": "full",
            },
            ("full", "none", "topic", "topic"),
        ),
        (
            {
                "charter.value.subject.name.strategy": "record",
                "charter.key.subject.name.strategy": "topic_record",
            },
            ("full", "none", "record", "topic_record"),
        ),
        (
            {
                "confluent.value.subject.name.strategy": (
                    "io.confluent.kafka.serializers.subject.RecordNameStrategy"
                ),
                "confluent.key.subject.name.strategy": (
                    "io.confluent.kafka.serializers.subject.TopicRecordNameStrategy"
                ),
            },
            ("full", "none", "record", "topic_record"),
        ),
        (
            {
                "confluent.value.subject.name.strategy": (
                    "io.confluent.kafka.serializers.subject.RecordNameStrategy"
                ),
                "charter.value.subject.name.strategy": "topic",
            },
            ("full", "none", "topic", "topic"),
        ),
    ],
)
def test_gate_config(overrides: dict[str, str], expected: tuple[str, str, str, str]) -> None:
    gate = gate_config(overrides)
    assert (
        gate.value_validation,
        gate.key_validation,
        gate.value_subject_strategy,
        gate.key_subject_strategy,
    ) == expected


# -- one catalogue: LogConfig is derived from CONFIG_DEFS and cannot disagree with it ----------


def test_every_log_config_field_is_a_catalogue_config() -> None:
    assert {field.name for field in dataclasses.fields(LogConfig)} == set(LOG_CONFIG_FIELDS)
    assert set(CONFIG_DEFS) >= LOG_CONFIG_KEYS


@pytest.mark.parametrize("attr", sorted(LOG_CONFIG_FIELDS))
def test_log_config_defaults_are_the_catalogue_defaults(attr: str) -> None:
    name, convert = LOG_CONFIG_FIELDS[attr]
    assert getattr(LogConfig(), attr) == convert(CONFIG_DEFS[name].parse(CONFIG_DEFS[name].default))


_INTERESTING = st.sampled_from(
    [
        "",
        " ",
        "-2",
        "-1",
        "0",
        "1",
        "13",
        "14",
        "4096",
        "0.5",
        "1.5",
        "nan",
        "1e3",
        "2147483647",
        "2147483648",
        "9223372036854775807",
        "9223372036854775808",
        "delete",
        "compact",
        "compact,delete",
        "compact,,delete",
        "keep",
        "CreateTime",
        "LogAppendTime",
        "Now",
        "true",
        "+5",
    ]
)


@given(key=st.sampled_from(sorted(LOG_CONFIG_KEYS)), text=_INTERESTING | st.text(max_size=12))
def test_log_config_accepts_exactly_what_the_catalogue_accepts(key: str, text: str) -> None:
    attr = next(a for a, (name, _) in LOG_CONFIG_FIELDS.items() if name == key)
    try:
        expected = LOG_CONFIG_FIELDS[attr][1](CONFIG_DEFS[key].parse(text))
    except InvalidConfig as catalogue_error:
        with pytest.raises(InvalidConfig) as log_error:
            LogConfig.from_topic_configs({key: text})
        assert str(log_error.value) == str(catalogue_error)
    else:
        assert getattr(LogConfig.from_topic_configs({key: text}), attr) == expected


def test_confluent_subject_name_strategy_takes_confluents_class_names() -> None:
    validate_topic_configs(
        {
            "confluent.value.subject.name.strategy": "io.confluent.kafka.serializers.subject.TopicNameStrategy"
        }
    )
    with pytest.raises(InvalidConfig, match="confluent.value.subject.name.strategy"):
        validate_topic_configs({"confluent.value.subject.name.strategy": "record"})
