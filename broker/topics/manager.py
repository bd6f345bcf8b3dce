"""Topic lifecycle on the single-node broker: create, delete, grow, configure, maintain.

``TopicManager`` keeps topic metadata in the database (``broker.topics.store``) and each
partition's records in a ``PartitionLog`` under ``<log_dir>/<topic>-<partition>``,
as Kafka lays out its log directories. The database is the source of truth for
which topics exist: a partition directory left behind by a delete interrupted by
a crash is removed when a topic of that name is created again, so a re-created
topic never sees old records. Checks and error messages follow Apache Kafka's controller
(``ReplicationControlManager``, ``ConfigAdminManager``).

Every change writes its event (``topic_created``, ``topic_deleted``,
``topic_config_changed``, ``partitions_added``) to the broker outbox in the
same transaction as its rows (``broker.topics.store``), which other processes follow.
A creation whose partition logs cannot be opened is undone by a second
transaction announcing ``topic_deleted``; new partitions are opened before
their commit, so a crash in between leaves only directories no topic owns
(removed when they are created again). In this process, listeners (``on_topic_created``, ``on_topic_deleted``,
``on_config_changed``) are plain callables receiving a ``TopicInfo`` after the
commit; the broker never imports their owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime
import logging
import re
import shutil
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path

import peewee

from broker.config_catalog import BrokerDefaults, validate_topic_configs
from broker.errors import (
    InvalidConfig,
    InvalidPartitions,
    InvalidReplicaAssignment,
    InvalidTopic,
    TopicAlreadyExists,
    UnknownTopicId,
    UnknownTopicOrPartition,
)
from broker.log import LogConfig, PartitionLog
from broker.settings import BrokerSettings
from broker.topics import store
from broker.topics.alter import AlterOp, apply_alter_ops
from broker.topics.describe import (
    ConfigEntry,
    ConfigSynonym,
    broker_config_entries,
    topic_config_entries,
)
from broker.topics.maintenance import LogMaintenance
from broker.topics.validation import (
    INTERNAL_TOPICS,
    MAX_PARTITIONS_PER_TOPIC,
    check_partition_limit,
    check_replicas,
    collision_key,
    partition_count,
    validate_topic_name,
)

__all__ = [
    "AlterOp",
    "ConfigEntry",
    "ConfigSynonym",
    "INTERNAL_TOPICS",
    "MAX_PARTITIONS_PER_TOPIC",
    "TopicHooks",
    "TopicInfo",
    "TopicManager",
    "validate_topic_name",
]

logger = logging.getLogger(__name__)

_PARTITION_DIR = re.compile(r"(?P<topic>[a-zA-Z0-9._-]+)-(?P<partition>\d+)")


@dataclasses.dataclass(frozen=True, slots=True)
class TopicInfo:
    """A topic as the broker knows it; ``configs`` holds only the overrides."""

    name: str
    topic_id: uuid.UUID
    partitions: int
    created_at: datetime.datetime
    is_internal: bool
    configs: Mapping[str, str]


@dataclasses.dataclass(slots=True)
class _OpenTopic:
    info: TopicInfo
    log_config: LogConfig
    logs: list[PartitionLog]


TopicListener = Callable[[TopicInfo], None]


@dataclasses.dataclass(frozen=True, slots=True)
class TopicHooks:
    """What the broker's owner wires into topic lifecycle: event listeners and a create policy.

    ``charter`` builds one (``charter.compose``); the broker never imports the
    listeners' owners (catalog indexer, governance engine).
    """

    on_topic_created: TopicListener | None = None
    on_topic_deleted: TopicListener | None = None
    on_config_changed: TopicListener | None = None
    create_policy: Callable[[TopicInfo], None] | None = None
    """Called with the would-be topic before creation; raises (e.g. PolicyViolation) to refuse."""


class TopicManager:
    """Every topic of this broker: its metadata row, its configs and its open partition logs.

    Methods are synchronous and meant for the broker's event loop thread; only
    ``run_maintenance`` and ``aclose`` are coroutines. Topics are loaded and their
    logs opened by the constructor. Log maintenance runs on a worker thread
    (``broker.topics.maintenance``).
    """

    def __init__(
        self,
        database: peewee.Database,
        log_dir: Path,
        settings: BrokerSettings,
        *,
        on_topic_created: TopicListener | None = None,
        on_topic_deleted: TopicListener | None = None,
        on_config_changed: TopicListener | None = None,
        create_policy: Callable[[TopicInfo], None] | None = None,
    ) -> None:
        self.database = database
        self.log_dir = Path(log_dir)
        self.node_id = settings.node_id
        self.defaults = BrokerDefaults.from_settings(settings, log_dir=str(self.log_dir))
        self.on_topic_created = on_topic_created
        self.on_topic_deleted = on_topic_deleted
        self.on_config_changed = on_config_changed
        self.create_policy = create_policy
        """Called with the would-be topic before creation; raises (e.g. PolicyViolation) to refuse."""
        self.outbox = store.broker_outbox(database)
        self._topics: dict[str, _OpenTopic] = {}
        self.generation = 0
        """Bumped whenever a topic appears, goes or gains partitions (callers cache by it)."""
        self._closed = False
        self._maintenance = LogMaintenance(
            self._all_partitions, self.defaults.retention_check_interval_ms / 1000
        )
        store.bind(database)
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self._load()

    @classmethod
    def open(
        cls,
        settings: BrokerSettings,
        *,
        database: peewee.Database,
        hooks: TopicHooks | None = None,
    ) -> TopicManager:
        """A manager for ``settings`` (logs in ``settings.log_dir``) over a migrated ``database``."""
        hooks = hooks or TopicHooks()
        return cls(
            database,
            settings.log_dir,
            settings,
            on_topic_created=hooks.on_topic_created,
            on_topic_deleted=hooks.on_topic_deleted,
            on_config_changed=hooks.on_config_changed,
            create_policy=hooks.create_policy,
        )

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
            if collision_key(existing) == collision_key(name):
                raise InvalidTopic(f"Topic '{name}' collides with existing topic: {existing}")
        partitions = partition_count(
            num_partitions,
            replication_factor,
            assignments,
            node_id=self.node_id,
            default_partitions=self.defaults.default_partitions,
        )
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
                self._announce("topic_created", info)
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
                self._announce("topic_deleted", info)  # the creation committed, then was undone
            raise
        self._topics[name] = topic
        self.generation += 1
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
            self._announce("topic_deleted", topic.info)
        del self._topics[name]
        self.generation += 1
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
        check_partition_limit(new_total)
        if assignments is not None:
            added = new_total - current
            if len(assignments) != added:
                raise InvalidReplicaAssignment(
                    f"Attempted to add {added} additional partition(s), but only "
                    f"{len(assignments)} assignment(s) were specified."
                )
            for replicas in assignments:
                check_replicas(replicas, self.node_id)
        grown = dataclasses.replace(topic.info, partitions=new_total)
        if validate_only:
            return grown
        new_logs: list[PartitionLog] = []
        try:
            for index in range(current, new_total):
                new_logs.append(self._open_new_log(name, index, topic.log_config))
            with self.database.atomic():
                store.Topic.update(partitions=new_total).where(store.Topic.name == name).execute()
                self._announce("partitions_added", grown)
        except Exception:
            for log in new_logs:
                log.delete()
            raise
        topic.logs.extend(new_logs)
        topic.info = grown
        self.generation += 1
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
        return topic_config_entries(
            self.defaults,
            overrides,
            keys,
            include_synonyms=include_synonyms,
            include_documentation=include_documentation,
        )

    def describe_broker_configs(
        self,
        keys: Iterable[str] | None = None,
        *,
        include_synonyms: bool = True,
        include_documentation: bool = False,
    ) -> list[ConfigEntry]:
        """The broker-level configs (DescribeConfigs resource type BROKER); all read-only."""
        return broker_config_entries(
            self.defaults,
            keys,
            include_synonyms=include_synonyms,
            include_documentation=include_documentation,
        )

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
        overrides = apply_alter_ops(self._open(name).info.configs, ops, self.defaults)
        return self._replace_overrides(name, overrides, validate_only)

    # -- maintenance -----------------------------------------------------------------------

    def maintenance_pass(self, now_ms: int | None = None) -> None:
        """Roll due segments, apply retention and compact, for every partition once.

        Runs in the calling thread; never overlaps a background pass.
        """
        self._maintenance.run_pass(now_ms)

    async def run_maintenance(self, interval_s: float | None = None) -> None:
        """Run a maintenance pass on the worker thread every ``interval_s``
        (default: log.retention.check.interval.ms); cancel the task to stop."""
        await self._maintenance.run(interval_s)

    def start_maintenance(self) -> asyncio.Task[None]:
        """Start ``run_maintenance`` as a task of the running loop (stopped by ``aclose``)."""
        return self._maintenance.start()

    async def aclose(self) -> None:
        """Stop maintenance, wait for a running pass without blocking the loop, then ``close()``."""
        await self._maintenance.aclose()
        self.close()

    def close(self) -> None:
        """Stop maintenance (waiting for a running pass), then close every partition log.

        The manager is unusable afterwards.
        """
        if self._closed:
            return
        self._maintenance.close()
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

    def _validated_log_config(self, overrides: Mapping[str, str | None]) -> LogConfig:
        validate_topic_configs(overrides)
        effective = self.defaults.effective(overrides)  # type: ignore[arg-type]
        return LogConfig.from_topic_configs(effective)

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
            self._announce("topic_config_changed", updated)
        topic.info = updated
        if log_config != topic.log_config:
            topic.log_config = log_config
            for log in topic.logs:
                log.reconfigure(log_config)
        logger.info("topic %s configs now %s", name, clean)
        self._emit(self.on_config_changed, updated)
        return updated

    def all_partitions(self) -> list[tuple[str, int, PartitionLog]]:
        """Every open partition as (topic name, index, log); call on the event loop thread."""
        return self._all_partitions()

    def _all_partitions(self) -> list[tuple[str, int, PartitionLog]]:
        return [
            (name, index, log)
            for name, topic in list(self._topics.items())
            for index, log in enumerate(topic.logs)
        ]

    def _announce(self, event_name: str, info: TopicInfo) -> None:
        """Write the change's event to the broker outbox, in the change's open transaction."""
        self.outbox.append(
            event_name,
            {
                "name": info.name,
                "topic_id": str(info.topic_id),
                "partitions": info.partitions,
                "is_internal": info.is_internal,
                "configs": dict(info.configs),
            },
        )

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
        self.generation += 1
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
