"""Record batch v2: round trips per codec, error paths, fuzzing, and interop with client libraries."""

from __future__ import annotations

import contextlib
import dataclasses
import struct

import cramjam
import pytest
from crc32c import crc32c
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from broker.errors import CorruptRecord, RecordTooLarge, UnsupportedVersion
from broker.protocol import records
from broker.protocol.records import (
    BATCH_OVERHEAD,
    COMPRESSION_GZIP,
    COMPRESSION_LZ4,
    COMPRESSION_NONE,
    COMPRESSION_SNAPPY,
    COMPRESSION_ZSTD,
    DEFAULT_MAX_DECOMPRESSED_BYTES,
    Record,
    build_batch,
    decompression_limit,
    first_value_prefix,
    iter_records,
    read_batches,
    set_log_append_time,
    stamp_base_offset,
)

CODECS = [0, 1, 2, 3, 4]

blobs = st.one_of(st.none(), st.binary(max_size=64))
header_lists = st.lists(
    st.tuples(st.text(max_size=8), st.one_of(st.none(), st.binary(max_size=16))), max_size=3
)


@st.composite
def record_lists(draw: st.DrawFn) -> list[Record]:
    count = draw(st.integers(min_value=1, max_value=8))
    deltas = sorted(draw(st.sets(st.integers(0, 1000), min_size=count, max_size=count)))
    return [
        Record(
            offset_delta=delta,
            timestamp_delta=draw(st.integers(-(2**40), 2**40)),
            key=draw(blobs),
            value=draw(blobs),
            headers=draw(header_lists),
        )
        for delta in deltas
    ]


def decode_all(buf: bytes) -> list[list[Record]]:
    return [list(iter_records(buf, header)) for header in read_batches(buf, strict=False)]


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batch_records=record_lists(), base=st.integers(0, 2**40), timestamp=st.integers(0, 2**41))
def test_round_trip_every_codec(
    codec: int, batch_records: list[Record], base: int, timestamp: int
) -> None:
    buf = build_batch(batch_records, base_offset=base, compression=codec, timestamp=timestamp)
    (header,) = read_batches(buf, strict=False)
    assert header.compression == codec
    assert header.base_offset == base
    assert header.base_timestamp == timestamp
    assert header.records_count == len(batch_records)
    assert header.last_offset_delta == batch_records[-1].offset_delta
    assert header.size == len(buf)
    assert list(iter_records(buf, header)) == batch_records


def test_header_fields_and_flags() -> None:
    buf = build_batch(
        [Record(0, 0, b"k", b"v"), Record(1, 7, None, None)],
        base_offset=10,
        producer_id=42,
        producer_epoch=3,
        base_sequence=2**31 - 1,
        timestamp=1_000,
        is_transactional=True,
    )
    (header,) = read_batches(buf)
    assert (header.producer_id, header.producer_epoch, header.base_sequence) == (42, 3, 2**31 - 1)
    assert header.is_transactional and not header.is_control
    assert header.last_offset == 11
    assert header.last_sequence == 0  # wraps like Kafka's DefaultRecordBatch.incrementSequence
    assert header.max_timestamp == 1_007
    assert header.timestamp_type == 0


def test_several_batches_and_positions() -> None:
    first = build_batch([Record(0, 0, b"a", b"1")])
    second = build_batch([Record(0, 0, b"b", b"2"), Record(1, 0, b"c", b"3")], compression=1)
    headers = read_batches(first + second)
    assert [h.position for h in headers] == [0, len(first)]
    assert [r.value for r in iter_records(first + second, headers[1])] == [b"2", b"3"]


def test_stamp_base_offset_keeps_crc_valid() -> None:
    buf = bytearray(build_batch([Record(0, 0, b"k", b"v")]))
    stamp_base_offset(buf, 0, 123456)
    (header,) = read_batches(buf)
    assert header.base_offset == 123456


def test_set_log_append_time_recomputes_crc() -> None:
    buf = bytearray(build_batch([Record(0, 0, b"k", b"v")], timestamp=5))
    set_log_append_time(buf, 0, 99_000)
    (header,) = read_batches(buf)
    assert header.timestamp_type == 1 and header.max_timestamp == 99_000


# --------------------------------------------------------------------------- errors


def test_bad_crc_is_named() -> None:
    buf = bytearray(build_batch([Record(0, 0, b"k", b"value")]))
    buf[-1] ^= 0xFF
    with pytest.raises(CorruptRecord, match="CRC mismatch"):
        read_batches(buf)


def test_truncated_batch() -> None:
    buf = build_batch([Record(0, 0, b"k", b"value")])
    with pytest.raises(CorruptRecord, match="declares length"):
        read_batches(buf[:-3])
    with pytest.raises(CorruptRecord, match="truncated"):
        read_batches(buf[:30])


