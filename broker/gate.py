"""The broker's side of the produce gate: context in, records decoded off the loop, verdict applied.

The engine (``governance.gate.Gate``) decides; this adapter does the broker's
part. Per partition of a produce request, ``BrokerGate.context`` builds the
``GateContext`` (topic gate config parsed once per config change) and
``inspects`` asks the engine whether it reads the records. When it does not (the
default ``PassThroughGate``), no record is decoded: after the append,
``observe_unread`` hands an engine that is an ``UnreadObserver`` (lineage) each
batch's record count and the first 5 bytes of its first value (of a compressed
batch, read at most once a second per producer: the schema id for lineage).
When it does,
``admit`` runs on a worker thread, so a slow or CPU-heavy check never stalls
other connections: an engine that is an ``EncodedChecker`` is first handed the
batch's records section as it is (``check_encoded``: the schema gate's native
batch check, no Python object per record); when it does not vouch for the
batch, the batch is decoded, ``Gate.check`` runs and its verdict is applied:

- accept: the batch is appended unchanged;
- reject: nothing is appended, the producer gets INVALID_RECORD with per-record errors;
- route: the kept records are re-framed into a new batch (``records.rebuild_batch``:
  dense offsets, CRC recomputed, the producer's sequence range kept) and appended,
  then each routed record is appended to its dead-letter topic with the engine's
  headers plus ``charter.dlq.source.topic``/``.partition``. The main append comes
  first: a retried batch the log already holds is answered as a duplicate and its
  dead letters are not written twice. A dead-letter topic that does not exist
  rejects the batch (fail closed) before anything is written.

An engine that raises, or answers something that is not a valid verdict,
rejects the batch (fail closed) and is logged.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import logging
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, cast

from broker.config_catalog import gate_config
from broker.protocol.records import (
    BatchHeader,
    Record,
    RecordFields,
    build_batch,
    first_value_prefix,
    read_batches,
    rebuild_batch,
    records_section,
    section_fields,
)
from governance.gate import (
    ACCEPT,
    DLQ_HEADER_PREFIX,
    FRAME_PREFIX,
    Accept,
    DeadLetter,
    EncodedChecker,
    Gate,
    GateConfig,
    GateContext,
    GateRecord,
    PassThroughGate,
    RecordError,
    Reject,
    Route,
    UnreadObserver,
    Verdict,
)

if TYPE_CHECKING:
    from broker.topics import TopicManager

__all__ = [
    "ACCEPT",
    "Admission",
    "BrokerGate",
    "DEFAULT_GATE_WORKERS",
    "Gate",
    "PassThroughGate",
    "SOURCE_PARTITION_HEADER",
    "SOURCE_TOPIC_HEADER",
]

log = logging.getLogger(__name__)

DEFAULT_GATE_WORKERS = 2
PREFIX_REFRESH_S = 1.0  # how long a compressed batch's value prefix stands for its producer's
_MAX_PREFIXES = 10_000
SOURCE_TOPIC_HEADER = DLQ_HEADER_PREFIX + "source.topic"
SOURCE_PARTITION_HEADER = DLQ_HEADER_PREFIX + "source.partition"


@dataclasses.dataclass(frozen=True, slots=True)
class Admission:
    """What the produce handler does with one partition's batch after the gate.

    ``rejection`` set: append nothing. Otherwise append ``records`` (None when
    every record was routed; then ``skipped`` is the original header, whose
    producer sequences still count), passing ``first_sequence`` to the log for a
    rebuilt batch, and then ``deliver`` the ``dead_letters``.
    """

    records: bytes | None
    headers: list[BatchHeader]
    first_sequence: int | None = None
    skipped: BatchHeader | None = None
    dead_letters: tuple[tuple[DeadLetter, Record], ...] = ()
    base_timestamp: int = 0
    rejection: Reject | None = None


class BrokerGate:
    """Adapts a ``Gate`` engine to the broker: config lookup, worker threads, verdicts."""

    def __init__(self, gate: Gate | None = None, *, workers: int = DEFAULT_GATE_WORKERS) -> None:
        self.gate: Gate = gate or PassThroughGate()
        has_observer = callable(getattr(self.gate, "observe_unread", None))
        self._observer = cast(UnreadObserver, self.gate) if has_observer else None
        has_encoded = callable(getattr(self.gate, "check_encoded", None))
        self._encoded = cast(EncodedChecker, self.gate) if has_encoded else None
        self._prefixes: dict[tuple[str, str | None, str], tuple[float, bytes | None]] = {}
        self._workers = workers
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._configs: dict[str, tuple[Mapping[str, str], GateConfig]] = {}

    def context(
        self,
        topics: TopicManager,
        topic: str,
        partition: int,
        *,
        principal: str,
        client_id: str | None,
        producer_id: int,
    ) -> GateContext | None:
        """The gate context of this partition (None when the topic does not exist)."""
        info = topics.get(topic)
        if info is None:
            return None
        cached = self._configs.get(topic)
        if cached is None or cached[0] is not info.configs:
            cached = (info.configs, gate_config(info.configs, topics.defaults))
            self._configs[topic] = cached
        return GateContext(topic, partition, principal, client_id, producer_id, cached[1])

    def inspects(self, context: GateContext) -> bool:
        """Whether the engine reads this partition's records (``admit``) before the append."""
        return self.gate.inspects(context)

    def observe_unread(
        self, context: GateContext, records: bytes, headers: Sequence[BatchHeader]
    ) -> None:
        """After appending batches the engine did not inspect: tell it of them (lineage)."""
        observer = self._observer
        if observer is None:
            return
        for header in headers:
            if header.compression:
                prefix = self._compressed_prefix(context, records, header)
            else:
                prefix = first_value_prefix(records, header, FRAME_PREFIX)
            observer.observe_unread(context, prefix, header.records_count)

    def _compressed_prefix(
        self, context: GateContext, records: bytes, header: BatchHeader
    ) -> bytes | None:
        """The first value's prefix of a compressed batch, decompressed at most once a second
        per (topic, client, principal): the start of a stream still costs tens of µs."""
        key = (context.topic, context.client_id, context.principal)
        now = time.monotonic()
        cached = self._prefixes.get(key)
        if cached is not None and now - cached[0] < PREFIX_REFRESH_S:
            return cached[1]
        prefix = first_value_prefix(records, header, FRAME_PREFIX)
        if len(self._prefixes) >= _MAX_PREFIXES:
            self._prefixes.clear()
        self._prefixes[key] = (now, prefix)
        return prefix

    async def admit(
        self,
        context: GateContext,
        records: bytes,
        headers: list[BatchHeader],
        *,
        max_decompressed_bytes: int,
    ) -> Admission:
        """Decode, check and apply the verdict on a worker thread."""
        if self._executor is None:
            self._executor = concurrent.futures.ThreadPoolExecutor(
                max_workers=self._workers, thread_name_prefix="charter-gate"
            )
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, self._evaluate, context, records, headers, max_decompressed_bytes
        )

    def deliver(
        self, topics: TopicManager, admission: Admission, now_ms: int
    ) -> list[tuple[str, int]]:
        """Append the dead letters (after the main append); return the partitions written."""
        grouped: dict[tuple[str, int], list[Record]] = {}
        for letter, record in admission.dead_letters:
            target = (letter.topic, _dead_letter_partition(topics, letter, record))
            grouped.setdefault(target, []).append(record)
        written = []
        for (topic, partition), letters in grouped.items():
            batch = build_batch(
                [dataclasses.replace(r, offset_delta=i) for i, r in enumerate(letters)],
                timestamp=admission.base_timestamp,
            )
            try:
                topics.partition(topic, partition).append(batch, read_batches(batch), now_ms=now_ms)
            except Exception:
                log.exception(
                    "could not append %d dead letter(s) to %s-%d", len(letters), topic, partition
                )
                continue
            written.append((topic, partition))
        return written

    def missing_dead_letter_topic(self, topics: TopicManager, admission: Admission) -> str | None:
        """The first dead-letter topic of ``admission`` that does not exist, if any."""
        for letter, _ in admission.dead_letters:
            if letter.topic not in topics:
                return letter.topic
        return None

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    # -- on the worker thread ------------------------------------------------------------

    def _evaluate(
        self,
        context: GateContext,
        records: bytes,
        headers: list[BatchHeader],
        max_decompressed_bytes: int,
    ) -> Admission:
        (header,) = headers  # Produce v3+ carries exactly one batch per partition
        section = records_section(records, header, max_decompressed_bytes)
        if self._encoded is not None and self._vouched(context, section, header):
            return Admission(records, headers)  # no record decoded in Python
        fields = section_fields(section, header)
        base_timestamp = header.base_timestamp
        new = tuple.__new__  # GateRecord is a named tuple: skip its Python-level __new__
        gate_records = [
            new(
                GateRecord,
                (index, key, value, tuple(extra) if extra else (), base_timestamp + delta),
            )
            for index, (_, delta, key, value, extra) in enumerate(fields)
        ]
        try:
            verdict = self.gate.check(context, gate_records)
            return _apply(verdict, context, records, headers, fields)
        except Exception as error:
            log.exception("the gate failed on %s-%d", context.topic, context.partition)
            return _rejected(f"the gate failed, so the batch is refused: {error}")

    def _vouched(self, context: GateContext, section: bytes, header: BatchHeader) -> bool:
        """Whether the engine accepts the batch from its encoded records alone."""
        assert self._encoded is not None
        try:
            verdict = self._encoded.check_encoded(context, section, header.records_count)
        except Exception:  # the decoding path decides (and says why)
            log.exception(
                "the gate's batch check failed on %s-%d", context.topic, context.partition
            )
            return False
        return isinstance(verdict, Accept)


