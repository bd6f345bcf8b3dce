"""The ``charter`` command: ``up``, ``serve http``, ``serve broker`` and ``bench``."""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from charter.config import ConfigError, Settings, load_settings

__all__ = ["main"]


def _server_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The flags shared by every command that starts a listener (all optional: None = not given)."""
    options = [
        click.option(
            "--config",
            "config_file",
            type=click.Path(path_type=Path),
            default=None,
            help="charter.toml to read (default: ./charter.toml if present).",
        ),
        click.option(
            "--data-dir",
            type=click.Path(path_type=Path),
            default=None,
            help="Where the SQLite database and the log live [./charter-data].",
        ),
        click.option("--host", default=None, help="Interface to listen on [127.0.0.1]."),
        click.option(
            "--http-port", type=int, default=None, help="Registry/catalog HTTP port [8081]."
        ),
        click.option("--kafka-port", type=int, default=None, help="Kafka listener port [9092]."),
        click.option(
            "--database-url",
            default=None,
            help="postgresql://… for a shared database [SQLite in the data dir].",
        ),
        click.option("--http-workers", type=int, default=None, help="HTTP worker processes [2]."),
        click.option("--log-level", default=None, help="DEBUG, INFO, WARNING, ERROR [INFO]."),
    ]
    for option in reversed(options):
        function = option(function)

    @functools.wraps(function)
    def wrapper(config_file: Path | None, **flags: Any) -> Any:
        try:
            settings = load_settings(flags, config_file=config_file)
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
        _configure_logging(settings)
        return function(settings)

    return wrapper


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )


@click.group()
@click.version_option(package_name="charter")
def main() -> None:
    """Charter: a governed event-streaming platform (registry, broker, catalog)."""


@main.command()
@_server_options
def up(settings: Settings) -> None:
    """Start everything: HTTP app (registry, catalog, UI) and the Kafka listener."""
    from charter.supervisor import run_up

    sys.exit(run_up(settings))


@main.group()
def serve() -> None:
    """Run one tier alone."""


@serve.command("http")
@_server_options
def serve_http(settings: Settings) -> None:
    """The HTTP tier only (stateless; several workers over PostgreSQL)."""
    from charter.http_server import run_http

    run_http(settings)


@serve.command("broker")
@_server_options
def serve_broker(settings: Settings) -> None:
    """The Kafka listener and the gate only."""
    from broker.app import run_broker
    from broker.schemas import SchemaState
    from charter.app import migrate
    from charter.db import open_database
    from charter.events import start_broker_events

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    database = open_database(settings.effective_database_url)
    migrate(database)
    schemas = SchemaState(database)
    retention_s = settings.event_retention_hours * 3600
    events = start_broker_events(database, schemas, retention_s=retention_s)
    try:
        run_broker(settings, database, schemas=schemas)
    finally:
        events.stop()


@main.command()
@click.argument("name", required=False)
def bench(name: str | None) -> None:
    """Run a benchmark from bench/ (all of them when NAME is omitted)."""
    bench_dir = Path.cwd() / "bench"
    if not bench_dir.is_dir():
        raise click.UsageError("bench/ not found: run `charter bench` from a Charter checkout")
    scripts = sorted(bench_dir.glob("*.py")) if name is None else [bench_dir / f"{name}.py"]
    for script in scripts:
        if not script.is_file():
            raise click.UsageError(f"no benchmark named {script.stem!r} in {bench_dir}")
        click.echo(f"== {script.stem}")
        subprocess.run([sys.executable, str(script)], check=True)
