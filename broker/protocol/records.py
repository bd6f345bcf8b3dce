"""Kafka record batch v2 (magic 2): parse, verify, decode and build, sans-io.

The layout follows https://kafka.apache.org/documentation/#recordbatch::

    offset  size  field
         0     8  baseOffset            int64
         8     4  batchLength           int32   (bytes after this field)
        12     4  partitionLeaderEpoch  int32
        16     1  magic                 int8    (2)
        17     4  crc                   uint32  CRC-32C of bytes 21..end
        21     2  attributes            int16   bits 0-2 codec, 3 timestamp type,
                                                4 transactional, 5 control
        23     4  lastOffsetDelta       int32
        27     8  baseTimestamp         int64
        35     8  maxTimestamp          int64
        43     8  producerId            int64
        51     2  producerEpoch         int16
        53     4  baseSequence          int32
        57     4  recordsCount          int32
        61     -  records (compressed as one block when the codec is not 0)

``read_batches`` does header-level work only (lengths, magic, CRC) so the
produce hot path never touches individual records; ``iter_records`` decodes
records (decompressing first) when somebody needs them, ``build_batch`` encodes
them, and ``rebuild_batch`` re-frames part of a batch (what the produce gate
keeps when it routes some records elsewhere). Old message sets
(magic 0/1) are refused with ``UnsupportedVersion``: every client we support
sends magic 2 with produce v3+, and refusing (rather than calling the bytes
corrupt) tells the client plainly that its format is the problem.

Decompression is bounded: a batch whose records decompress to more than
``max_decompressed_bytes`` (default ``DEFAULT_MAX_DECOMPRESSED_BYTES``, 64 MiB;
``decompression_limit`` gives a topic's limit from its ``max.message.bytes``)
raises ``RecordTooLarge`` after writing at most that many bytes, so a small
"decompression bomb" cannot exhaust the broker's memory.
"""

from __future__ import annotations

import dataclasses
import struct
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

import cramjam
from crc32c import crc32c

from broker.errors import CorruptRecord, RecordTooLarge, UnsupportedVersion

__all__ = [
    "BATCH_OVERHEAD",
    "BatchHeader",
    "COMPRESSION_GZIP",
    "COMPRESSION_LZ4",
    "COMPRESSION_NONE",
    "COMPRESSION_SNAPPY",
    "COMPRESSION_ZSTD",
    "DEFAULT_MAX_DECOMPRESSED_BYTES",
    "Record",
    "RecordFields",
    "TIMESTAMP_CREATE_TIME",
    "TIMESTAMP_LOG_APPEND_TIME",
    "CONTROL_ABORT",
    "CONTROL_COMMIT",
    "build_batch",
    "build_control_batch",
    "control_type",
    "decompression_limit",
    "first_value_prefix",
    "iter_batches",
    "iter_records",
    "parse_header",
    "record_fields",
    "records_section",
    "read_batches",
    "rebuild_batch",
    "section_fields",
    "set_log_append_time",
    "stamp_base_offset",
]

COMPRESSION_NONE = 0
COMPRESSION_GZIP = 1
COMPRESSION_SNAPPY = 2
COMPRESSION_LZ4 = 3
COMPRESSION_ZSTD = 4

TIMESTAMP_CREATE_TIME = 0
TIMESTAMP_LOG_APPEND_TIME = 1

_ATTR_COMPRESSION_MASK = 0x07
_ATTR_TIMESTAMP_TYPE = 0x08
_ATTR_TRANSACTIONAL = 0x10
_ATTR_CONTROL = 0x20

_HEADER = struct.Struct(">qiibIhiqqqhii")
BATCH_OVERHEAD = _HEADER.size  # 61 bytes before the records
_LOG_OVERHEAD = 12  # baseOffset + batchLength
_CRC_START = 21  # attributes onward is covered by the CRC
_MIN_BATCH_LENGTH = BATCH_OVERHEAD - _LOG_OVERHEAD
_INT32_MAX = 2**31 - 1

# Kafka's xerial snappy framing (org.xerial.snappy.SnappyOutputStream), which
# kafka-python and aiokafka use: magic, version int32, compatible int32, then
# blocks of int32 length + raw snappy data.
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_XERIAL_HEADER_LEN = 16

