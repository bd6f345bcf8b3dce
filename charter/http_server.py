"""Run the HTTP tier under gunicorn (the production WSGI server), one app per worker.

Migrations run once in the master before workers fork, so several workers (or
several hosts over PostgreSQL) never race to create tables. The listening socket
is bound here, before gunicorn starts, and handed over as a descriptor: a port in
use is one error line (``ListenerError``), never gunicorn's retry loop. gunicorn's
own log lines go through Charter's logging (same format, logger ``gunicorn``), and
"HTTP listener ready" is logged once, by the first worker that has built the app
and is about to accept connections.

With ``tls_cert``/``tls_key`` it serves HTTPS with ``charter.tls``'s context (the
same certificate, CA and client-certificate policy as the Kafka SSL listeners),
and client certificates become principals through ``CertificatePrincipal``.
"""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any

from gunicorn import glogging
from gunicorn.app.base import BaseApplication

from charter import compose
from charter.config import Settings
from charter.listeners import bind_http
from charter.tls import CertificatePrincipal, principal_mapper, server_context, tls_enabled
from governance.security.buckets import SharedBuckets

__all__ = ["run_http"]

log = logging.getLogger("charter.http")


def ready_line(settings: Settings, port: int) -> str:
    scheme = "https" if tls_enabled(settings) else "http"
    return f"HTTP listener ready on {scheme}://{settings.host}:{port}"


class _NameGunicorn(logging.Filter):
    """Report gunicorn's records as logger ``gunicorn`` (not ``gunicorn.error``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.name = "gunicorn"
        return True


class CharterGunicornLogger(glogging.Logger):
    """gunicorn's logger, writing through Charter's handlers and format instead of its own."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for logger in (self.error_log, self.access_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)
            logger.propagate = True
        if not any(isinstance(f, _NameGunicorn) for f in self.error_log.filters):
            self.error_log.addFilter(_NameGunicorn())


class _CharterGunicorn(BaseApplication):
    def __init__(self, settings: Settings, listener_fd: int, port: int) -> None:
        self.settings = settings
        self.listener_fd = listener_fd
        self.port = port
        # Shared with the forked workers: set by the first one ready, so the line appears once
        # (and not again when gunicorn replaces a worker).
        self.announced = multiprocessing.Value("b", 0)
        # One count of each principal's request rate for every worker (docs/security.md).
        self.rate_buckets = SharedBuckets() if settings.http_request_rate > 0 else None
        super().__init__()

    def load_config(self) -> None:
        settings = self.settings
        announced = self.announced
        line = ready_line(settings, self.port)

        def post_worker_init(_worker: Any) -> None:
            with announced.get_lock():
                if announced.value:
                    return
                announced.value = 1
            log.info(line)

        options = {
            "bind": f"fd://{self.listener_fd}",
            "workers": settings.http_workers,
            "worker_class": "gthread",
            "threads": 4,
            "keepalive": 5,
            "graceful_timeout": 10,
            "timeout": 60,
            "accesslog": None,
            "errorlog": "-",
            "loglevel": settings.log_level.lower(),
            "logger_class": CharterGunicornLogger,
            "limit_request_line": 8190,
            "post_worker_init": post_worker_init,
            "proc_name": "charter-http",
            # gunicorn 23+ opens one control socket per user by default; several
            # HTTP tiers on one host would share it. Charter has no use for it.
            "control_socket_disable": True,
        }
        if tls_enabled(settings):
            context = server_context(settings)  # loaded once, shared by every connection
            options.update(
                certfile=settings.tls_cert,
                keyfile=settings.tls_key,
                ssl_context=lambda _config, _default_factory: context,
            )
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from charter.app import create_app

        app = create_app(self.settings, rate_buckets=self.rate_buckets)
        if tls_enabled(self.settings) and self.settings.tls_client_auth != "none":
            app.wsgi_app = CertificatePrincipal(  # type: ignore[method-assign]
                app.wsgi_app, principal_mapper(self.settings)
            )
        return app


def run_http(settings: Settings) -> None:
    """Serve the HTTP app until SIGINT/SIGTERM (handled by gunicorn's arbiter).

    Raises ``ListenerError`` (one line) when the port cannot be bound.
    """
    listener = bind_http(settings.host, settings.http_port)
    port = listener.getsockname()[1]
    database = compose.open_migrated_database(settings)
    database.close()
    # gunicorn takes the descriptor over (and closes it when it stops).
    _CharterGunicorn(settings, listener.detach(), port).run()
