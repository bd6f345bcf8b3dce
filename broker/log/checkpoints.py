"""A partition's checkpoint files: ``log-start-offset`` and ``cleaner-offset-checkpoint``.

Both are small text files replaced atomically (``.tmp`` + fsync + rename +
directory fsync, see ``broker.log.files``) and both are hints that recovery may
lose without losing data, so a missing or unreadable file reads as "absent".

``log-start-offset``: the decimal log start offset and ``"\\n"``.

``cleaner-offset-checkpoint`` (our per-partition take on Kafka's per-directory
file of the same name)::

    1\\n                        format version
    <first dirty offset>\\n     records below it were cleaned by the last pass
    <tombstone expiry ms>\\n    when the oldest tombstone kept by that pass may go; -1: none

Recovery (``read_cleaner_checkpoint``): a file with another version, a
malformed line or a negative offset is ignored, so the next pass treats the
whole log as dirty and cleans it again (always safe, only slower).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from broker.log.files import write_atomically

__all__ = [
    "CLEANER_CHECKPOINT_FILE",
    "CleanerCheckpoint",
    "LOG_START_OFFSET_FILE",
    "read_cleaner_checkpoint",
    "read_log_start_offset",
    "write_cleaner_checkpoint",
    "write_log_start_offset",
]

LOG_START_OFFSET_FILE = "log-start-offset"
CLEANER_CHECKPOINT_FILE = "cleaner-offset-checkpoint"
_CLEANER_VERSION = 1


@dataclass(frozen=True, slots=True)
class CleanerCheckpoint:
    """Where the last completed compaction pass of a partition stopped."""

    first_dirty_offset: int
    tombstone_expiry_ms: int | None


def read_log_start_offset(directory: Path) -> int | None:
    """The checkpointed log start offset, or None when absent or unreadable."""
    try:
        text = (directory / LOG_START_OFFSET_FILE).read_text().strip()
        return int(text) if text else None
    except (FileNotFoundError, ValueError, UnicodeDecodeError):
        return None


def write_log_start_offset(directory: Path, offset: int) -> None:
    write_atomically(directory / LOG_START_OFFSET_FILE, f"{offset}\n".encode())


def read_cleaner_checkpoint(directory: Path) -> CleanerCheckpoint | None:
    """The cleaner checkpoint of ``directory``, or None when absent or unreadable."""
    try:
        lines = (directory / CLEANER_CHECKPOINT_FILE).read_text().split("\n")
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    if len(lines) != 4 or lines[3] != "":
        return None
    try:
        version, first_dirty, expiry = (int(line) for line in lines[:3])
    except ValueError:
        return None
    if version != _CLEANER_VERSION or first_dirty < 0 or expiry < -1:
        return None
    return CleanerCheckpoint(first_dirty, None if expiry == -1 else expiry)


def write_cleaner_checkpoint(directory: Path, checkpoint: CleanerCheckpoint) -> None:
    expiry = -1 if checkpoint.tombstone_expiry_ms is None else checkpoint.tombstone_expiry_ms
    text = f"{_CLEANER_VERSION}\n{checkpoint.first_dirty_offset}\n{expiry}\n"
    write_atomically(directory / CLEANER_CHECKPOINT_FILE, text.encode())
