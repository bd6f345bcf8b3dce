"""Each partition's log start and log end offsets, published in the shared database.

The HTTP tier never opens partition logs (it may run on another host, over
PostgreSQL), yet the catalog shows consumer lag: log-end offset minus the
group's committed offset. So the broker reports its offsets: ``LogEndReporter``
writes every partition whose offsets moved since the last report to the table
below, at most once per ``interval_s``, in one small transaction on the event
loop (as the group coordinator's sweep writes). Readers call ``log_end_offsets``.
docs/decisions.md ("Consumer lag in the catalog") says why not ListOffsets.

Table ``broker_partition_offsets``, migration series ``broker.log_end``::

    (topic, partition_index) primary key
    log_start_offset BIGINT   the first offset still in the log
    log_end_offset   BIGINT   the offset the next record gets (the high watermark:
                              the broker keeps one replica)
    updated_at_ms    BIGINT   when this broker last saw these values

Rows of deleted topics (and partitions) are removed by the next report.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
from collections.abc import Callable, Iterable

import peewee

from broker.log import PartitionLog

__all__ = [
    "MIGRATIONS",
    "MIGRATION_KEY",
    "LogEndReporter",
    "PartitionOffsets",
    "log_end_offsets",
]

log = logging.getLogger(__name__)

MIGRATION_KEY = "broker.log_end"
TABLE = "broker_partition_offsets"


def _create_table(database: peewee.Database) -> None:
    database.execute_sql(
        f"CREATE TABLE IF NOT EXISTS {TABLE} (topic TEXT NOT NULL, partition_index INTEGER NOT NULL, "
        "log_start_offset BIGINT NOT NULL, log_end_offset BIGINT NOT NULL, "
        "updated_at_ms BIGINT NOT NULL, PRIMARY KEY (topic, partition_index))"
    )


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_table]


@dataclasses.dataclass(frozen=True, slots=True)
class PartitionOffsets:
    log_start_offset: int
    log_end_offset: int
    updated_at_ms: int


def log_end_offsets(database: peewee.Database, topic: str) -> dict[int, PartitionOffsets]:
    """The last reported offsets of ``topic``'s partitions, by partition index."""
    rows = database.execute_sql(
        f"SELECT partition_index, log_start_offset, log_end_offset, updated_at_ms FROM {TABLE} "
        f"WHERE topic = {database.param}",
        (topic,),
    ).fetchall()
    return {int(row[0]): PartitionOffsets(int(row[1]), int(row[2]), int(row[3])) for row in rows}


_Key = tuple[str, int]
_Offsets = tuple[int, int]


class LogEndReporter:
    """Writes the offsets of ``partitions()`` that changed; ``start`` runs it every interval."""

    def __init__(
        self,
        database: peewee.Database,
        partitions: Callable[[], Iterable[tuple[str, int, PartitionLog]]],
        interval_s: float,
    ) -> None:
        self.database = database
        self._partitions = partitions
        self.interval_s = interval_s
        self._written: dict[_Key, _Offsets] | None = None
        self._task: asyncio.Task[None] | None = None

    def report(self) -> int:
        """Write what moved since the last report (all rows on the first); returns rows changed."""
        current = {
            (name, index): (partition.log_start_offset, partition.log_end_offset)
            for name, index, partition in self._partitions()
            if not partition.closed
        }
        written = self._written if self._written is not None else self._stored()
        changed = {key: value for key, value in current.items() if written.get(key) != value}
        gone = [key for key in written if key not in current]
        if changed or gone:
            self._write(changed, gone)
        self._written = current
        return len(changed) + len(gone)

    def _stored(self) -> dict[_Key, _Offsets]:
        rows = self.database.execute_sql(
            f"SELECT topic, partition_index, log_start_offset, log_end_offset FROM {TABLE}"
        ).fetchall()
        return {(str(row[0]), int(row[1])): (int(row[2]), int(row[3])) for row in rows}

    def _write(self, changed: dict[_Key, _Offsets], gone: list[_Key]) -> None:
        p = self.database.param
        now_ms = int(time.time() * 1000)
        with self.database.atomic():
            for topic, partition in gone:
                self.database.execute_sql(
                    f"DELETE FROM {TABLE} WHERE topic = {p} AND partition_index = {p}",
                    (topic, partition),
                )
            for (topic, partition), (start, end) in changed.items():
                self.database.execute_sql(
                    f"INSERT INTO {TABLE} (topic, partition_index, log_start_offset, log_end_offset, "
                    f"updated_at_ms) VALUES ({p}, {p}, {p}, {p}, {p}) "
                    "ON CONFLICT (topic, partition_index) DO UPDATE SET "
                    "log_start_offset = excluded.log_start_offset, "
                    "log_end_offset = excluded.log_end_offset, updated_at_ms = excluded.updated_at_ms",
                    (topic, partition, start, end, now_ms),
                )

    def start(self) -> asyncio.Task[None]:
        """Report every ``interval_s`` as a task of the running loop (until ``aclose``)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="log-end")
        return self._task

    async def _run(self) -> None:
        while True:
            self._report_logged()
            await asyncio.sleep(self.interval_s)

    def _report_logged(self) -> None:
        try:
            self.report()
        except Exception:  # the database may be briefly unavailable: next time
            self._written = None
            log.warning("could not report log-end offsets", exc_info=True)

    async def aclose(self) -> None:
        """Stop the task and write a last report (the offsets at shutdown)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._report_logged()
