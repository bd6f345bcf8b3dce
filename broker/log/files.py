"""Small durable-file helpers shared by the log's checkpoint and snapshot writers.

``write_atomically`` is the one way a partition's small state files (checkpoints,
producer snapshots) are replaced: write ``<name>.tmp``, fsync it, rename it over
``<name>`` and (optionally) fsync the directory, so a crash leaves either the old
or the new file and at worst a ``.tmp`` leftover that recovery deletes.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["fsync_directory", "write_all", "write_atomically", "write_durably"]


def fsync_directory(directory: Path) -> None:
    """fsync ``directory`` so renames and unlinks inside it are durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_all(fd: int, data: bytes | bytearray | memoryview) -> None:
    """``os.write`` until every byte of ``data`` is written."""
    view = memoryview(data)
    written = 0
    while written < len(view):
        written += os.write(fd, view[written:])


def write_atomically(path: Path, data: bytes, *, sync_directory: bool = True) -> None:
    """Replace ``path`` with ``data`` via ``<path>.tmp`` + fsync + rename."""
    tmp = path.with_name(path.name + ".tmp")
    write_durably(tmp, data)
    os.replace(tmp, path)
    if sync_directory:
        fsync_directory(path.parent)


def write_durably(path: Path, data: bytes | bytearray | memoryview) -> None:
    """Create or truncate ``path``, write ``data`` and fsync it."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
