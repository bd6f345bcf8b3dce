"""One log segment: ``<20-digit base offset>.log`` plus its ``.index`` and ``.timeindex``.

File format of ``.log``: record batches (magic 2, see ``broker.protocol.records``) back
to back, byte-for-byte as the producer sent them except that the broker
stamped each batch's base offset (and, for LogAppendTime topics, the
timestamp-type bit, max timestamp and CRC). Base offsets strictly increase;
after compaction there may be gaps between one batch's last offset and the
next batch's base offset. Nothing else is in the file: no header, no footer.

Recovery (``Segment.load(..., recover=True)``) walks the batches from the
start, verifying lengths and CRC-32C, and truncates the file at the first
batch that is incomplete or corrupt (a torn write), then rebuilds both
indexes. Without ``recover`` only the indexes are checked and rebuilt if they
are missing or inconsistent.
"""

from __future__ import annotations

import contextlib
import mmap
import os
import struct
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from broker.errors import CorruptRecord, UnsupportedVersion
from broker.log.files import fsync_directory, write_durably
from broker.log.index import OffsetIndex
from broker.log.time_index import TimeIndex
from broker.protocol.records import BatchHeader, iter_batches

__all__ = ["CLEANED_SUFFIX", "Segment", "segment_file_name"]

CLEANED_SUFFIX = ".cleaned"

_PEEK = struct.Struct(">qi")  # base offset, batch length
_LAST_DELTA = struct.Struct(">i")  # at +23
_MAX_TS = struct.Struct(">q")  # at +35
_IOV_MAX = 1024  # buffers one pwritev takes on Linux
_SCAN_WINDOW = 64 * 1024


def segment_file_name(base_offset: int, suffix: str) -> str:
    """``00000000000000000042.log`` style names, as Kafka uses."""
    return f"{base_offset:020d}{suffix}"


