"""The cluster id: generated once per data directory and kept in ``cluster_id`` there.

Format: one line, a 22-character URL-safe base64 UUID as Kafka prints cluster ids.
"""

from __future__ import annotations

import base64
import os
import tempfile
import uuid
from pathlib import Path

__all__ = ["load_or_create_cluster_id"]

FILE_NAME = "cluster_id"


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


def load_or_create_cluster_id(data_dir: Path) -> str:
    """The data directory's cluster id, created on first use.

    Safe when several processes start together over one data directory (the broker
    and the HTTP tier under ``charter up``): each writes a candidate to its own
    temporary file and links it into place only if no id is there yet, so every
    process reads the one id that won.
    """
    path = Path(data_dir) / FILE_NAME
    existing = _read(path)
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    descriptor, temporary_name = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=path.parent)
    temporary = Path(temporary_name)
    try:
        with os.fdopen(descriptor, "w", encoding="ascii") as temporary_file:
            temporary_file.write(_new_cluster_id() + "\n")
            temporary_file.flush()
            os.fsync(temporary_file.fileno())
        try:
            os.link(temporary, path)
        except FileExistsError:  # another process was first, unless it left no id at all
            if not _read(path):
                os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        return ""
