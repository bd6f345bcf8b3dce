"""The ``charter`` command: ``up``, ``serve http``, ``serve broker``, ``catalog reindex``, ``bench``.

Each command offers only the flags of the listeners it starts; every flag is also
settable in ``charter.toml`` and ``CHARTER_*`` variables (``charter.config``).
Problems a user can fix (bad setting, port in use) end in one line and a non-zero
exit code, never a traceback.
"""

from __future__ import annotations

import functools
import logging
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from charter import security_cli
from charter.config import LOG_LEVELS, ConfigError, Settings, load_settings
from charter.errors import StartupError
from charter.listeners import ListenerError

__all__ = ["main"]

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

_COMMON_OPTIONS = [
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
        "--database-url",
        default=None,
        help="postgresql://… for a shared database [SQLite in the data dir].",
    ),
    click.option(
        "--auth/--no-auth",
        default=None,
        help="Require authentication on every listener (docs/security.md) [off].",
    ),
    click.option(
        "--log-level",
        type=click.Choice(LOG_LEVELS, case_sensitive=False),
        default=None,
        help="How much to log [INFO].",
    ),
]
_HTTP_OPTIONS = [
    click.option("--http-port", type=int, default=None, help="Schema registry HTTP port [8081]."),
    click.option("--http-workers", type=int, default=None, help="HTTP worker processes [2]."),
]
_KAFKA_OPTIONS = [
    click.option("--kafka-port", type=int, default=None, help="Kafka listener port [9092]."),
]
_TLS_OPTIONS = [
    click.option(
        "--tls-cert",
        default=None,
        help="PEM certificate: HTTPS, and the SSL/SASL_SSL Kafka listeners (docs/security.md).",
    ),
    click.option("--tls-key", default=None, help="PEM private key of --tls-cert."),
    click.option("--tls-ca", default=None, help="PEM CA bundle client certificates chain to."),
    click.option(
        "--tls-client-auth",
        type=click.Choice(["none", "requested", "required"]),
        default=None,
        help="Ask clients for certificates (mTLS principals) [none].",
    ),
]
_LISTENER_OPTIONS = [
    click.option(
        "--listeners",
        default=None,
        help="Kafka listeners NAME://host:port,… e.g. PLAINTEXT://127.0.0.1:9092,"
        "SASL_SSL://0.0.0.0:9093 [one on --host:--kafka-port].",
    ),
    click.option(
        "--advertised-listeners",
        default=None,
        help="NAME://host:port,… given to clients of each listener in Metadata.",
    ),
    click.option(
        "--oauth-jwks",
        default=None,
        help="JWKS file or URL: enables SASL/OAUTHBEARER and Bearer JWTs on HTTP.",
    ),
]
# Set by `charter up` on its children, so only the supervisor logs the start-up summary.
_SUPERVISED_OPTION = click.option("--supervised", is_flag=True, hidden=True)