def _rejected(message: str, errors: tuple[RecordError, ...] = ()) -> Admission:
    return Admission(None, [], rejection=Reject(errors, message))


def _apply(
    verdict: Verdict,
    context: GateContext,
    records: bytes,
    headers: list[BatchHeader],
    fields: Sequence[RecordFields],
) -> Admission:
    header = headers[0]
    count = len(fields)
    if isinstance(verdict, Accept):
        return Admission(records, headers)
    if isinstance(verdict, Reject):
        for error in verdict.errors:
            _check_index(error.index, count)
        return Admission(None, [], rejection=verdict)
    if not isinstance(verdict, Route):
        raise TypeError(f"not a verdict: {verdict!r}")
    routed: dict[int, DeadLetter] = {}
    for letter in verdict.dead_letters:
        _check_index(letter.index, count)
        if letter.index in routed:
            raise ValueError(f"record {letter.index} routed twice")
        if letter.topic == context.topic:
            raise ValueError(f"record {letter.index} routed to its own topic {letter.topic!r}")
        routed[letter.index] = letter
    source = (
        (SOURCE_TOPIC_HEADER, context.topic.encode()),
        (SOURCE_PARTITION_HEADER, str(context.partition).encode()),
    )
    decoded = [Record(*record) for record in fields]  # only when some record is routed
    dead_letters = tuple(
        (
            letter,
            dataclasses.replace(
                decoded[index], headers=[*decoded[index].headers, *letter.headers, *source]
            ),
        )
        for index, letter in sorted(routed.items())
    )
    kept = [record for index, record in enumerate(decoded) if index not in routed]
    first_sequence = header.base_sequence if header.base_sequence >= 0 else None
    if not kept:
        return Admission(
            None,
            [],
            skipped=header,
            dead_letters=dead_letters,
            base_timestamp=header.base_timestamp,
        )
    if not routed:
        return Admission(records, headers)
    rebuilt = rebuild_batch(header, kept)
    return Admission(
        rebuilt,
        read_batches(rebuilt),
        first_sequence=first_sequence,
        dead_letters=dead_letters,
        base_timestamp=header.base_timestamp,
    )


def _check_index(index: int, count: int) -> None:
    if not 0 <= index < count:
        raise ValueError(f"record index {index} is not in the batch of {count} records")


def _dead_letter_partition(topics: TopicManager, letter: DeadLetter, record: Record) -> int:
    if letter.partition is not None:
        return letter.partition
    info = topics.require(letter.topic)
    source = int(dict(record.headers).get(SOURCE_PARTITION_HEADER, b"0"))
    return source if source < info.partitions else 0
