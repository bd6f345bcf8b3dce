"""What the client commands share: global options, the output format, errors as one line.

``add_client_commands(main)`` puts ``--bootstrap-server``, ``--registry-url``
(env ``CHARTER_BOOTSTRAP_SERVERS``, ``CHARTER_REGISTRY_URL``), ``--output
json|table`` (env ``CHARTER_OUTPUT``) and the credentials (``--username``,
``--password``, ``--api-key``, ``--sasl-mechanism``; env ``CHARTER_USERNAME``,
``CHARTER_PASSWORD``, ``CHARTER_API_KEY``, ``CHARTER_SASL_MECHANISM``) on the
``charter`` group and registers the client commands: ``schema``, ``topic``,
``produce``, ``consume``, ``group``, ``policy``, ``catalog search``,
``completion``. The options are stored in the click context, so the server
commands' signatures stay as they are. Every SDK error ends the command with a
one-line message and exit code 1, never a traceback (librdkafka's own log lines
are not printed).

Credentials: HTTP calls send Basic ``username:password``, or ``Bearer
API_KEY`` when only an API key is given; Kafka connections use SASL
(``SASL_PLAINTEXT``, mechanism PLAIN unless ``--sasl-mechanism``) when a
username and password are given.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import click

__all__ = [
    "ClientOptions",
    "add_client_commands",
    "client_command",
    "emit",
    "options_of",
    "print_code",
    "to_json",
]

DEFAULT_BOOTSTRAP = "127.0.0.1:9092"
DEFAULT_REGISTRY = "http://127.0.0.1:8081"
_META_KEY = "charter.client"


SASL_MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")


@dataclasses.dataclass
class ClientOptions:
    bootstrap_servers: str = DEFAULT_BOOTSTRAP
    registry_url: str = DEFAULT_REGISTRY
    output: str = "table"
    username: str | None = None
    password: str | None = None
    api_key: str | None = None
    sasl_mechanism: str = "PLAIN"

    def _http_credentials(self) -> dict[str, Any]:
        if self.username is not None:
            if self.password is None:
                raise click.UsageError("--username needs --password (or CHARTER_PASSWORD)")
            return {"auth": (self.username, self.password)}
        if self.api_key is not None:
            return {"token": self.api_key}
        return {}

    def registry(self) -> Any:
        """The SDK's registry client for ``--registry-url`` with the credentials."""
        from charter.sdk import SchemaRegistryClient

        return SchemaRegistryClient(self.registry_url, **self._http_credentials())

    def platform(self) -> Any:
        """The client of Charter's catalog and governance APIs (same URL as the registry)."""
        from charter.sdk.platform_client import PlatformClient

        return PlatformClient(self.registry_url, **self._http_credentials())

    def kafka_config(self) -> dict[str, str]:
        """librdkafka settings for the credentials (SASL), empty without a username."""
        if self.username is None:
            return {}
        if self.password is None:
            raise click.UsageError("--username needs --password (or CHARTER_PASSWORD)")
        return {
            "security.protocol": "SASL_PLAINTEXT",
            "sasl.mechanism": self.sasl_mechanism,
            "sasl.username": self.username,
            "sasl.password": self.password,
        }


def options_of(ctx: click.Context) -> ClientOptions:
    return ctx.meta.setdefault(_META_KEY, ClientOptions())