class Segment:
    """An open segment; appends go through ``append``, reads through ``os.pread``."""

    def __init__(self, directory: Path, base_offset: int, index_interval_bytes: int) -> None:
        self.directory = directory
        self.base_offset = base_offset
        self.index_interval_bytes = index_interval_bytes
        self.log_path = directory / segment_file_name(base_offset, ".log")
        self.index_path = directory / segment_file_name(base_offset, ".index")
        self.time_index_path = directory / segment_file_name(base_offset, ".timeindex")
        self.fd = -1
        self.size = 0
        self.next_offset = base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = base_offset
        self.first_batch_timestamp: int | None = None
        self.bytes_since_index = 0
        self.created_ms = int(time.time() * 1000)
        self.index: OffsetIndex
        self.time_index: TimeIndex

    # ------------------------------------------------------------------ lifecycle

    @classmethod
    def create(cls, directory: Path, base_offset: int, index_interval_bytes: int) -> Segment:
        segment = cls(directory, base_offset, index_interval_bytes)
        segment.fd = os.open(segment.log_path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        segment.index = OffsetIndex.create(segment.index_path, base_offset, [])
        segment.time_index = TimeIndex.create(segment.time_index_path, base_offset, [])
        return segment

    @classmethod
    def load(
        cls, directory: Path, base_offset: int, index_interval_bytes: int, *, recover: bool
    ) -> tuple[Segment, int]:
        """Open an existing segment; returns it and the number of torn bytes truncated."""
        segment = cls(directory, base_offset, index_interval_bytes)
        segment.fd = os.open(segment.log_path, os.O_RDWR)
        segment.size = os.fstat(segment.fd).st_size
        if recover:
            return segment, segment._recover()
        index = OffsetIndex.load(segment.index_path, base_offset, segment.size)
        if index is None or not segment._index_points_at_batches(index):
            if index is not None:
                index.close()
            return segment, segment._recover()
        segment.index = index
        tail_start = index.last()[1] if len(index) else 0
        try:
            for header in segment.headers_from(tail_start, verify_crc=False):
                segment._track(header)
        except (CorruptRecord, UnsupportedVersion):
            index.close()
            return segment, segment._recover()
        time_index = TimeIndex.load(segment.time_index_path, base_offset, segment.next_offset)
        if time_index is None:
            index.close()
            return segment, segment._recover()
        segment.time_index = time_index
        last_ts = time_index.last_timestamp()
        if last_ts is not None and last_ts > segment.max_timestamp:
            segment.max_timestamp = last_ts
        if len(index) or segment.size:
            segment.first_batch_timestamp = segment._first_batch_max_timestamp()
        return segment, 0

    def _index_points_at_batches(self, index: OffsetIndex) -> bool:
        last = index.last()
        if last is None:
            return True
        offset, position = last
        raw = os.pread(self.fd, _PEEK.size, position)
        return len(raw) == _PEEK.size and _PEEK.unpack(raw)[0] == offset

    def _first_batch_max_timestamp(self) -> int | None:
        raw = os.pread(self.fd, 43, 0)
        if len(raw) < 43:
            return None
        (timestamp,) = _MAX_TS.unpack_from(raw, 35)
        return timestamp

    def _recover(self) -> int:
        """Scan every batch with CRC checks, truncate a torn tail, rebuild both indexes."""
        self.next_offset = self.base_offset
        self.max_timestamp = -1
        self.offset_of_max_timestamp = self.base_offset
        self.first_batch_timestamp = None
        self.bytes_since_index = 0
        offset_entries: list[tuple[int, int]] = []
        time_entries: list[tuple[int, int]] = []
        valid_end = 0
        try:
            for header in self.headers_from(0, verify_crc=True):
                self._plan_index(header, offset_entries, time_entries)
                self._track(header)
                valid_end = header.position + header.size
        except (CorruptRecord, UnsupportedVersion):
            pass
        truncated = self.size - valid_end
        if truncated:
            os.ftruncate(self.fd, valid_end)
            os.fsync(self.fd)
            self.size = valid_end
        self.index = OffsetIndex.create(self.index_path, self.base_offset, offset_entries)
        self.time_index = TimeIndex.create(self.time_index_path, self.base_offset, time_entries)
        return truncated

    def flush(self) -> None:
        os.fsync(self.fd)
        self.index.flush()
        self.time_index.flush()

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1
        self.index.close()
        self.time_index.close()

    def delete(self) -> None:
        """Close and unlink the files (indexes first: an orphan index is cleaned at recovery)."""
        self.close()
        for path in (self.index_path, self.time_index_path, self.log_path):
            path.unlink(missing_ok=True)

    def seal(self) -> None:
        """Called when the segment stops being active: final time-index entry, then fsync."""
        if self.max_timestamp >= 0:
            self.time_index.maybe_append(self.max_timestamp, self.offset_of_max_timestamp)
        self.flush()

    @property
    def largest_timestamp(self) -> int:
        """The largest batch timestamp; the file's modification time when none has one (Kafka's rule)."""
        if self.max_timestamp >= 0:
            return self.max_timestamp
        try:
            return int(self.log_path.stat().st_mtime * 1000)
        except FileNotFoundError:
            return 0

    # ------------------------------------------------------------------ compaction

    def cleaned_paths(self) -> tuple[Path, Path, Path]:
        """Where a cleaned replacement is prepared: ``<name>.cleaned`` for the log and both indexes."""
        return tuple(  # type: ignore[return-value]
            path.with_name(path.name + CLEANED_SUFFIX)
            for path in (self.log_path, self.index_path, self.time_index_path)
        )

    def write_cleaned(self, content: bytes, mtime_ms: int) -> None:
        """Prepare ``content`` as this (closed) segment's replacement, without touching it.

        Writes ``.log.cleaned`` (fsynced, modification time ``mtime_ms``) and its
        ready-made ``.index.cleaned``/``.timeindex.cleaned``, so ``install_cleaned``
        only renames. Safe to run while the segment is read: nothing of it changes.
        """
        planner = Segment(self.directory, self.base_offset, self.index_interval_bytes)
        offset_entries: list[tuple[int, int]] = []
        time_entries: list[tuple[int, int]] = []
        for header in iter_batches(content, verify_crc=False):
            planner._plan_index(header, offset_entries, time_entries)
            planner._track(header)
        largest = planner.max_timestamp
        if largest >= 0 and (not time_entries or largest > time_entries[-1][0]):
            time_entries.append((largest, planner.offset_of_max_timestamp))  # what seal() adds
        log_path, index_path, time_index_path = self.cleaned_paths()
        write_durably(log_path, content)
        os.utime(log_path, ns=(mtime_ms * 1_000_000, mtime_ms * 1_000_000))
        index_path.write_bytes(OffsetIndex.encode(self.base_offset, offset_entries))
        time_index_path.write_bytes(TimeIndex.encode(self.base_offset, time_entries))

    def discard_cleaned(self) -> None:
        """Remove a prepared replacement that will not be installed."""
        for path in self.cleaned_paths():
            path.unlink(missing_ok=True)

    def install_cleaned(self) -> Segment:
        """Swap the prepared replacement in; closes this segment and returns the new one.

        Order matters for crash safety: the old indexes go first, then the
        ``.log.cleaned`` rename (the commit point), then the new indexes. A crash
        before the rename leaves the old log (indexes rebuilt, ``*.cleaned``
        deleted by recovery); after it, the new log (indexes rebuilt if missing).
        """
        log_path, index_path, time_index_path = self.cleaned_paths()
        self.close()
        self.index_path.unlink(missing_ok=True)
        self.time_index_path.unlink(missing_ok=True)
        os.replace(log_path, self.log_path)
        os.replace(index_path, self.index_path)
        os.replace(time_index_path, self.time_index_path)
        fsync_directory(self.directory)
        fresh, _ = Segment.load(
            self.directory, self.base_offset, self.index_interval_bytes, recover=False
        )
        # Cleaning may drop the last batch; the offsets it held stay used.
        fresh.next_offset = max(fresh.next_offset, self.next_offset)
        return fresh

    # ------------------------------------------------------------------ writing

    def _track(self, header: BatchHeader) -> None:
        if self.first_batch_timestamp is None:
            self.first_batch_timestamp = header.max_timestamp
        if header.max_timestamp > self.max_timestamp:
            self.max_timestamp = header.max_timestamp
            self.offset_of_max_timestamp = header.base_offset
        self.next_offset = header.last_offset + 1

    def _plan_index(
        self,
        header: BatchHeader,
        offset_entries: list[tuple[int, int]],
        time_entries: list[tuple[int, int]],
    ) -> None:
        """Decide index entries for a batch about to be tracked (shared by append and rebuild)."""
        if self.bytes_since_index >= self.index_interval_bytes:
            offset_entries.append((header.base_offset, header.position))
            running_max, max_offset = self.max_timestamp, self.offset_of_max_timestamp
            if header.max_timestamp > running_max:
                running_max, max_offset = header.max_timestamp, header.base_offset
            if running_max >= 0 and (not time_entries or running_max > time_entries[-1][0]):
                time_entries.append((running_max, max_offset))
            self.bytes_since_index = 0
        self.bytes_since_index += header.size

    def append(
        self, data: Sequence[bytes | bytearray | memoryview], headers: list[BatchHeader]
    ) -> None:
        """Write the buffers ``data`` back to back (one ``pwritev``) at the end of the segment.

        Together they hold the batches described by ``headers``, whose positions
        are relative to the start of ``data``.
        """
        start = self.size
        total = sum(len(buffer) for buffer in data)
        if len(data) > _IOV_MAX:
            data = [b"".join(data)]
        written = os.pwritev(self.fd, data, start)
        if written < total:  # a short write (a signal, a full disk): write the rest plainly
            rest = memoryview(b"".join(data))
            while written < total:
                written += os.pwrite(self.fd, rest[written:], start + written)
        offset_entries: list[tuple[int, int]] = []
        time_entries: list[tuple[int, int]] = []
        for header in headers:
            placed = _relocated(header, start)
            self._plan_index(placed, offset_entries, time_entries)
            self._track(placed)
        self.size = start + total
        for offset, position in offset_entries:
            self.index.append(offset, position)
        for timestamp, offset in time_entries:
            self.time_index.maybe_append(timestamp, offset)

    def truncate_tail_after_failed_write(self, size: int) -> None:
        """Undo a partial write so the file ends at the last acknowledged batch."""
        os.ftruncate(self.fd, size)
        self.size = size

    # ------------------------------------------------------------------ reading

    def headers_from(self, position: int, *, verify_crc: bool) -> Iterator[BatchHeader]:
        """Yield batch headers from ``position`` to the end (raises at a bad batch)."""
        if position >= self.size:
            return
        mapped = mmap.mmap(self.fd, self.size, access=mmap.ACCESS_READ)
        try:
            yield from iter_batches(mapped, position, verify_crc=verify_crc)
        finally:
            # a view may still be alive; garbage collection closes the map then
            with contextlib.suppress(BufferError):
                mapped.close()

    def read_at(self, position: int, size: int) -> bytes:
        return os.pread(self.fd, size, position)

    def find_position(self, offset: int) -> int | None:
        """Position of the first batch whose last offset is >= ``offset``; None past the end."""
        position = self.index.lookup(offset)
        while position < self.size:
            window = os.pread(self.fd, min(_SCAN_WINDOW, self.size - position), position)
            cursor = 0
            while cursor + 27 <= len(window):
                base_offset, batch_length = _PEEK.unpack_from(window, cursor)
                (last_delta,) = _LAST_DELTA.unpack_from(window, cursor + 23)
                if base_offset + last_delta >= offset:
                    return position + cursor
                cursor += 12 + batch_length
            if cursor == 0:  # a single batch header straddles nothing: malformed
                return None
            position += cursor
        return None

    def batch_ends(self, position: int, limit: int, max_offset: int | None) -> int:
        """End position of whole batches from ``position`` within ``limit`` bytes (at least one).

        Batches whose base offset is >= ``max_offset`` are excluded; the result
        equals ``position`` when none qualifies.
        """
        end = position
        window_start = position
        window = b""
        first = True
        while end < self.size:
            cursor = end - window_start
            if cursor + 12 > len(window):
                window_start = end
                window = os.pread(self.fd, min(_SCAN_WINDOW, self.size - end), end)
                cursor = 0
                if len(window) < 12:
                    break
            base_offset, batch_length = _PEEK.unpack_from(window, cursor)
            if max_offset is not None and base_offset >= max_offset:
                break
            batch_end = end + 12 + batch_length
            if not first and batch_end - position > limit:
                break
            end = batch_end
            first = False
        return end


def _relocated(header: BatchHeader, start: int) -> BatchHeader:
    return BatchHeader(
        header.base_offset,
        header.batch_length,
        header.partition_leader_epoch,
        header.magic,
        header.crc,
        header.attributes,
        header.last_offset_delta,
        header.base_timestamp,
        header.max_timestamp,
        header.producer_id,
        header.producer_epoch,
        header.base_sequence,
        header.records_count,
        header.position + start,
    )
