"""Where Charter keeps its data: the data directory made ready, and said in the log.

Light on purpose: ``charter up``'s supervisor uses it before it starts the tiers,
without importing what the tiers are built from.
"""

from __future__ import annotations

import logging

from charter.config import Settings
from charter.errors import StartupError

__all__ = ["ensure_data_dir", "log_storage_locations"]

log = logging.getLogger("charter")


def ensure_data_dir(settings: Settings) -> None:
    """Create the data directory; ``StartupError`` when that is not possible."""
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StartupError(
            f"cannot create the data directory {settings.data_dir}: {exc.strerror or exc}"
        ) from None


def log_storage_locations(settings: Settings) -> None:
    """Say where this Charter keeps its data (the database URL without its password)."""
    log.info(
        "data directory %s; database %s",
        settings.data_dir.resolve(),
        settings.database_display_url,
    )
