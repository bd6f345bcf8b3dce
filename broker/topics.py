"""Topic lifecycle on the single-node broker: create, delete, grow, configure, maintain.

``TopicManager`` keeps topic metadata in the database (``broker.store``) and each
partition's records in a ``PartitionLog`` under ``<log_dir>/<topic>-<partition>``,
as Kafka lays out its log directories. The database is the source of truth for
which topics exist: a partition directory left behind by a delete interrupted by
a crash is removed when a topic of that name is created again, so a re-created
topic never sees old records. Checks and error messages follow Apache Kafka's controller
(``ReplicationControlManager``, ``ConfigAdminManager``).

Events (``on_topic_created``, ``on_topic_deleted``, ``on_config_changed``) are plain
callables receiving a ``TopicInfo``; the broker never imports their owner (the catalog).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import re
import shutil
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import peewee

from broker import store
from broker.errors import (
    InvalidConfig,
    InvalidPartitions,
    InvalidReplicaAssignment,
    InvalidReplicationFactor,
    InvalidRequest,
    InvalidTopic,
    TopicAlreadyExists,
    UnknownTopicId,
    UnknownTopicOrPartition,
)
from broker.log import LogConfig, PartitionLog, compact
from broker.topic_config import (
    CONFIG_DEFS,
    BrokerDefaults,
    ConfigSource,
    ConfigType,
    list_value,
    validate_topic_configs,
)

__all__ = [
    "AlterOp",
    "ConfigEntry",
    "ConfigSynonym",
    "INTERNAL_TOPICS",
    "MAX_PARTITIONS_PER_TOPIC",
    "TopicInfo",
    "TopicManager",
    "validate_topic_name",
]

logger = logging.getLogger(__name__)

MAX_TOPIC_NAME_LENGTH = 249
MAX_PARTITIONS_PER_TOPIC = 10_000
"""A guard against a request creating millions of directories; Kafka has no such cap."""

INTERNAL_TOPICS = frozenset({"__consumer_offsets", "__transaction_state"})
_LEGAL_NAME = re.compile(r"[a-zA-Z0-9._-]+")
_PARTITION_DIR = re.compile(r"(?P<topic>[a-zA-Z0-9._-]+)-(?P<partition>\d+)")


def validate_topic_name(name: str) -> None:
    """Raise ``InvalidTopic`` unless ``name`` is a legal Kafka topic name (Kafka's ``Topic.validate``)."""
    if not name:
        raise InvalidTopic("Topic name is illegal, it can't be empty")
    if name in (".", ".."):
        raise InvalidTopic('Topic name cannot be "." or ".."')
    if len(name) > MAX_TOPIC_NAME_LENGTH:
        raise InvalidTopic(
            f"Topic name is illegal, it can't be longer than {MAX_TOPIC_NAME_LENGTH} "
            f"characters, topic name: {name}"
        )
    if not _LEGAL_NAME.fullmatch(name):
        raise InvalidTopic(
            f'Topic name "{name}" is illegal, it contains a character other than '
            "ASCII alphanumerics, '.', '_' and '-'"
        )


def _collision_key(name: str) -> str:
    # Kafka metric names replace '.' by '_', so "a.b" and "a_b" may not coexist.
    return name.replace(".", "_")


@dataclasses.dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic as the broker knows it; ``configs`` holds only the overrides."""

    name: str
    topic_id: uuid.UUID
    partitions: int
    created_at: datetime.datetime
    is_internal: bool
    configs: Mapping[str, str]


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


@dataclasses.dataclass(frozen=True, slots=True)
class AlterOp:
    """One IncrementalAlterConfigs operation: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT."""

    name: str
    op: int
    value: str | None = None

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


@dataclasses.dataclass(slots=True)
class _OpenTopic:
    info: TopicInfo
    log_config: LogConfig
    logs: list[PartitionLog]


TopicListener = Callable[[TopicInfo], None]


class TopicManager:
    """Every topic of this broker: its metadata row, its configs and its open partition logs.

    Methods are synchronous and meant for the broker's event loop thread; only
    ``run_maintenance`` is a coroutine. Topics are loaded and their logs opened
    by the constructor.
    """

    def __init__(
        self,
        database: peewee.Database,
        log_dir: Path,
        broker_settings: Any,
        *,
        node_id: int = 0,
        on_topic_created: TopicListener | None = None,
        on_topic_deleted: TopicListener | None = None,
        on_config_changed: TopicListener | None = None,
        create_policy: Callable[[TopicInfo], None] | None = None,
    ) -> None:
        self.database = database
        self.log_dir = Path(log_dir)
        self.node_id = node_id
        self.defaults = BrokerDefaults.from_settings(
            broker_settings, node_id=node_id, log_dir=str(self.log_dir)
        )
        self.on_topic_created = on_topic_created
        self.on_topic_deleted = on_topic_deleted
        self.on_config_changed = on_config_changed
        self.create_policy = create_policy
        """Called with the would-be topic before creation; raises (e.g. PolicyViolation) to refuse."""
        self._topics: dict[str, _OpenTopic] = {}
        self._closed = False
        self._maintenance: asyncio.Task[None] | None = None
        store.bind(database)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._load()

    @classmethod
    def open(
        cls, settings: Any, *, database: peewee.Database | None = None, **options: Any
    ) -> TopicManager:
        """A manager for ``settings`` (``effective_database_url``, ``log_dir``).

        Without ``database``, opens the settings' database and creates the
        broker's tables if they are missing.
        """
        if database is None:
            database = store.connect(settings.effective_database_url)
            store.ensure_tables(database)
        return cls(database, Path(settings.log_dir), settings, **options)

    # -- queries ---------------------------------------------------------------------------

    def __contains__(self, name: object) -> bool:
        return name in self._topics

    def names(self) -> list[str]:
        return sorted(self._topics)

    def topics(self) -> list[TopicInfo]:
        return [self._topics[name].info for name in sorted(self._topics)]

    def list(self) -> list[TopicInfo]:
        """Every topic, sorted by name (same as ``topics()``)."""
        return self.topics()

    def get(self, name: str) -> TopicInfo | None:
        """The topic ``name``, or None."""
        topic = self._topics.get(name)
        return topic.info if topic else None

    def require(self, name: str) -> TopicInfo:
        """The topic ``name``; raises ``UnknownTopicOrPartition``."""
        return self._open(name).info

    def find_by_id(self, topic_id: uuid.UUID) -> TopicInfo | None:
        for topic in self._topics.values():
            if topic.info.topic_id == topic_id:
                return topic.info
        return None

    def get_by_id(self, topic_id: uuid.UUID) -> TopicInfo:
        """The topic with Kafka topic id ``topic_id``; raises ``UnknownTopicId``."""
        info = self.find_by_id(topic_id)
        if info is None:
            raise UnknownTopicId(f"Topic id {topic_id} does not exist.")
        return info

    def partition(self, name: str, index: int) -> PartitionLog:
        """The log of partition ``index`` of ``name``; raises ``UnknownTopicOrPartition``."""
        topic = self._open(name)
        if not 0 <= index < len(topic.logs):
            raise UnknownTopicOrPartition(
                f"This server does not host this topic-partition: {name}-{index}"
            )
        return topic.logs[index]

    def log(self, name: str, index: int) -> PartitionLog | None:
        """The log of partition ``index`` of ``name``, or None."""
        topic = self._topics.get(name)
        if topic is None or not 0 <= index < len(topic.logs):
            return None
        return topic.logs[index]

    def partitions(self, name: str) -> list[PartitionLog]:
        return list(self._open(name).logs)

    def log_config(self, name: str) -> LogConfig:
        return self._open(name).log_config

    def effective_configs(self, name: str) -> dict[str, str]:
        """Every config of topic ``name`` with its value (defaults filled in)."""
        return self.defaults.effective(self._open(name).info.configs)

    # -- create / delete / grow ------------------------------------------------------------

    def create(
        self,
        name: str,
        num_partitions: int = -1,
        replication_factor: int = -1,
        configs: Mapping[str, str | None] | None = None,
        validate_only: bool = False,
        *,
        assignments: Mapping[int, Sequence[int]] | None = None,
    ) -> TopicInfo:
        """Create a topic (or only check that it could be, with ``validate_only``).

        ``num_partitions``/``replication_factor`` of -1 mean the broker defaults;
        ``assignments`` (partition -> broker ids) is CreateTopics' manual assignment.
        """
        self._check_open()
        validate_topic_name(name)
        if name in self._topics:
            raise TopicAlreadyExists(f"Topic '{name}' already exists.")
        for existing in self._topics:
            if _collision_key(existing) == _collision_key(name):
                raise InvalidTopic(f"Topic '{name}' collides with existing topic: {existing}")
        partitions = self._partition_count(num_partitions, replication_factor, assignments)
        overrides = dict(configs or {})
        log_config = self._validated_log_config(overrides)
        info = TopicInfo(
            name=name,
            topic_id=uuid.uuid4(),
            partitions=partitions,
            created_at=datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0),
            is_internal=name in INTERNAL_TOPICS,
            configs=overrides,  # type: ignore[arg-type]  # validated: no None values
        )
        if self.create_policy is not None:
            self.create_policy(info)
        if validate_only:
            return info
        try:
            with self.database.atomic():
                row = store.Topic.create(
                    name=name,
                    topic_id=info.topic_id,
                    partitions=partitions,
                    created_at=info.created_at,
                    is_internal=info.is_internal,
                )
                for key, value in sorted(info.configs.items()):
                    store.TopicConfig.create(topic=row, key=key, value=value)
        except peewee.IntegrityError:
            raise TopicAlreadyExists(f"Topic '{name}' already exists.") from None
        topic = _OpenTopic(info, log_config, [])
        try:
            for index in range(partitions):
                topic.logs.append(self._open_new_log(name, index, log_config))
        except Exception:
            for log in topic.logs:
                log.delete()
            with self.database.atomic():
                store.Topic.delete().where(store.Topic.name == name).execute()
            raise
        self._topics[name] = topic
        logger.info("created topic %s with %d partition(s)", name, partitions)
        self._emit(self.on_topic_created, info)
        return info

    def delete(self, name: str) -> TopicInfo:
        """Delete topic ``name`` with all its records; raises ``UnknownTopicOrPartition``."""
        self._check_open()
        topic = self._open(name)
        with self.database.atomic():
            row_ids = store.Topic.select(store.Topic.id).where(store.Topic.name == name)
            store.TopicConfig.delete().where(store.TopicConfig.topic.in_(row_ids)).execute()
            store.Topic.delete().where(store.Topic.name == name).execute()
        del self._topics[name]
        for log in topic.logs:
            try:
                log.delete()
            except Exception:  # the directory is swept on the next start
                logger.exception("could not remove a partition of deleted topic %s", name)
        logger.info("deleted topic %s", name)
        self._emit(self.on_topic_deleted, topic.info)
        return topic.info

    def create_partitions(
        self,
        name: str,
        new_total: int,
        assignments: Sequence[Sequence[int]] | None = None,
        validate_only: bool = False,
    ) -> TopicInfo:
        """Grow topic ``name`` to ``new_total`` partitions (CreatePartitions)."""
        self._check_open()
        topic = self._open(name)
        current = topic.info.partitions
        if new_total < current:
            raise InvalidPartitions(
                f"Topic currently has {current} partitions, which is higher than "
                f"the requested {new_total}."
            )
        if new_total == current:
            raise InvalidPartitions(f"Topic already has {current} partitions.")
        if new_total > MAX_PARTITIONS_PER_TOPIC:
            raise InvalidPartitions(
                f"{new_total} partitions exceed this broker's limit of "
                f"{MAX_PARTITIONS_PER_TOPIC} per topic."
            )
        if assignments is not None:
            added = new_total - current
            if len(assignments) != added:
                raise InvalidReplicaAssignment(
                    f"Attempted to add {added} additional partition(s), but only "
                    f"{len(assignments)} assignment(s) were specified."
                )
            for replicas in assignments:
                self._check_replicas(replicas)
        if validate_only:
            return dataclasses.replace(topic.info, partitions=new_total)
        with self.database.atomic():
            store.Topic.update(partitions=new_total).where(store.Topic.name == name).execute()
        new_logs: list[PartitionLog] = []
        try:
            for index in range(current, new_total):
                new_logs.append(self._open_new_log(name, index, topic.log_config))
        except Exception:
            for log in new_logs:
                log.delete()
            with self.database.atomic():
                store.Topic.update(partitions=current).where(store.Topic.name == name).execute()
            raise
        topic.logs.extend(new_logs)
        topic.info = dataclasses.replace(topic.info, partitions=new_total)
        logger.info("topic %s grown from %d to %d partitions", name, current, new_total)
        self._emit(self.on_config_changed, topic.info)
        return topic.info

    # -- configs ---------------------------------------------------------------------------

    def describe_configs(
        self,
        name: str,
        keys: Iterable[str] | None = None,
        *,
        include_synonyms: bool = True,
        include_documentation: bool = False,
    ) -> list[ConfigEntry]:
        """Topic ``name``'s configs (all, or only ``keys``; unknown keys are skipped)."""
        return self.config_entries(
            self._open(name).info.configs,
            keys,
            include_synonyms=include_synonyms,
            include_documentation=include_documentation,
        )

    def config_entries(
        self,
        overrides: Mapping[str, str],
        keys: Iterable[str] | None = None,
        *,
        include_synonyms: bool = True,
        include_documentation: bool = False,
    ) -> list[ConfigEntry]:
        """DescribeConfigs rows for a topic with these overrides (also used by validate_only)."""
        wanted = sorted(CONFIG_DEFS) if keys is None else [k for k in keys if k in CONFIG_DEFS]
        entries = []
        for key in wanted:
            definition = CONFIG_DEFS[key]
            synonyms: list[ConfigSynonym] = []
            if key in overrides:
                synonyms.append(
                    ConfigSynonym(key, overrides[key], ConfigSource.DYNAMIC_TOPIC_CONFIG)
                )
            if key in self.defaults.topic_overrides:
                synonyms.append(
                    ConfigSynonym(
                        definition.broker_synonym or key,
                        self.defaults.topic_overrides[key],
                        ConfigSource.STATIC_BROKER_CONFIG,
                    )
                )
            if definition.broker_synonym is not None:
                synonyms.append(
                    ConfigSynonym(
                        definition.broker_synonym, definition.default, ConfigSource.DEFAULT_CONFIG
                    )
                )
            if key in overrides:
                value, source = overrides[key], ConfigSource.DYNAMIC_TOPIC_CONFIG
            elif key in self.defaults.topic_overrides:
                value, source = (
                    self.defaults.topic_overrides[key],
                    ConfigSource.STATIC_BROKER_CONFIG,
                )
            else:
                value, source = definition.default, ConfigSource.DEFAULT_CONFIG
            entries.append(
                ConfigEntry(
                    name=key,
                    value=value,
                    source=source,
                    read_only=False,
                    is_sensitive=definition.type is ConfigType.PASSWORD,
                    synonyms=tuple(synonyms) if include_synonyms else (),
                    config_type=definition.type,
                    documentation=definition.doc if include_documentation else None,
                )
            )
        return entries

    def describe_broker_configs(
        self,
        keys: Iterable[str] | None = None,
        *,
        include_synonyms: bool = True,
        include_documentation: bool = False,
    ) -> list[ConfigEntry]:
        """The broker-level configs (DescribeConfigs resource type BROKER); all read-only."""
        wanted = None if keys is None else set(keys)
        entries = []
        for name, value, from_settings in self.defaults.broker_entries():
            if wanted is not None and name not in wanted:
                continue
            source = (
                ConfigSource.STATIC_BROKER_CONFIG if from_settings else ConfigSource.DEFAULT_CONFIG
            )
            topic_def = next((d for d in CONFIG_DEFS.values() if d.broker_synonym == name), None)
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

    def alter_configs(
        self, name: str, configs: Mapping[str, str | None], validate_only: bool = False
    ) -> TopicInfo:
        """AlterConfigs: ``configs`` replaces every override of topic ``name``.

        A None value is left out (the config goes back to its default).
        """
        self._check_open()
        self._open(name)
        overrides = {key: value for key, value in configs.items() if value is not None}
        return self._replace_overrides(name, overrides, validate_only)

    def incremental_alter_configs(
        self, name: str, ops: Sequence[AlterOp], validate_only: bool = False
    ) -> TopicInfo:
        """IncrementalAlterConfigs: SET/DELETE/APPEND/SUBTRACT on topic ``name``'s overrides."""
        self._check_open()
        topic = self._open(name)
        seen: set[str] = set()
        for op in ops:
            if op.name in seen:
                raise InvalidRequest("Error due to duplicate config keys")
            seen.add(op.name)
        overrides: dict[str, str | None] = dict(topic.info.configs)
        for op in ops:
            if op.op == AlterOp.SET:
                overrides[op.name] = op.value
            elif op.op == AlterOp.DELETE:
                overrides.pop(op.name, None)
            elif op.op in (AlterOp.APPEND, AlterOp.SUBTRACT):
                overrides[op.name] = self._list_edit(op, overrides)
            else:
                raise InvalidRequest(f"Unknown config operation {op.op} for config key: {op.name}")
        return self._replace_overrides(name, overrides, validate_only)

    # -- maintenance -----------------------------------------------------------------------

    def maintenance_pass(self, now_ms: int | None = None) -> None:
        """Roll due segments, apply retention and compact, for every partition once."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        for name, index, log in self._all_partitions():
            self._maintain(name, index, log, now_ms)

    async def run_maintenance(self, interval_s: float | None = None) -> None:
        """Run ``maintenance_pass`` every ``interval_s`` (default: log.retention.check.interval.ms).

        Yields to the event loop between partitions; cancel the task to stop.
        """
        if interval_s is None:
            interval_s = self.defaults.retention_check_interval_ms / 1000
        while not self._closed:
            await asyncio.sleep(interval_s)
            now_ms = int(time.time() * 1000)
            for name, index, log in self._all_partitions():
                current = self._topics.get(name)
                if current is None or index >= len(current.logs) or current.logs[index] is not log:
                    continue  # deleted while we were yielding
                self._maintain(name, index, log, now_ms)
                await asyncio.sleep(0)

    def start_maintenance(self) -> asyncio.Task[None]:
        """Start ``run_maintenance`` as a task of the running loop (stopped by ``aclose``)."""
        if self._maintenance is None or self._maintenance.done():
            self._maintenance = asyncio.get_running_loop().create_task(
                self.run_maintenance(), name="log-maintenance"
            )
        return self._maintenance

    async def aclose(self) -> None:
        """Stop the maintenance task, then ``close()``."""
        task, self._maintenance = self._maintenance, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.close()

    def close(self) -> None:
        """Close every partition log (flushing it); the manager is unusable afterwards."""
        if self._closed:
            return
        self._closed = True
        for name, index, log in self._all_partitions():
            try:
                log.close()
            except Exception:
                logger.exception("could not close partition %s-%d", name, index)
        self._topics.clear()

    # -- internals -------------------------------------------------------------------------

    def _open(self, name: str) -> _OpenTopic:
        topic = self._topics.get(name)
        if topic is None:
            raise UnknownTopicOrPartition(f"This server does not host this topic: {name}")
        return topic

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("TopicManager is closed")

    def _partition_dir(self, name: str, index: int) -> Path:
        return self.log_dir / f"{name}-{index}"

    def _open_log(self, name: str, index: int, config: LogConfig) -> PartitionLog:
        return PartitionLog.open(self._partition_dir(name, index), config)

    def _open_new_log(self, name: str, index: int, config: LogConfig) -> PartitionLog:
        """Open a partition that did not exist; a stale directory (left by a delete
        interrupted by a crash) is removed first so old records never reappear."""
        path = self._partition_dir(name, index)
        if path.exists():
            logger.warning("removing stale directory %s before creating %s-%d", path, name, index)
            shutil.rmtree(path)
        return PartitionLog.open(path, config)

    def _check_replicas(self, replicas: Sequence[int]) -> None:
        if list(replicas) != [self.node_id]:
            raise InvalidReplicaAssignment(
                f"The manual partition assignment includes broker(s) {list(replicas)}, but this "
                f"single-node cluster has only broker {self.node_id}."
            )

    def _partition_count(
        self,
        num_partitions: int,
        replication_factor: int,
        assignments: Mapping[int, Sequence[int]] | None,
    ) -> int:
        if assignments:
            if num_partitions != -1:
                raise InvalidRequest(
                    "A manual partition assignment was specified, but numPartitions was not set to -1."
                )
            if replication_factor != -1:
                raise InvalidRequest(
                    "A manual partition assignment was specified, but replicationFactor was not set to -1."
                )
            if sorted(assignments) != list(range(len(assignments))):
                raise InvalidReplicaAssignment(
                    "Partitions should be a consecutive 0-based integer sequence, but got "
                    f"{sorted(assignments)}."
                )
            for replicas in assignments.values():
                self._check_replicas(replicas)
            partitions = len(assignments)
        else:
            if replication_factor == 0 or replication_factor < -1:
                raise InvalidReplicationFactor(
                    "Replication factor must be larger than 0, or -1 to use the default value."
                )
            if replication_factor > 1:
                raise InvalidReplicationFactor(
                    f"Unable to replicate the partition {replication_factor} time(s): The target "
                    f"replication factor of {replication_factor} cannot be reached because only "
                    "1 broker(s) are registered."
                )
            if num_partitions == 0 or num_partitions < -1:
                raise InvalidPartitions(
                    "Number of partitions was set to an invalid non-positive value."
                )
            partitions = (
                self.defaults.default_partitions if num_partitions == -1 else num_partitions
            )
        if partitions > MAX_PARTITIONS_PER_TOPIC:
            raise InvalidPartitions(
                f"{partitions} partitions exceed this broker's limit of "
                f"{MAX_PARTITIONS_PER_TOPIC} per topic."
            )
        return partitions

    def _validated_log_config(self, overrides: Mapping[str, str | None]) -> LogConfig:
        validate_topic_configs(overrides)
        effective = self.defaults.effective(overrides)  # type: ignore[arg-type]
        return LogConfig.from_topic_configs(effective)

    def _list_edit(self, op: AlterOp, overrides: Mapping[str, str | None]) -> str:
        definition = CONFIG_DEFS.get(op.name)
        if definition is None:
            raise InvalidConfig(f"Unknown topic config name: {op.name}")
        verb = "append" if op.op == AlterOp.APPEND else "subtract"
        if definition.type is not ConfigType.LIST:
            raise InvalidRequest(f"Config value {verb} is not allowed for config key: {op.name}")
        if op.value is None:
            raise InvalidRequest(f"Null value not supported for config key: {op.name}")
        current = overrides.get(op.name)
        items = list_value(current if current is not None else self.defaults.topic_default(op.name))
        changes = list_value(op.value)
        if op.op == AlterOp.APPEND:
            items += [item for item in changes if item not in items]
            items = list(dict.fromkeys(items))
        else:
            items = [item for item in items if item not in changes]
        return ",".join(items)

    def _replace_overrides(
        self, name: str, overrides: Mapping[str, str | None], validate_only: bool
    ) -> TopicInfo:
        topic = self._open(name)
        log_config = self._validated_log_config(overrides)
        clean: dict[str, str] = {
            key: value for key, value in overrides.items() if value is not None
        }
        updated = dataclasses.replace(topic.info, configs=clean)
        if validate_only:
            return updated
        with self.database.atomic():
            row = store.Topic.get(store.Topic.name == name)
            store.TopicConfig.delete().where(store.TopicConfig.topic == row).execute()
            for key, value in sorted(clean.items()):
                store.TopicConfig.create(topic=row, key=key, value=value)
        topic.info = updated
        if log_config != topic.log_config:
            topic.log_config = log_config
            for log in topic.logs:
                log.reconfigure(log_config)
        logger.info("topic %s configs now %s", name, clean)
        self._emit(self.on_config_changed, updated)
        return updated

    def _all_partitions(self) -> list[tuple[str, int, PartitionLog]]:
        return [
            (name, index, log)
            for name, topic in list(self._topics.items())
            for index, log in enumerate(topic.logs)
        ]

    def _maintain(self, name: str, index: int, log: PartitionLog, now_ms: int) -> None:
        config = self._topics[name].log_config
        try:
            log.roll_if_due(now_ms)
            # Always: besides retention (delete policy) it drops segments below
            # a start offset moved by DeleteRecords.
            log.apply_retention(now_ms)
            if config.compact:
                compact(log, now_ms)
        except Exception:  # one bad partition must not stop maintenance of the others
            logger.exception("log maintenance failed for %s-%d", name, index)

    def _emit(self, listener: TopicListener | None, info: TopicInfo) -> None:
        if listener is None:
            return
        try:
            listener(info)
        except Exception:  # a listener's failure must not undo a committed change
            logger.exception("topic event listener %r failed for %s", listener, info.name)

    def _load(self) -> None:
        rows = list(store.Topic.select().order_by(store.Topic.name))
        configs: dict[int, dict[str, str]] = {}
        for config_row in store.TopicConfig.select():
            configs.setdefault(config_row.topic_id, {})[config_row.key] = config_row.value
        for row in rows:
            overrides = configs.get(row.id, {})
            info = TopicInfo(
                name=row.name,
                topic_id=row.topic_id
                if isinstance(row.topic_id, uuid.UUID)
                else uuid.UUID(str(row.topic_id)),
                partitions=row.partitions,
                created_at=row.created_at,
                is_internal=row.is_internal,
                configs=overrides,
            )
            log_config = self._stored_log_config(row.name, overrides)
            topic = _OpenTopic(info, log_config, [])
            for index in range(row.partitions):
                topic.logs.append(self._open_log(row.name, index, log_config))
            self._topics[row.name] = topic
        self._sweep_orphans()

    def _stored_log_config(self, name: str, overrides: Mapping[str, str]) -> LogConfig:
        try:
            return self._validated_log_config(overrides)
        except InvalidConfig as exc:
            # A stored value this version no longer accepts: keep the topic usable.
            logger.warning("topic %s: ignoring stored configs (%s)", name, exc)
            valid = {}
            for key, value in overrides.items():
                with contextlib.suppress(InvalidConfig):
                    self._validated_log_config({key: value})
                    valid[key] = value
            return LogConfig.from_topic_configs(self.defaults.effective(valid))

    def _sweep_orphans(self) -> None:
        # Only reported: another component may keep its own directories here.
        for path in self._orphan_dirs():
            logger.warning("%s looks like a partition directory no topic owns", path)

    def _orphan_dirs(self) -> Iterator[Path]:
        for path in sorted(self.log_dir.iterdir()):
            match = _PARTITION_DIR.fullmatch(path.name)
            if match is None or not path.is_dir():
                continue
            topic = self._topics.get(match["topic"])
            if topic is None or int(match["partition"]) >= len(topic.logs):
                yield path


def _broker_config_type(value: str) -> ConfigType:
    if value in ("true", "false"):
        return ConfigType.BOOLEAN
    if re.fullmatch(r"-?\d+", value):
        return ConfigType.INT
    return ConfigType.STRING
