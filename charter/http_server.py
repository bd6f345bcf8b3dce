"""Run the HTTP tier under gunicorn (the production WSGI server), one app per worker.

Migrations run once in the master before workers fork, so several workers (or
several hosts over PostgreSQL) never race to create tables.
"""

from __future__ import annotations

import logging
from typing import Any

from gunicorn.app.base import BaseApplication

from charter.config import Settings

__all__ = ["run_http"]

log = logging.getLogger("charter.http")


class _CharterGunicorn(BaseApplication):
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        ready_line = f"HTTP listener ready on http://{settings.host}:{settings.http_port}"

        def when_ready(_server: Any) -> None:
            log.info(ready_line)

        options = {
            "bind": f"{settings.host}:{settings.http_port}",
            "workers": settings.http_workers,
            "worker_class": "gthread",
            "threads": 4,
            "keepalive": 5,
            "graceful_timeout": 10,
            "timeout": 60,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "limit_request_line": 8190,
            "when_ready": when_ready,
            "proc_name": "charter-http",
            # gunicorn 23+ opens one control socket per user by default; several
            # HTTP tiers on one host would share it. Charter has no use for it.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from charter.app import create_app

        return create_app(self.settings)


def run_http(settings: Settings) -> None:
    """Serve the HTTP app until SIGINT/SIGTERM (handled by gunicorn's arbiter)."""
    from charter.app import migrate
    from charter.db import open_database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings.effective_database_url)
    migrate(database)
    database.close()
    _CharterGunicorn(settings).run()