def test_legacy_magic_is_unsupported() -> None:
    buf = bytearray(build_batch([Record(0, 0, b"k", b"v")]))
    buf[16] = 1
    with pytest.raises(UnsupportedVersion, match="magic 1"):
        read_batches(buf)


def test_strict_count_checks() -> None:
    empty = build_batch([], timestamp=0)
    with pytest.raises(CorruptRecord, match="no records"):
        read_batches(empty)
    assert read_batches(empty, strict=False)[0].records_count == 0
    gappy = build_batch([Record(0, 0, b"a", b""), Record(5, 0, b"b", b"")])
    with pytest.raises(CorruptRecord, match="last offset delta"):
        read_batches(gappy)


def _rebuild_crc(buf: bytearray) -> bytearray:
    struct.pack_into(">I", buf, 17, crc32c(bytes(buf[21:])))
    return buf


def test_record_count_mismatch_in_payload() -> None:
    buf = bytearray(build_batch([Record(0, 0, b"k", b"v")]))
    struct.pack_into(">i", buf, 57, 2)  # claims two records, holds one
    (header,) = read_batches(_rebuild_crc(buf), strict=False)
    with pytest.raises(CorruptRecord, match="record 1"):
        list(iter_records(buf, header))


def test_trailing_bytes_after_records() -> None:
    buf = bytearray(build_batch([Record(0, 0, b"k", b"v")]))
    buf += b"\x00\x00"
    struct.pack_into(">i", buf, 8, len(buf) - 12)
    (header,) = read_batches(_rebuild_crc(buf), strict=False)
    with pytest.raises(CorruptRecord, match="bytes after"):
        list(iter_records(buf, header))


def test_garbage_compressed_payload() -> None:
    for codec in (1, 2, 3, 4):
        buf = bytearray(build_batch([Record(0, 0, b"k", b"v" * 100)], compression=codec))
        buf[61:] = b"\x01garbage-garbage-garbage"
        struct.pack_into(">i", buf, 8, len(buf) - 12)
        (header,) = read_batches(_rebuild_crc(buf), strict=False)
        with pytest.raises(CorruptRecord):
            list(iter_records(buf, header))


@settings(max_examples=400, deadline=None)
@given(data=st.binary(max_size=300))
def test_fuzz_random_bytes(data: bytes) -> None:
    _only_clear_errors(data)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    codec=st.sampled_from(CODECS),
    batch_records=record_lists(),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), min_size=1, max_size=4),
    cut=st.integers(0, 10_000),
    fix_crc=st.booleans(),
)
def test_fuzz_mutated_batches(
    codec: int, batch_records: list[Record], flips: list[tuple[int, int]], cut: int, fix_crc: bool
) -> None:
    buf = bytearray(build_batch(batch_records, compression=codec))
    for where, xor in flips:
        buf[where % len(buf)] ^= xor
    if fix_crc and len(buf) > 21:
        _rebuild_crc(buf)  # reach the record decoder with damaged records
    if cut % 3 == 0:
        del buf[cut % len(buf) :]
    _only_clear_errors(bytes(buf))


def _only_clear_errors(data: bytes) -> None:
    """Damaged bytes raise CorruptRecord, or RecordTooLarge when a damaged compressed
    stream claims more than the decompression limit; never anything else."""
    try:
        headers = read_batches(data, strict=False)
    except (CorruptRecord, UnsupportedVersion):
        return
    for header in headers:
        with contextlib.suppress(CorruptRecord, RecordTooLarge):
            list(iter_records(data, header))


# --------------------------------------------------------------------------- snappy framing


def xerial_frame(payload: bytes, block: int = 7) -> bytes:
    """Kafka's xerial snappy stream: magic, version 1, compat 1, length-prefixed raw blocks."""
    out = bytearray(b"\x82SNAPPY\x00" + struct.pack(">ii", 1, 1))
    for start in range(0, len(payload), block):
        chunk = bytes(cramjam.snappy.compress_raw(payload[start : start + block]))
        out += struct.pack(">i", len(chunk)) + chunk
    return bytes(out)


def test_xerial_snappy_is_decoded() -> None:
    plain = build_batch([Record(i, i, b"k%d" % i, b"value-%d" % i) for i in range(5)])
    body = plain[61:]
    buf = bytearray(plain[:61]) + xerial_frame(body)
    struct.pack_into(">h", buf, 21, 2)  # snappy
    struct.pack_into(">i", buf, 8, len(buf) - 12)
    (header,) = read_batches(_rebuild_crc(buf))
    assert [r.value for r in iter_records(buf, header)] == [b"value-%d" % i for i in range(5)]