def _settings_command(*option_groups: list[Callable[..., Any]]) -> Callable[..., Any]:
    """Decorate a command taking ``Settings``: add the options, build settings, set up logging.

    Options left out are "not given" (None), so defaults, charter.toml and
    CHARTER_* still apply to them.
    """

    def decorate(function: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(function)
        def wrapper(config_file: Path | None, **flags: Any) -> Any:
            supervised = flags.pop("supervised", False)
            try:
                settings = load_settings(flags, config_file=config_file)
            except ConfigError as exc:
                raise click.UsageError(str(exc)) from None
            _configure_logging(settings)
            try:
                if supervised:
                    return function(settings, supervised=True)
                return function(settings)
            except (ListenerError, ConfigError, StartupError) as exc:
                raise click.ClickException(str(exc)) from None

        command = wrapper
        for option in reversed([opt for group in option_groups for opt in group]):
            command = option(command)
        return command

    return decorate


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(level=settings.log_level, format=LOG_FORMAT, stream=sys.stderr)


@click.group()
@click.version_option(package_name="charter")
def main() -> None:
    """Charter: a Confluent-compatible schema registry, a Kafka-compatible broker with a
    schema gate, governance policies, a data catalog, and clients to produce and consume
    validated records."""


@main.command()
@_settings_command(_COMMON_OPTIONS, _HTTP_OPTIONS, _KAFKA_OPTIONS, _TLS_OPTIONS, _LISTENER_OPTIONS)
def up(settings: Settings) -> None:
    """Start everything: the HTTP tier (schema registry, governance, security, catalog and
    its web UI at /ui/) and the Kafka broker with its schema gate."""
    from charter.supervisor import run_up

    _secure_start(settings)
    sys.exit(run_up(settings))


@main.group()
def serve() -> None:
    """Run one tier alone."""


@serve.command("http")
@_settings_command(_COMMON_OPTIONS, _HTTP_OPTIONS, _TLS_OPTIONS, [_SUPERVISED_OPTION])
def serve_http(settings: Settings, supervised: bool = False) -> None:
    """The HTTP tier only: registry, governance, security, catalog and UI (stateless;
    several workers over PostgreSQL)."""
    from charter.http_server import run_http
    from charter.listeners import check_ports
    from charter.storage import log_storage_locations

    if not supervised:  # `charter up` checked its ports and said where the data live
        _secure_start(settings)
        check_ports(settings.host, [("HTTP", settings.http_port)])
        log_storage_locations(settings)
    run_http(settings)  # binds the port itself: one taken since the check is one error too


@serve.command("broker")
@_settings_command(
    _COMMON_OPTIONS, _KAFKA_OPTIONS, _TLS_OPTIONS, _LISTENER_OPTIONS, [_SUPERVISED_OPTION]
)
def serve_broker(settings: Settings, supervised: bool = False) -> None:
    """The Kafka listener only (every produce passes the gate)."""
    from broker.app import ListenFailed, run_broker
    from charter.compose import (
        build_broker,
        governance_for,
        log_storage_locations,
        open_migrated_database,
    )
    from charter.events import start_broker_events
    from charter.kafka_listeners import listener_bindings
    from charter.listeners import check_bindings, describe_bind_error

    if not supervised:  # `charter up` checked its ports and said where the data live
        _secure_start(settings)
        check_bindings(listener_bindings(settings))
        log_storage_locations(settings)
    database = open_migrated_database(settings)
    app = build_broker(settings, database)
    retention_s = settings.event_retention_hours * 3600
    governance = governance_for(database, settings)
    events = start_broker_events(
        database, app.schemas, retention_s=retention_s, governance=governance
    )
    try:
        run_broker(app)
    except ListenFailed as exc:
        what = f"Kafka listener {exc.name}" if settings.listeners.strip() else "Kafka"
        raise describe_bind_error(what, exc.host, exc.port, exc) from None
    finally:
        events.stop()
        governance.close()
        database.close()


def _secure_start(settings: Settings) -> None:
    """Refuse a non-loopback bind without auth; with auth, bootstrap ``admin`` on first start."""
    from charter.exposure import check_exposure

    check_exposure(settings)
    if settings.auth:
        from charter.compose import open_migrated_database
        from charter.security import bootstrap_admin

        database = open_migrated_database(settings)
        try:
            bootstrap_admin(settings, database)
        finally:
            database.close()


main.add_command(security_cli.user)
main.add_command(security_cli.apikey)
main.add_command(security_cli.rolebinding)
main.add_command(security_cli.acl)


@main.group()
def catalog() -> None:
    """The data catalog."""


@catalog.command("reindex")
@_settings_command(_COMMON_OPTIONS)
def catalog_reindex(settings: Settings) -> None:
    """Rebuild the catalog's entities and search index from the database."""
    from charter.compose import build_catalog, build_registry, open_migrated_database

    database = open_migrated_database(settings)
    try:
        service = build_catalog(settings, database, build_registry(settings, database))
        count = service.indexer.reindex()
    finally:
        database.close()
    click.echo(f"catalog reindexed: {count} entities")


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


def _add_client_commands() -> None:
    from charter.cli_client import add_client_commands

    add_client_commands(main)


_add_client_commands()
