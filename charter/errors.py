"""Errors of the composition root that the command line reports in one line."""

from __future__ import annotations

__all__ = ["StartupError"]


class StartupError(Exception):
    """The data directory or the database cannot be used; one line naming it (no password)."""