def test_truncated_xerial_block() -> None:
    framed = xerial_frame(b"x" * 50)
    with pytest.raises(CorruptRecord, match="xerial"):
        records._decompress(2, framed[:-3])


# --------------------------------------------------------------------------- decompression bombs

MIB = 1024 * 1024


def _bomb(codec: int, size: int) -> tuple[bytes, records.BatchHeader]:
    """One record whose value is ``size`` zero bytes: a few KiB once compressed."""
    batch = build_batch([Record(0, 0, b"k", bytes(size))], compression=codec)
    assert len(batch) < size // 10
    (header,) = read_batches(batch)
    return batch, header


@pytest.mark.parametrize("codec", [1, 2, 3, 4])
def test_records_past_the_decompression_limit_are_refused(codec: int) -> None:
    batch, header = _bomb(codec, 2 * MIB)
    with pytest.raises(RecordTooLarge, match=f"decompress to more than {MIB} bytes"):
        list(iter_records(batch, header, max_decompressed_bytes=MIB))
    [record] = iter_records(batch, header, max_decompressed_bytes=3 * MIB)
    assert record.value == bytes(2 * MIB)


@pytest.mark.parametrize("codec", [1, 3, 4])
def test_a_limit_hit_exactly_is_accepted(codec: int) -> None:
    batch, header = _bomb(codec, MIB)
    body_size = len(bytes(records._decompress(codec, batch[61:])))
    assert [r.value for r in iter_records(batch, header, max_decompressed_bytes=body_size)] == [
        bytes(MIB)
    ]
    with pytest.raises(RecordTooLarge):
        list(iter_records(batch, header, max_decompressed_bytes=body_size - 1))


def test_xerial_blocks_count_toward_one_limit() -> None:
    framed = xerial_frame(bytes(4096), block=1024)  # four blocks of 1 KiB
    assert len(bytes(records._decompress(2, framed, 4096))) == 4096
    with pytest.raises(RecordTooLarge, match="snappy"):
        records._decompress(2, framed, 4095)


def test_default_limit_stops_a_large_bomb() -> None:
    batch, header = _bomb(4, DEFAULT_MAX_DECOMPRESSED_BYTES + 1)
    with pytest.raises(RecordTooLarge, match="the limit for one batch"):
        list(iter_records(batch, header))


def test_corrupt_compressed_data_is_still_corrupt_not_too_large() -> None:
    batch, header = _bomb(4, MIB)
    damaged = bytearray(batch)
    damaged[70:80] = b"\xff" * 10
    with pytest.raises(CorruptRecord, match="cannot decompress"):
        list(iter_records(bytes(damaged), header))


def test_decompression_limit_scales_with_max_message_bytes() -> None:
    assert decompression_limit(1000) == DEFAULT_MAX_DECOMPRESSED_BYTES
    assert decompression_limit(MIB) == 64 * MIB
    assert decompression_limit(10 * MIB) == 640 * MIB


# --------------------------------------------------------------------------- interop


def _client_batch(builder_cls, codec: int) -> bytes:
    builder = builder_cls(
        magic=2,
        compression_type=codec,
        is_transactional=0,
        producer_id=7,
        producer_epoch=1,
        base_sequence=10,
        batch_size=1 << 20,
    )
    for i in range(20):
        builder.append(
            offset=i,
            timestamp=1_700_000_000_000 + i,
            key=b"key-%d" % i if i % 3 else None,
            value=(b"value-%d " % i) * 20 if i % 5 else None,
            headers=[("h", b"x"), ("n", None)] if i % 2 else [],
        )
    return bytes(builder.build())


def _expected_records() -> list[Record]:
    return [
        Record(
            i,
            i,
            b"key-%d" % i if i % 3 else None,
            (b"value-%d " % i) * 20 if i % 5 else None,
            [("h", b"x"), ("n", None)] if i % 2 else [],
        )
        for i in range(20)
    ]


@pytest.mark.parametrize("codec", CODECS)
def test_aiokafka_batches_parse(codec: int) -> None:
    from aiokafka.record.default_records import DefaultRecordBatchBuilder

    buf = _client_batch(DefaultRecordBatchBuilder, codec)
    (header,) = read_batches(buf)
    assert header.producer_id == 7 and header.base_sequence == 10
    assert list(iter_records(buf, header)) == _expected_records()


@pytest.mark.parametrize(
    "codec", [0, 1]
)  # kafka-python here has no snappy/lz4/zstd codec installed
def test_kafka_python_batches_parse(codec: int) -> None:
    from kafka.record.default_records import DefaultRecordBatchBuilder

    buf = _client_batch(DefaultRecordBatchBuilder, codec)
    (header,) = read_batches(buf)
    assert list(iter_records(buf, header)) == _expected_records()