DEFAULT_MAX_DECOMPRESSED_BYTES = 64 * 1024 * 1024
"""Largest decompressed records section of one batch that ``iter_records`` accepts by default."""
_DECOMPRESSION_RATIO_ALLOWANCE = 64
_FIRST_OUTPUT_GUESS = 64 * 1024


@dataclass(frozen=True, slots=True)
class BatchHeader:
    """The fixed 61-byte header of one record batch and where it sits in its buffer."""

    base_offset: int
    batch_length: int
    partition_leader_epoch: int
    magic: int
    crc: int
    attributes: int
    last_offset_delta: int
    base_timestamp: int
    max_timestamp: int
    producer_id: int
    producer_epoch: int
    base_sequence: int
    records_count: int
    position: int

    @property
    def size(self) -> int:
        """Total bytes of the batch including the 12-byte log overhead."""
        return _LOG_OVERHEAD + self.batch_length

    @property
    def compression(self) -> int:
        """0 none, 1 gzip, 2 snappy, 3 lz4, 4 zstd."""
        return self.attributes & _ATTR_COMPRESSION_MASK

    @property
    def timestamp_type(self) -> int:
        """0 CreateTime, 1 LogAppendTime."""
        return 1 if self.attributes & _ATTR_TIMESTAMP_TYPE else 0

    @property
    def is_transactional(self) -> bool:
        return bool(self.attributes & _ATTR_TRANSACTIONAL)

    @property
    def is_control(self) -> bool:
        return bool(self.attributes & _ATTR_CONTROL)

    @property
    def last_offset(self) -> int:
        return self.base_offset + self.last_offset_delta

    @property
    def last_sequence(self) -> int:
        """Sequence of the last record, wrapping past int32 max as Kafka does; -1 if none."""
        if self.base_sequence < 0:
            return -1
        return _increment_sequence(self.base_sequence, self.last_offset_delta)


@dataclass(frozen=True, slots=True)
class Record:
    """One record of a batch, with offset and timestamp relative to the batch."""

    offset_delta: int
    timestamp_delta: int
    key: bytes | None
    value: bytes | None
    headers: list[tuple[str, bytes | None]] = field(default_factory=list)


def _increment_sequence(sequence: int, increment: int) -> int:
    if sequence > _INT32_MAX - increment:
        return increment - (_INT32_MAX - sequence) - 1
    return sequence + increment


# --------------------------------------------------------------------------- headers


def parse_header(buf: bytes | bytearray | memoryview, position: int = 0) -> BatchHeader:
    """Parse and check the header of the batch at ``position`` without checking the CRC.

    Raises ``CorruptRecord`` for truncated or inconsistent lengths and
    ``UnsupportedVersion`` for magic 0/1 message sets.
    """
    available = len(buf) - position
    if available < _LOG_OVERHEAD + 5:
        raise CorruptRecord(
            f"truncated record batch at byte {position}: {available} bytes left, "
            f"need at least {BATCH_OVERHEAD}"
        )
    magic = buf[position + 16]
    if magic != 2:
        if magic in (0, 1):
            raise UnsupportedVersion(
                f"message format v{magic} (magic {magic}) at byte {position} is not supported; "
                "send record batches with magic 2 (produce v3+)"
            )
        raise CorruptRecord(f"unknown magic byte {magic} in record batch at byte {position}")
    if available < BATCH_OVERHEAD:
        raise CorruptRecord(
            f"truncated record batch header at byte {position}: {available} of "
            f"{BATCH_OVERHEAD} bytes"
        )
    fields = _HEADER.unpack_from(buf, position)
    batch_length = fields[1]
    if batch_length < _MIN_BATCH_LENGTH:
        raise CorruptRecord(
            f"record batch at byte {position} declares length {batch_length}, "
            f"below the minimum {_MIN_BATCH_LENGTH}"
        )
    if batch_length > available - _LOG_OVERHEAD:
        raise CorruptRecord(
            f"record batch at byte {position} declares length {batch_length} but only "
            f"{available - _LOG_OVERHEAD} bytes follow"
        )
    if fields[12] < 0:
        raise CorruptRecord(f"record batch at byte {position} has negative record count")
    if fields[6] < 0:
        raise CorruptRecord(f"record batch at byte {position} has negative last offset delta")
    return BatchHeader(*fields, position)


