"""The cluster id: generated once per data directory and kept in ``cluster_id`` there.

Format: one line, a 22-character URL-safe base64 UUID as Kafka prints cluster ids.
"""

from __future__ import annotations

import base64
import os
import uuid
from pathlib import Path

__all__ = ["load_or_create_cluster_id"]

FILE_NAME = "cluster_id"


def _new_cluster_id() -> str:
    return base64.urlsafe_b64encode(uuid.uuid4().bytes).decode("ascii").rstrip("=")


def load_or_create_cluster_id(data_dir: Path) -> str:
    """The data directory's cluster id, created (atomically) on first use."""
    path = Path(data_dir) / FILE_NAME
    try:
        existing = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(parents=True, exist_ok=True)
    cluster_id = _new_cluster_id()
    temporary = path.with_suffix(".tmp")
    temporary.write_text(cluster_id + "\n", encoding="ascii")
    os.replace(temporary, path)
    return cluster_id