@pytest.mark.parametrize("codec", CODECS)
def test_our_batches_parse_in_aiokafka(codec: int) -> None:
    from aiokafka.record.default_records import DefaultRecordBatch

    expected = _expected_records()
    buf = build_batch(expected, base_offset=100, compression=codec, timestamp=1_700_000_000_000)
    batch = DefaultRecordBatch(bytearray(buf))
    assert batch.validate_crc()
    decoded = list(batch)
    assert [(r.offset, r.key, r.value, list(r.headers)) for r in decoded] == [
        (100 + e.offset_delta, e.key, e.value, e.headers) for e in expected
    ]
    assert [r.timestamp for r in decoded] == [1_700_000_000_000 + i for i in range(20)]


@pytest.mark.parametrize("codec", [0, 1])
def test_our_batches_parse_in_kafka_python(codec: int) -> None:
    from kafka.record.default_records import DefaultRecordBatch

    expected = _expected_records()
    buf = build_batch(expected, compression=codec, timestamp=5)
    batch = DefaultRecordBatch(bytearray(buf))
    assert batch.validate_crc()
    assert [(r.offset, r.key, r.value) for r in batch] == [
        (e.offset_delta, e.key, e.value) for e in expected
    ]


def test_public_names() -> None:
    for name in records.__all__:
        assert hasattr(records, name), name


@pytest.mark.parametrize("codec", CODECS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batch_records=record_lists(),
    keep=st.lists(st.booleans(), min_size=8, max_size=8),
    base_sequence=st.one_of(st.just(-1), st.integers(0, 2**31 - 1)),
)
def test_rebuild_batch_keeps_a_dense_subset(
    codec: int, batch_records: list[Record], keep: list[bool], base_sequence: int
) -> None:
    dense = [dataclasses.replace(r, offset_delta=i) for i, r in enumerate(batch_records)]
    original = build_batch(
        dense,
        compression=codec,
        producer_id=9 if base_sequence >= 0 else -1,
        producer_epoch=2 if base_sequence >= 0 else -1,
        base_sequence=base_sequence,
        timestamp=1_000,
    )
    (header,) = read_batches(original)
    kept = [record for record, wanted in zip(dense, keep, strict=False) if wanted]
    if not kept:
        with pytest.raises(ValueError):
            records.rebuild_batch(header, kept)
        return
    rebuilt = records.rebuild_batch(header, kept)
    (new,) = read_batches(rebuilt)  # strict: CRC, count and last offset delta consistent
    assert new.compression == codec
    assert (new.producer_id, new.producer_epoch) == (header.producer_id, header.producer_epoch)
    assert new.last_sequence == header.last_sequence
    assert new.base_timestamp == header.base_timestamp
    decoded = list(iter_records(rebuilt, new))
    assert [r.offset_delta for r in decoded] == list(range(len(kept)))
    assert [(r.key, r.value, r.headers, r.timestamp_delta) for r in decoded] == [
        (r.key, r.value, r.headers, r.timestamp_delta) for r in kept
    ]


@pytest.mark.parametrize(
    "codec", [COMPRESSION_NONE, COMPRESSION_GZIP, COMPRESSION_LZ4, COMPRESSION_ZSTD]
)
def test_first_value_prefix_reads_the_first_value_without_decoding_the_batch(codec: int) -> None:
    records = [Record(i, 0, b"k" * 200, b"\x00\x00\x00\x01\x02" + bytes(5000)) for i in range(50)]
    data = build_batch(records, compression=codec)
    (header,) = read_batches(data)
    assert first_value_prefix(data, header, 5) == b"\x00\x00\x00\x01\x02"


@pytest.mark.parametrize(
    ("record", "codec"),
    [
        (Record(0, 0, None, None), COMPRESSION_NONE),  # null value
        (Record(0, 0, None, b"\x00\x01"), COMPRESSION_NONE),  # shorter than asked
        (Record(0, 0, b"k" * 2000, b"\x00" * 9), COMPRESSION_NONE),
        (Record(0, 0, None, b"\x00" * 9), COMPRESSION_SNAPPY),  # not read cheaply
    ],
)
def test_first_value_prefix_is_none_when_it_cannot_be_read_cheaply(
    record: Record, codec: int
) -> None:
    data = build_batch([record], compression=codec)
    (header,) = read_batches(data)
    assert first_value_prefix(data, header, 5) is None


def test_first_value_prefix_never_raises_on_garbage_records() -> None:
    data = bytearray(build_batch([Record(0, 0, None, b"\x00" * 9)]))
    (header,) = read_batches(bytes(data))
    for fill in (b"\xff", b"\x80", b"\x00"):
        data[BATCH_OVERHEAD:] = fill * (len(data) - BATCH_OVERHEAD)
        assert first_value_prefix(bytes(data), header, 5) is None