def _check_crc(view: memoryview, header: BatchHeader) -> None:
    start = header.position + _CRC_START
    actual = crc32c(view[start : header.position + header.size])
    if actual != header.crc:
        raise CorruptRecord(
            f"CRC mismatch in record batch at byte {header.position}: "
            f"stored {header.crc:#010x}, computed {actual:#010x}"
        )


def iter_batches(
    buf: bytes | bytearray | memoryview, position: int = 0, *, verify_crc: bool = True
) -> Iterator[BatchHeader]:
    """Yield each batch header from ``position`` to the end, raising at the first bad one.

    Used by log recovery, which needs to know how far the good prefix reaches
    (the position of the last yielded header plus its size).
    """
    view = memoryview(buf)
    end = len(view)
    while position < end:
        header = parse_header(view, position)
        if verify_crc:
            _check_crc(view, header)
        yield header
        position += header.size


def read_batches(buf: bytes | bytearray | memoryview, *, strict: bool = True) -> list[BatchHeader]:
    """Parse every batch of a produce request's records, checking lengths, magic and CRC.

    With ``strict`` (the produce path) each batch must also be consistent the
    way Kafka's LogValidator demands: at least one record and ``recordsCount ==
    lastOffsetDelta + 1``. Raises ``CorruptRecord`` (or ``UnsupportedVersion``)
    and never returns a partial result.
    """
    headers = list(iter_batches(buf))
    if strict:
        for header in headers:
            if header.records_count == 0:
                raise CorruptRecord(f"record batch at byte {header.position} has no records")
            if header.records_count != header.last_offset_delta + 1:
                raise CorruptRecord(
                    f"record batch at byte {header.position} has {header.records_count} records "
                    f"but last offset delta {header.last_offset_delta}"
                )
    return headers


# --------------------------------------------------------------------------- mutation


def stamp_base_offset(buf: bytearray | memoryview, position: int, base_offset: int) -> None:
    """Write ``base_offset`` into the batch at ``position`` (not covered by the CRC)."""
    struct.pack_into(">q", buf, position, base_offset)


def set_log_append_time(buf: bytearray | memoryview, position: int, timestamp_ms: int) -> None:
    """Mark the batch at ``position`` LogAppendTime with ``timestamp_ms`` and re-CRC it.

    Like Kafka, this sets the timestamp-type attribute bit and the max
    timestamp; every record's timestamp then reads as the max timestamp.
    """
    view = memoryview(buf)
    (attributes,) = struct.unpack_from(">h", view, position + 21)
    struct.pack_into(">h", view, position + 21, attributes | _ATTR_TIMESTAMP_TYPE)
    struct.pack_into(">q", view, position + 35, timestamp_ms)
    (batch_length,) = struct.unpack_from(">i", view, position + 8)
    end = position + _LOG_OVERHEAD + batch_length
    struct.pack_into(">I", view, position + 17, crc32c(view[position + _CRC_START : end]))


# --------------------------------------------------------------------------- varints


def _read_varint(data: memoryview | bytes, pos: int, end: int) -> tuple[int, int]:
    """Zigzag varint (up to 64 bits) at ``pos``; returns (value, next position)."""
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise CorruptRecord("truncated varint in record")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
        shift += 7
        if shift > 63:
            raise CorruptRecord("varint longer than 10 bytes in record")
    return (result >> 1) ^ -(result & 1), pos


def _write_varint(out: bytearray, value: int) -> None:
    encoded = (value << 1) ^ (value >> 63)
    encoded &= 0xFFFFFFFFFFFFFFFF
    while encoded > 0x7F:
        out.append((encoded & 0x7F) | 0x80)
        encoded >>= 7
    out.append(encoded)


# --------------------------------------------------------------------------- codecs


def decompression_limit(max_message_bytes: int) -> int:
    """The decompressed-size limit for a topic: 64 x ``max.message.bytes``, at least 64 MiB."""
    return max(DEFAULT_MAX_DECOMPRESSED_BYTES, _DECOMPRESSION_RATIO_ALLOWANCE * max_message_bytes)


class _OutputTooLarge(Exception):
    """Decompressed data would exceed the limit."""


