"""The aborted-transaction index of a partition: one ``.txnindex`` file per segment.

A read_committed consumer needs, for the range it fetches, the producers whose
transactions were aborted there and where each began, so it can drop their
records (Kafka's ``FetchResponse.aborted_transactions``). Kafka keeps these in
a ``.txnindex`` next to each segment; so do we, in Kafka's entry format.

File ``<20-digit segment base offset>.txnindex``: 34-byte entries, big-endian,
in the order the ABORT markers were written::

    version             i16   0
    producer_id         i64
    first_offset        i64   first offset of the aborted transaction in this partition
    last_offset         i64   offset of its ABORT marker
    last_stable_offset  i64   the partition's LSO once this transaction ended

An entry goes into the file of the segment that holds its marker (the active
segment when the marker is appended). Entries are written without fsync; a
segment's file is fsynced when the segment rolls and on close.

``recover()``: a file whose size is not a multiple of 34 is cut at the last
whole entry; files without a ``.log`` are deleted by the partition's directory
tidy-up; after an unclean shutdown the partition drops every entry whose
marker is at or above the offset its producer-state replay starts from
(``truncate_from``), and the replay (``PartitionLog._rebuild_producer_state``)
adds them back from the ABORT markers it reads, so the index always agrees
with the log.
"""

from __future__ import annotations

import os
import struct
from bisect import insort
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from broker.log.files import fsync_directory

__all__ = ["AbortedTxn", "TXN_INDEX_SUFFIX", "TxnIndex"]

TXN_INDEX_SUFFIX = ".txnindex"
_ENTRY = struct.Struct(">hqqqq")


@dataclass(frozen=True, slots=True, order=True)
class AbortedTxn:
    """One aborted transaction of one producer in one partition (ordered by ``last_offset``)."""

    last_offset: int
    producer_id: int
    first_offset: int
    last_stable_offset: int


def _path(directory: Path, segment_base: int) -> Path:
    return directory / f"{segment_base:020d}{TXN_INDEX_SUFFIX}"


def _write_entries(path: Path, entries: list[AbortedTxn], *, durable: bool) -> None:
    """Replace ``path`` with ``entries``; ``durable``: via an fsynced temporary file and rename."""
    body = b"".join(
        _ENTRY.pack(0, e.producer_id, e.first_offset, e.last_offset, e.last_stable_offset)
        for e in entries
    )
    if not durable:
        path.write_bytes(body)
        return
    temporary = path.with_name(path.name + ".tmp")
    with open(temporary, "wb") as handle:
        handle.write(body)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)
    fsync_directory(path.parent)


class TxnIndex:
    """Every ``.txnindex`` of one partition directory, with its entries held in memory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._by_segment: dict[int, list[AbortedTxn]] = {}
        self._all: list[AbortedTxn] = []

    def recover(self, segment_bases: list[int]) -> None:
        """Load the files of ``segment_bases``, cutting torn tails; forget everything else."""
        self._by_segment, self._all = {}, []
        for base in segment_bases:
            path = _path(self.directory, base)
            try:
                raw = path.read_bytes()
            except FileNotFoundError:
                continue
            whole = len(raw) - len(raw) % _ENTRY.size
            if whole != len(raw):
                with open(path, "r+b") as handle:
                    handle.truncate(whole)
            entries = []
            for position in range(0, whole, _ENTRY.size):
                _, pid, first, last, lso = _ENTRY.unpack_from(raw, position)
                entries.append(AbortedTxn(last, pid, first, lso))
            if entries:
                self._by_segment[base] = entries
                for entry in entries:
                    insort(self._all, entry)

    def append(self, segment_base: int, entry: AbortedTxn) -> None:
        """Record an aborted transaction whose marker is in segment ``segment_base``."""
        with open(_path(self.directory, segment_base), "ab") as handle:
            handle.write(
                _ENTRY.pack(
                    0,
                    entry.producer_id,
                    entry.first_offset,
                    entry.last_offset,
                    entry.last_stable_offset,
                )
            )
        self._by_segment.setdefault(segment_base, []).append(entry)
        insort(self._all, entry)

    def contains(self, producer_id: int, last_offset: int) -> bool:
        return any(e.producer_id == producer_id and e.last_offset == last_offset for e in self._all)

    def truncate_from(self, offset: int) -> None:
        """Drop every entry whose marker is at or above ``offset`` (rewriting the files)."""
        self._keep_only(lambda entry: entry.last_offset < offset, durable=False)

    def remove(self, markers: list[tuple[int, int]]) -> None:
        """Drop the entries of these (producer id, marker offset) pairs, durably (compaction
        removes the markers only after this returns)."""
        gone = set(markers)
        self._keep_only(lambda e: (e.producer_id, e.last_offset) not in gone, durable=True)

    def _keep_only(self, keep: Callable[[AbortedTxn], bool], *, durable: bool) -> None:
        for base, entries in list(self._by_segment.items()):
            kept = [entry for entry in entries if keep(entry)]
            if len(kept) == len(entries):
                continue
            path = _path(self.directory, base)
            if kept:
                _write_entries(path, kept, durable=durable)
                self._by_segment[base] = kept
            else:
                del self._by_segment[base]
                path.unlink(missing_ok=True)
        self._all = [entry for entry in self._all if keep(entry)]

    def drop_segment(self, segment_base: int) -> None:
        """Forget (and delete the file of) a segment removed from the log."""
        entries = self._by_segment.pop(segment_base, [])
        if entries:
            dropped = set(entries)
            self._all = [entry for entry in self._all if entry not in dropped]
        _path(self.directory, segment_base).unlink(missing_ok=True)

    def flush(self, segment_base: int) -> None:
        path = _path(self.directory, segment_base)
        if segment_base not in self._by_segment or not path.exists():
            return
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def collect(self, fetch_offset: int, upper_bound: int) -> list[AbortedTxn]:
        """Aborted transactions overlapping [fetch_offset, upper_bound): what a fetch reports."""
        return [
            entry
            for entry in self._all
            if entry.last_offset >= fetch_offset and entry.first_offset < upper_bound
        ]

    def __len__(self) -> int:
        return len(self._all)
