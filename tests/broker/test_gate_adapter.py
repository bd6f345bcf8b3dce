"""The broker's gate adapter without a server: pass-through cost, verdict checks, rebuilt batches."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from crc32c import crc32c

from broker import gate as gate_module
from broker.errors import CorruptRecord
from broker.gate import BrokerGate
from broker.protocol.records import Record, build_batch, iter_records, read_batches
from broker.settings import BrokerSettings
from broker.topics import TopicManager
from governance.gate import (
    ACCEPT,
    DeadLetter,
    GateConfig,
    GateContext,
    GateRecord,
    PassThroughGate,
    RecordError,
    Reject,
    Route,
    Validation,
    Verdict,
)

CONTEXT = GateContext("t", 0, "User:ANONYMOUS", None, 5, GateConfig())


class _Fixed:
    def __init__(self, verdict: Any) -> None:
        self.verdict = verdict
        self.seen: list[GateRecord] = []

    def inspects(self, context: GateContext) -> bool:
        return True

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        self.seen = list(records)
        return self.verdict


def _batch(count: int, **options: Any) -> bytes:
    return build_batch(
        [Record(i, 10 * i, b"k%d" % i, b"v%d" % i, [("h", b"%d" % i)]) for i in range(count)],
        timestamp=1_000,
        **options,
    )


def _admit(gate: Any, data: bytes) -> Any:
    adapter = BrokerGate(gate)
    try:
        return asyncio.run(
            adapter.admit(CONTEXT, data, read_batches(data), max_decompressed_bytes=1 << 20)
        )
    finally:
        adapter.close()


def test_pass_through_is_never_asked_for_records(database: Any, tmp_path: Path) -> None:
    topics = TopicManager(database, tmp_path / "log", BrokerSettings(data_dir=tmp_path))
    try:
        topics.create("t", 1, configs={"charter.value.schema.validation": "full"})
        adapter = BrokerGate(PassThroughGate())
        context = adapter.context(
            topics, "t", 0, principal="User:ANONYMOUS", client_id=None, producer_id=-1
        )
        assert context is not None
        assert not adapter.inspects(context)  # so the produce handler appends without decoding
    finally:
        topics.close()


def test_context_carries_the_topic_gate_config(database: Any, tmp_path: Path) -> None:
    topics = TopicManager(database, tmp_path / "log", BrokerSettings(data_dir=tmp_path))
    try:
        topics.create("t", 2, configs={"confluent.value.schema.validation": "true"})
        adapter = BrokerGate(_Fixed(ACCEPT))
        context = adapter.context(
            topics, "t", 1, principal="User:alice", client_id="c", producer_id=9
        )
        assert context == GateContext(
            "t", 1, "User:alice", "c", 9, GateConfig(value_validation=Validation.ID)
        )
        topics.alter_configs("t", {"charter.key.schema.validation": "full"})
        context = adapter.context(
            topics, "t", 1, principal="User:alice", client_id="c", producer_id=9
        )
        assert context is not None
        assert (context.config.value_validation, context.config.key_validation) == ("full", "full")
        assert (
            adapter.context(topics, "missing", 0, principal="p", client_id=None, producer_id=-1)
            is None
        )
    finally:
        topics.close()


def test_records_reach_the_gate_decoded() -> None:
    gate = _Fixed(ACCEPT)
    data = _batch(3, compression=4)
    admission = _admit(gate, data)
    assert admission.records == data and admission.rejection is None
    assert gate.seen[2] == GateRecord(2, b"k2", b"v2", (("h", b"2"),), 1_020)


def test_route_rebuilds_and_keeps_the_sequence_range() -> None:
    data = _batch(4, producer_id=5, producer_epoch=0, base_sequence=10, compression=1)
    letters = (DeadLetter.because(0, "dlq", "why"), DeadLetter.because(2, "dlq", "why"))
    admission = _admit(_Fixed(Route(letters)), data)
    (header,) = admission.headers
    assert header.records_count == 2 and header.compression == 1
    assert (header.base_sequence, header.last_sequence) == (12, 13)
    assert admission.first_sequence == 10
    assert [r.value for r in iter_records(admission.records, header)] == [b"v1", b"v3"]
    assert [record.value for _, record in admission.dead_letters] == [b"v0", b"v2"]
    assert dict(admission.dead_letters[0][1].headers)["charter.dlq.source.topic"] == b"t"


def test_route_of_every_record_appends_nothing_but_keeps_the_header() -> None:
    data = _batch(2, producer_id=5, producer_epoch=0, base_sequence=0)
    admission = _admit(
        _Fixed(Route((DeadLetter.because(0, "d", "x"), DeadLetter.because(1, "d", "x")))), data
    )
    assert admission.records is None and admission.skipped is not None
    assert admission.skipped.last_sequence == 1


@pytest.mark.parametrize(
    "verdict",
    [
        Reject((RecordError(7, "no such record"),), "bad index"),
        Route((DeadLetter.because(0, "d", "x"), DeadLetter.because(0, "d", "x"))),
        Route((DeadLetter.because(-1, "d", "x"),)),
        "yes",
        None,
    ],
)
def test_invalid_verdicts_reject_the_batch(verdict: Any) -> None:
    admission = _admit(_Fixed(verdict), _batch(2))
    assert admission.rejection is not None
    assert admission.rejection.message.startswith("the gate failed")


def test_garbage_records_with_a_valid_crc_are_corrupt_when_inspected() -> None:
    data = bytearray(_batch(1))
    data[61:] = b"\x7f" * (len(data) - 61)  # records section replaced, CRC then fixed up
    data[17:21] = crc32c(bytes(data[21:])).to_bytes(4, "big")
    with pytest.raises(CorruptRecord):
        _admit(_Fixed(ACCEPT), bytes(data))


class _Observer(_Fixed):
    def __init__(self) -> None:
        super().__init__(ACCEPT)
        self.unread: list[tuple[bytes | None, int]] = []

    def inspects(self, context: GateContext) -> bool:
        return False

    def observe_unread(self, context: GateContext, value_prefix: bytes | None, count: int) -> None:
        self.unread.append((value_prefix, count))


def test_unread_batches_are_observed_with_their_first_value_prefix_and_count() -> None:
    framed = b"\x00\x00\x00\x00\x07payload"
    data = build_batch([Record(i, 0, None, framed if i == 0 else b"other") for i in range(3)])
    observer = _Observer()
    BrokerGate(observer).observe_unread(CONTEXT, data, read_batches(data))
    assert observer.unread == [(framed[:5], 3)]
    BrokerGate(PassThroughGate()).observe_unread(CONTEXT, data, read_batches(data))  # no-op


def test_a_compressed_batch_prefix_is_read_once_per_refresh_per_producer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(gate_module, "PREFIX_REFRESH_S", 3600.0)
    first, second = (
        build_batch([Record(0, 0, None, b"\x00\x00\x00\x00" + bytes([n]) + b"x")], compression=3)
        for n in (1, 2)
    )
    observer = _Observer()
    adapter = BrokerGate(observer)
    for data in (first, second):
        adapter.observe_unread(CONTEXT, data, read_batches(data))
    other = dataclasses.replace(CONTEXT, client_id="another")
    adapter.observe_unread(other, second, read_batches(second))
    assert observer.unread == [(b"\x00\x00\x00\x00\x01", 1)] * 2 + [(b"\x00\x00\x00\x00\x02", 1)]