def _into_growing_buffer(decompress_into, data: bytes, limit: int) -> memoryview:  # noqa: ANN001
    """Run a cramjam ``decompress_into`` with a buffer grown up to ``limit + 1`` bytes.

    cramjam fails with "failed to write whole buffer" when the output does not
    fit, having written no more than the buffer holds; we retry with a buffer
    four times larger until the limit, so memory and work stay bounded.
    """
    size = min(limit + 1, max(_FIRST_OUTPUT_GUESS, 4 * len(data)))
    while True:
        out = bytearray(size)
        try:
            written = decompress_into(data, out)
        except Exception as exc:
            if "failed to write whole buffer" not in str(exc):
                raise
            if size > limit:
                raise _OutputTooLarge from None
            size = min(limit + 1, size * 4)
            continue
        if written > limit:
            raise _OutputTooLarge
        return memoryview(out)[:written]


def _snappy_raw(data: bytes | memoryview, limit: int) -> bytes:
    if cramjam.snappy.decompress_raw_len(data) > limit:  # the length is the block's header
        raise _OutputTooLarge
    return bytes(cramjam.snappy.decompress_raw(data))


def _decompress_xerial_snappy(data: bytes, limit: int) -> bytes:
    out = bytearray()
    pos = _XERIAL_HEADER_LEN
    end = len(data)
    while pos < end:
        if end - pos < 4:
            raise CorruptRecord("truncated xerial snappy block length")
        (block_len,) = struct.unpack_from(">i", data, pos)
        pos += 4
        if block_len < 0 or block_len > end - pos:
            raise CorruptRecord("xerial snappy block length exceeds the data")
        out += _snappy_raw(data[pos : pos + block_len], limit - len(out))
        pos += block_len
    return bytes(out)


_STREAM_CODECS = {
    COMPRESSION_GZIP: cramjam.gzip.decompress_into,
    COMPRESSION_LZ4: cramjam.lz4.decompress_into,
    COMPRESSION_ZSTD: cramjam.zstd.decompress_into,
}


def _decompress(
    codec: int, data: bytes, limit: int = DEFAULT_MAX_DECOMPRESSED_BYTES, position: int = 0
) -> bytes | memoryview:
    """The records section of the batch at ``position``, decompressed to at most ``limit`` bytes."""
    try:
        if codec == COMPRESSION_SNAPPY:
            if data[:8] == _XERIAL_MAGIC:
                return _decompress_xerial_snappy(data, limit)
            return _snappy_raw(data, limit)
        if codec in _STREAM_CODECS:
            return _into_growing_buffer(_STREAM_CODECS[codec], data, limit)
    except _OutputTooLarge:
        raise RecordTooLarge(
            f"records of the {_CODEC_NAMES[codec]} batch at byte {position} decompress to more "
            f"than {limit} bytes, the limit for one batch"
        ) from None
    except CorruptRecord:
        raise
    except Exception as exc:  # cramjam raises DecompressionError and friends
        raise CorruptRecord(f"cannot decompress records ({_CODEC_NAMES[codec]}): {exc}") from None
    raise CorruptRecord(f"unknown compression codec {codec} in record batch attributes")


def _compress(codec: int, data: bytes) -> bytes:
    if codec == COMPRESSION_NONE:
        return data
    if codec == COMPRESSION_GZIP:
        return bytes(cramjam.gzip.compress(data))
    if codec == COMPRESSION_SNAPPY:
        return bytes(cramjam.snappy.compress_raw(data))
    if codec == COMPRESSION_LZ4:
        return bytes(cramjam.lz4.compress(data))
    if codec == COMPRESSION_ZSTD:
        return bytes(cramjam.zstd.compress(data))
    raise ValueError(f"unknown compression codec {codec}")


_CODEC_NAMES = {0: "none", 1: "gzip", 2: "snappy", 3: "lz4", 4: "zstd"}


# --------------------------------------------------------------------------- records


RecordFields = tuple[int, int, "bytes | None", "bytes | None", list[tuple[str, "bytes | None"]]]
"""A decoded record as a plain tuple: (offset_delta, timestamp_delta, key, value, headers)."""


