"""One installer at a time across test processes (pytest-xdist workers share the machine)."""

from __future__ import annotations

import contextlib
import fcntl
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["installing"]


@contextlib.contextmanager
def installing(what: str) -> Iterator[None]:
    """Hold an exclusive lock named ``what`` (apt-get and npm must not run twice at once)."""
    path = Path(tempfile.gettempdir()) / f"charter-tests-{what}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