def _store(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> None:
        if value is not None:
            setattr(options_of(ctx), field, value)

    return callback


def _global(flags: list[str], field: str, help: str, **extra: Any) -> click.Option:
    """A global option stored on ``ClientOptions.<field>``, also read from ``CHARTER_<FIELD>``."""
    return click.Option(
        flags,
        envvar=f"CHARTER_{field.upper()}",
        expose_value=False,
        callback=_store(field),
        help=help,
        **extra,
    )


GLOBAL_OPTIONS = [
    _global(
        ["--bootstrap-server"],
        "bootstrap_servers",
        f"Kafka bootstrap servers for client commands [{DEFAULT_BOOTSTRAP}].",
    ),
    _global(
        ["--registry-url"],
        "registry_url",
        f"Schema registry URL for client commands [{DEFAULT_REGISTRY}].",
    ),
    _global(
        ["--output", "-o"],
        "output",
        "Output of client commands: a table or JSON [table].",
        type=click.Choice(["table", "json"]),
    ),
    _global(
        ["--username"],
        "username",
        "User for HTTP Basic auth and Kafka SASL (a platform run with --auth).",
    ),
    _global(
        ["--password"], "password", "Password of --username (prefer the CHARTER_PASSWORD variable)."
    ),
    _global(
        ["--api-key"], "api_key", "API key for HTTP calls (Bearer) when no --username is given."
    ),
    _global(
        ["--sasl-mechanism"],
        "sasl_mechanism",
        "SASL mechanism for Kafka with --username [PLAIN].",
        type=click.Choice(SASL_MECHANISMS, case_sensitive=False),
    ),
]


def client_command(function: Callable[..., Any]) -> Callable[..., Any]:
    """Pass ``ClientOptions`` first and turn SDK errors into one-line click errors."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from charter.sdk import CharterError

        options = options_of(click.get_current_context())
        # librdkafka's retry chatter (a refused connection, again and again) is not for the
        # shell: the SDK turns what matters into the one-line error below.
        logging.getLogger("charter.sdk.librdkafka").setLevel(logging.CRITICAL)
        try:
            return function(options, *args, **kwargs)
        except CharterError as error:
            raise click.ClickException(str(error)) from None

    return wrapper


def _json_default(value: Any) -> Any:
    import base64
    import datetime
    import decimal
    import uuid

    if isinstance(value, datetime.datetime | datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):  # a Protobuf Duration: proto3 JSON's form
        return _duration_text(value)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(value).decode()
    if isinstance(value, decimal.Decimal | uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _duration_text(value: Any) -> str:
    """``value`` (a timedelta) as proto3 JSON writes a Duration: seconds with 0, 3 or 6
    fractional digits and an ``s`` (``-1.500s``)."""
    micros = value // type(value)(microseconds=1)
    sign = "-" if micros < 0 else ""
    seconds, fraction = divmod(abs(micros), 1_000_000)
    if fraction == 0:
        return f"{sign}{seconds}s"
    if fraction % 1000 == 0:
        return f"{sign}{seconds}.{fraction // 1000:03d}s"
    return f"{sign}{seconds}.{fraction:06d}s"


def to_json(value: Any, *, indent: int | None = None) -> str:
    """JSON text of SDK values (datetimes as ISO 8601, bytes as base64)."""
    return json.dumps(value, default=_json_default, indent=indent, ensure_ascii=False)


def emit(
    options: ClientOptions,
    document: Any,
    rows: Sequence[Sequence[Any]] = (),
    columns: Sequence[str] = (),
    title: str | None = None,
) -> None:
    """``document`` as JSON for ``--output json``; else ``rows`` as a rich table."""
    if options.output == "json":
        click.echo(to_json(document, indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(*columns, title=title)
    for row in rows:  # cells as plain text: "[a-z]" in a value is not rich markup
        table.add_row(*(Text(str(cell)) for cell in row))
    Console().print(table)


def print_code(text: str, language: str) -> None:
    """``text`` highlighted on a terminal; as it is when piped (no padding, no colours)."""
    from rich.console import Console

    console = Console()
    if not console.is_terminal:
        click.echo(text)
        return
    from rich.syntax import Syntax

    console.print(Syntax(text, language))


def completion_command(main: click.Group) -> click.Command:
    @click.command("completion")
    @click.argument("shell", type=click.Choice(["bash", "zsh", "fish"]))
    def completion(shell: str) -> None:
        """Print the shell completion script: eval "$(charter completion bash)"."""
        from click.shell_completion import get_completion_class

        completion_class = get_completion_class(shell)
        assert completion_class is not None
        click.echo(completion_class(main, {}, "charter", "_CHARTER_COMPLETE").source())

    return completion


def add_client_commands(main: click.Group) -> None:
    """Add the global client options and the client commands to ``main``."""
    from charter.cli_catalog import search
    from charter.cli_group import group
    from charter.cli_policy import policy
    from charter.cli_records import consume, produce
    from charter.cli_schema import schema
    from charter.cli_topic import topic

    main.params.extend(GLOBAL_OPTIONS)
    for command in (schema, topic, produce, consume, group, policy, completion_command(main)):
        main.add_command(command)
    catalog = main.commands.get("catalog")
    if isinstance(catalog, click.Group):
        catalog.add_command(search)