def iter_records(
    buf: bytes | bytearray | memoryview,
    header: BatchHeader,
    *,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> Iterator[Record]:
    """Decode the records of the batch ``header`` describes, decompressing first.

    Raises ``CorruptRecord`` naming the problem on any malformed record, on a
    record count that does not match the data, or on trailing bytes, and
    ``RecordTooLarge`` when compressed records would decompress to more than
    ``max_decompressed_bytes``.
    """
    for fields in _scan(records_section(buf, header, max_decompressed_bytes), header):
        yield Record(*fields)


def record_fields(
    buf: bytes | bytearray | memoryview,
    header: BatchHeader,
    *,
    max_decompressed_bytes: int = DEFAULT_MAX_DECOMPRESSED_BYTES,
) -> list[RecordFields]:
    """The records of the batch as tuples (``RecordFields``), checked as ``iter_records`` checks.

    What the produce gate reads: no ``Record`` object per record.
    """
    return section_fields(records_section(buf, header, max_decompressed_bytes), header)


def section_fields(section: bytes, header: BatchHeader) -> list[RecordFields]:
    """The records of a batch's ``records_section`` as tuples, checked as ``record_fields``."""
    return list(_scan(section, header))


def records_section(
    buf: bytes | bytearray | memoryview, header: BatchHeader, max_decompressed_bytes: int
) -> bytes:
    """The bytes of the batch's records (after its 61-byte header), decompressed.

    Raises ``CorruptRecord`` when the batch extends past ``buf`` or does not
    decompress, ``RecordTooLarge`` past ``max_decompressed_bytes``.
    """
    view = memoryview(buf)
    start = header.position + BATCH_OVERHEAD
    end = header.position + header.size
    if end > len(view):
        raise CorruptRecord(f"record batch at byte {header.position} extends past the buffer")
    codec = header.compression
    if codec != COMPRESSION_NONE:
        data = _decompress(codec, bytes(view[start:end]), max_decompressed_bytes, header.position)
        return data if type(data) is bytes else bytes(data)
    return bytes(view[start:end])  # one copy; slicing bytes then copies each field once


def _scan(data: bytes, header: BatchHeader) -> Iterator[RecordFields]:
    pos, end = 0, len(data)
    for index in range(header.records_count):
        try:
            fields, pos = _read_record(data, pos, end)
        except CorruptRecord as exc:
            raise CorruptRecord(
                f"record {index} of batch at byte {header.position}: {exc.message}"
            ) from None
        yield fields
    if pos != end:
        raise CorruptRecord(
            f"record batch at byte {header.position} has {end - pos} bytes after its "
            f"{header.records_count} records"
        )


_ZIGZAG = tuple((byte >> 1) ^ -(byte & 1) for byte in range(128))

_PREFIX_WINDOW = 1024  # how much of the records section ``first_value_prefix`` reads


def first_value_prefix(
    buf: bytes | bytearray | memoryview, header: BatchHeader, size: int
) -> bytes | None:
    """The first ``size`` bytes of the value of the batch's first record, read cheaply.

    Only the first KiB of the records section is read (decompressed, for gzip,
    lz4 and zstd, only that far). None when the value is null or shorter than
    ``size``, the first record does not fit that window, the batch is
    snappy-compressed, or the bytes are malformed: this never raises, since
    batches the gate does not inspect are appended unchecked.
    """
    start = header.position + BATCH_OVERHEAD
    end = min(header.position + header.size, len(buf))
    if header.records_count <= 0 or start >= end:
        return None
    codec = header.compression
    try:
        if codec == COMPRESSION_NONE:  # read in place
            data: bytes | bytearray | memoryview = buf
            pos, end = start, min(end, start + _PREFIX_WINDOW)
        elif codec in _STREAM_CODECS:
            data = bytearray(_PREFIX_WINDOW)
            try:
                pos, end = 0, _STREAM_CODECS[codec](memoryview(buf)[start:end], data)
            except Exception as exc:  # cramjam filled the window and had more
                if "failed to write whole buffer" not in str(exc):
                    return None
                pos, end = 0, _PREFIX_WINDOW
        else:
            return None
        length, pos = _read_small(data, pos, end)
        end = min(end, pos + length)
        pos += 1  # attributes
        _, pos = _read_small(data, pos, end)  # timestamp delta
        _, pos = _read_small(data, pos, end)  # offset delta
        key_length, pos = _read_small(data, pos, end)
        pos += max(key_length, 0)
        value_length, pos = _read_small(data, pos, end)
    except (CorruptRecord, IndexError):
        return None
    if value_length < size or pos + size > end:
        return None
    return bytes(data[pos : pos + size])


def _read_bytes(data: bytes, pos: int, end: int, what: str) -> tuple[bytes | None, int]:
    if pos < end and data[pos] < 0x80:
        length = _ZIGZAG[data[pos]]
        pos += 1
    else:
        length, pos = _read_varint(data, pos, end)
    if length < 0:
        if length != -1:
            raise CorruptRecord(f"negative {what} length {length}")
        return None, pos
    if length > end - pos:
        raise CorruptRecord(f"{what} length {length} exceeds the record")
    return data[pos : pos + length], pos + length


def _read_small(data: bytes, pos: int, end: int) -> tuple[int, int]:
    """A varint as ``_read_varint`` reads it, one- and two-byte ones without a loop."""
    if pos + 1 < end:
        first = data[pos]
        if first < 0x80:
            return _ZIGZAG[first], pos + 1
        second = data[pos + 1]
        if second < 0x80:
            value = (first & 0x7F) | (second << 7)
            return (value >> 1) ^ -(value & 1), pos + 2
    return _read_varint(data, pos, end)


def _read_record(data: bytes, pos: int, end: int) -> tuple[RecordFields, int]:
    length, pos = _read_small(data, pos, end)
    if length < 0 or length > end - pos:
        raise CorruptRecord(f"record length {length} does not fit the batch")
    record_end = pos + length
    if pos >= record_end:
        raise CorruptRecord("empty record")
    pos += 1  # attributes: unused
    timestamp_delta, pos = _read_small(data, pos, record_end)
    offset_delta, pos = _read_small(data, pos, record_end)
    key, pos = _read_bytes(data, pos, record_end, "key")
    value, pos = _read_bytes(data, pos, record_end, "value")
    if pos < record_end and data[pos] == 0:
        header_count = 0
        pos += 1
    else:
        header_count, pos = _read_varint(data, pos, record_end)
    if header_count < 0 or header_count > record_end - pos:
        raise CorruptRecord(f"invalid header count {header_count}")
    headers: list[tuple[str, bytes | None]] = []
    for _ in range(header_count):
        raw_name, pos = _read_bytes(data, pos, record_end, "header key")
        if raw_name is None:
            raise CorruptRecord("null header key")
        try:
            name = raw_name.decode("utf-8")
        except UnicodeDecodeError:
            raise CorruptRecord("header key is not valid UTF-8") from None
        header_value, pos = _read_bytes(data, pos, record_end, "header value")
        headers.append((name, header_value))
    if pos != record_end:
        raise CorruptRecord(
            f"record declares {length} bytes but its fields use {pos - record_end + length}"
        )
    return (offset_delta, timestamp_delta, key, value, headers), pos


def _encode_record(out: bytearray, record: Record) -> None:
    body = bytearray(b"\x00")
    _write_varint(body, record.timestamp_delta)
    _write_varint(body, record.offset_delta)
    for blob in (record.key, record.value):
        if blob is None:
            _write_varint(body, -1)
        else:
            _write_varint(body, len(blob))
            body += blob
    _write_varint(body, len(record.headers))
    for name, header_value in record.headers:
        encoded_name = name.encode("utf-8")
        _write_varint(body, len(encoded_name))
        body += encoded_name
        if header_value is None:
            _write_varint(body, -1)
        else:
            _write_varint(body, len(header_value))
            body += header_value
    _write_varint(out, len(body))
    out += body


def build_batch(
    records: Iterable[Record],
    *,
    base_offset: int = 0,
    compression: int = COMPRESSION_NONE,
    producer_id: int = -1,
    producer_epoch: int = -1,
    base_sequence: int = -1,
    timestamp: int | None = None,
    is_transactional: bool = False,
    is_control: bool = False,
    partition_leader_epoch: int = -1,
    timestamp_type: int = TIMESTAMP_CREATE_TIME,
    last_offset_delta: int | None = None,
    max_timestamp: int | None = None,
) -> bytes:
    """Encode ``records`` as one magic-2 batch with a correct CRC.

    ``timestamp`` is the base timestamp (default: now); each record's
    ``timestamp_delta`` and ``offset_delta`` are taken as given.
    ``last_offset_delta`` and ``max_timestamp`` default to the largest of the
    records' and may be overridden (the compactor keeps a batch's original last
    offset so producer sequence bookkeeping survives cleaning).
    """
    record_list = list(records)
    base_timestamp = int(time.time() * 1000) if timestamp is None else timestamp
    body = bytearray()
    for record in record_list:
        _encode_record(body, record)
    if last_offset_delta is None:
        last_offset_delta = max((r.offset_delta for r in record_list), default=0)
    if max_timestamp is None:
        max_timestamp = base_timestamp + max((r.timestamp_delta for r in record_list), default=0)
    attributes = compression & _ATTR_COMPRESSION_MASK
    if timestamp_type == TIMESTAMP_LOG_APPEND_TIME:
        attributes |= _ATTR_TIMESTAMP_TYPE
    if is_transactional:
        attributes |= _ATTR_TRANSACTIONAL
    if is_control:
        attributes |= _ATTR_CONTROL
    payload = _compress(compression, bytes(body))
    batch = bytearray(BATCH_OVERHEAD + len(payload))
    _HEADER.pack_into(
        batch,
        0,
        base_offset,
        len(batch) - _LOG_OVERHEAD,
        partition_leader_epoch,
        2,
        0,
        attributes,
        last_offset_delta,
        base_timestamp,
        max_timestamp,
        producer_id,
        producer_epoch,
        base_sequence,
        len(record_list),
    )
    batch[BATCH_OVERHEAD:] = payload
    struct.pack_into(">I", batch, 17, crc32c(memoryview(batch)[_CRC_START:]))
    return bytes(batch)


def rebuild_batch(header: BatchHeader, kept: Sequence[Record]) -> bytes:
    """A new batch of ``kept`` (records of the batch ``header`` describes, in order).

    Offset deltas are renumbered densely from 0, so the records take consecutive
    offsets; timestamps, codec, producer id/epoch, flags and leader epoch are
    kept. An idempotent batch's base sequence moves up by the number of records
    dropped so that its last sequence stays the original's: the producer's next
    batch follows on, and a log recovered from disk rebuilds the same producer
    state (``PartitionLog.append(first_sequence=...)`` checks the original range).
    """
    if not kept:
        raise ValueError("a rebuilt batch needs at least one record")
    dropped = header.records_count - len(kept)
    base_sequence = (
        _increment_sequence(header.base_sequence, dropped) if header.base_sequence >= 0 else -1
    )
    return build_batch(
        [dataclasses.replace(record, offset_delta=delta) for delta, record in enumerate(kept)],
        base_offset=header.base_offset,
        compression=header.compression,
        producer_id=header.producer_id,
        producer_epoch=header.producer_epoch,
        base_sequence=base_sequence,
        timestamp=header.base_timestamp,
        is_transactional=header.is_transactional,
        partition_leader_epoch=header.partition_leader_epoch,
        timestamp_type=header.timestamp_type,
    )


# --------------------------------------------------------------------------- control batches

CONTROL_ABORT = 0
CONTROL_COMMIT = 1
_CONTROL_KEY = struct.Struct(">hh")  # version 0, type
_CONTROL_VALUE = struct.Struct(">hi")  # version 0, coordinator epoch


def build_control_batch(
    producer_id: int,
    producer_epoch: int,
    *,
    commit: bool,
    coordinator_epoch: int = 0,
    timestamp: int | None = None,
) -> bytes:
    """A transaction marker: a control batch of one record (Kafka's ``EndTransactionMarker``).

    Key: version int16 (0), type int16 (0 ABORT, 1 COMMIT); value: version
    int16 (0), coordinator epoch int32. Transactional and control bits set,
    base sequence -1.
    """
    marker = CONTROL_COMMIT if commit else CONTROL_ABORT
    return build_batch(
        [
            Record(
                0,
                0,
                _CONTROL_KEY.pack(0, marker),
                _CONTROL_VALUE.pack(0, coordinator_epoch),
            )
        ],
        producer_id=producer_id,
        producer_epoch=producer_epoch,
        timestamp=timestamp,
        is_transactional=True,
        is_control=True,
    )


def control_type(buf: bytes | bytearray | memoryview, header: BatchHeader) -> int | None:
    """``CONTROL_ABORT``/``CONTROL_COMMIT`` for a marker batch, None for other control batches."""
    if not header.is_control:
        return None
    for record in iter_records(buf, header):
        if record.key is None or len(record.key) < _CONTROL_KEY.size:
            return None
        _, marker = _CONTROL_KEY.unpack_from(record.key)
        return marker if marker in (CONTROL_ABORT, CONTROL_COMMIT) else None
    return None
