"""DescribeConfigs rows for topics and for the broker: each config's value, source and synonyms.

A topic config's value comes from the topic's override (DYNAMIC_TOPIC_CONFIG),
else the broker's settings (STATIC_BROKER_CONFIG), else the built-in default
(DEFAULT_CONFIG); synonyms list every level that has a value, most specific
first, as Kafka's ``ConfigHelper`` reports them.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping

from broker.config_catalog import CONFIG_DEFS, BrokerDefaults, ConfigDef, ConfigSource, ConfigType

__all__ = ["ConfigEntry", "ConfigSynonym", "broker_config_entries", "topic_config_entries"]


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigSynonym:
    name: str
    value: str | None
    source: ConfigSource


@dataclasses.dataclass(frozen=True, slots=True)
class ConfigEntry:
    """One row of a DescribeConfigs answer."""

    name: str
    value: str | None
    source: ConfigSource
    read_only: bool
    is_sensitive: bool
    synonyms: tuple[ConfigSynonym, ...]
    config_type: ConfigType
    documentation: str | None

    @property
    def is_default(self) -> bool:
        return self.source is ConfigSource.DEFAULT_CONFIG


def topic_config_entries(
    defaults: BrokerDefaults,
    overrides: Mapping[str, str],
    keys: Iterable[str] | None = None,
    *,
    include_synonyms: bool = True,
    include_documentation: bool = False,
) -> list[ConfigEntry]:
    """Rows for a topic with these ``overrides`` (all configs, or only the known ``keys``)."""
    wanted = sorted(CONFIG_DEFS) if keys is None else [k for k in keys if k in CONFIG_DEFS]
    entries = []
    for key in wanted:
        definition = CONFIG_DEFS[key]
        levels: list[ConfigSynonym] = []
        if key in overrides:
            levels.append(ConfigSynonym(key, overrides[key], ConfigSource.DYNAMIC_TOPIC_CONFIG))
        if key in defaults.topic_overrides:
            levels.append(
                ConfigSynonym(
                    definition.broker_synonym or key,
                    defaults.topic_overrides[key],
                    ConfigSource.STATIC_BROKER_CONFIG,
                )
            )
        if definition.broker_synonym is not None:
            levels.append(
                ConfigSynonym(
                    definition.broker_synonym, definition.default, ConfigSource.DEFAULT_CONFIG
                )
            )
        # The most specific level wins; without any, the built-in default.
        if levels and levels[0].source is not ConfigSource.DEFAULT_CONFIG:
            value, source = levels[0].value, levels[0].source
        else:
            value, source = definition.default, ConfigSource.DEFAULT_CONFIG
        entries.append(
            ConfigEntry(
                name=key,
                value=value,
                source=source,
                read_only=False,
                is_sensitive=definition.type is ConfigType.PASSWORD,
                synonyms=tuple(levels) if include_synonyms else (),
                config_type=definition.type,
                documentation=definition.doc if include_documentation else None,
            )
        )
    return entries


def broker_config_entries(
    defaults: BrokerDefaults,
    keys: Iterable[str] | None = None,
    *,
    include_synonyms: bool = True,
    include_documentation: bool = False,
) -> list[ConfigEntry]:
    """Rows for the broker itself (DescribeConfigs resource type BROKER); all read-only."""
    wanted = None if keys is None else set(keys)
    by_synonym: dict[str, ConfigDef] = {}
    for definition in CONFIG_DEFS.values():
        if definition.broker_synonym is not None:
            by_synonym.setdefault(definition.broker_synonym, definition)
    entries = []
    for name, value, from_settings in defaults.broker_entries():
        if wanted is not None and name not in wanted:
            continue
        source = ConfigSource.STATIC_BROKER_CONFIG if from_settings else ConfigSource.DEFAULT_CONFIG
        topic_def = by_synonym.get(name)
        entries.append(
            ConfigEntry(
                name=name,
                value=value,
                source=source,
                read_only=True,
                is_sensitive=False,
                synonyms=(ConfigSynonym(name, value, source),) if include_synonyms else (),
                config_type=topic_def.type if topic_def else _broker_config_type(value),
                documentation=(topic_def.doc if topic_def else None)
                if include_documentation
                else None,
            )
        )
    return entries


def _broker_config_type(value: str) -> ConfigType:
    if value in ("true", "false"):
        return ConfigType.BOOLEAN
    if re.fullmatch(r"-?\d+", value):
        return ConfigType.INT
    return ConfigType.STRING
