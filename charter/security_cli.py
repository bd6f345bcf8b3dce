"""``charter user|apikey|rolebinding|acl``: manage principals and permissions on the database.

They work on the database directly (the same one ``charter up`` uses: the
data dir's SQLite or ``--database-url``), so they also work before the first
start and when no admin password is at hand. Changes are audited with actor
``User:cli:<login>``; running processes pick them up within a second.
"""

from __future__ import annotations

import functools
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from charter.config import ConfigError, load_settings
from charter.errors import StartupError
from governance.security.errors import SecurityError

if TYPE_CHECKING:
    from governance.security.service import SecurityService

__all__ = ["acl", "apikey", "rolebinding", "user"]


def _database_options(function: Callable[..., Any]) -> Callable[..., Any]:
    @click.option("--config", "config_file", type=click.Path(path_type=Path), default=None)
    @click.option("--data-dir", type=click.Path(path_type=Path), default=None)
    @click.option("--database-url", default=None)
    @functools.wraps(function)
    def wrapper(
        config_file: Path | None, data_dir: Path | None, database_url: str | None, **kwargs: Any
    ) -> Any:
        try:
            settings = load_settings(
                {"data_dir": data_dir, "database_url": database_url}, config_file=config_file
            )
        except ConfigError as exc:
            raise click.UsageError(str(exc)) from None
        with _service(settings) as service:
            return function(service, **kwargs)

    return wrapper


@contextmanager
def _service(settings: Any) -> Iterator[SecurityService]:
    from charter.compose import open_migrated_database  # only when a command runs
    from charter.security import security_service

    try:
        database = open_migrated_database(settings)
    except StartupError as exc:
        raise click.ClickException(str(exc)) from None
    service = security_service(settings, database)
    try:
        yield service
    except SecurityError as exc:
        raise click.ClickException(exc.message) from None
    finally:
        service.audit.stop()
        service.authorizer.stop()
        database.close()


def _actor() -> str:
    try:
        return f"User:cli:{getpass.getuser()}"
    except Exception:  # no login name (containers)
        return "User:cli"


def _print(rows: Any) -> None:
    click.echo(json.dumps(rows, indent=2))


@click.group()
def user() -> None:
    """Users (principals User:NAME) with a password for Basic, PLAIN and SCRAM."""


@user.command("create")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@_database_options
def user_create(service: SecurityService, name: str, password_stdin: bool) -> None:
    """Create user NAME (SCRAM-SHA-256/512 credentials are derived from the password too)."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    service.create_user(name, password, actor=_actor())
    click.echo(f"created user {name}")


@user.command("list")
@_database_options
def user_list(service: SecurityService) -> None:
    _print(service.users())


@user.command("delete")
@click.argument("name")
@_database_options
def user_delete(service: SecurityService, name: str) -> None:
    """Delete user NAME with its API keys and role bindings."""
    service.delete_user(name, actor=_actor())
    click.echo(f"deleted user {name}")


@click.group()
def apikey() -> None:
    """API keys (HTTP ``Authorization: Bearer KEY`` or Basic KEY_ID:SECRET)."""


@apikey.command("create")
@click.option("--user", "owner", required=True, help="The user the key acts as.")
@click.option("--description", default="")
@_database_options
def apikey_create(service: SecurityService, owner: str, description: str) -> None:
    """Create an API key; its secret is printed once."""
    _print(service.create_api_key(owner, description, actor=_actor()))


@apikey.command("list")
@click.option("--user", "owner", default=None)
@_database_options
def apikey_list(service: SecurityService, owner: str | None) -> None:
    _print(service.api_keys(owner))


@apikey.command("delete")
@click.argument("key_id")
@_database_options
def apikey_delete(service: SecurityService, key_id: str) -> None:
    service.delete_api_key(key_id, actor=_actor())
    click.echo(f"deleted API key {key_id}")


@click.group()
def rolebinding() -> None:
    """Role bindings: PRINCIPAL has ROLE on RESOURCE (Topic:, Subject:, Group:, TransactionalId:; * = prefix)."""


@rolebinding.command("create")
@click.option("--principal", required=True, help="User:NAME")
@click.option(
    "--role",
    required=True,
    help="SystemAdmin, ResourceOwner, DataSteward, DeveloperWrite or DeveloperRead.",
)
@click.option(
    "--resource",
    default=None,
    help="Topic:NAME, Subject:NAME, Group:NAME, TransactionalId:NAME (a trailing * makes a "
    "prefix) or Cluster:charter.",
)
@_database_options
def rolebinding_create(
    service: SecurityService, principal: str, role: str, resource: str | None
) -> None:
    binding = service.create_binding(principal, role, resource, actor=_actor())
    _print(binding.to_json())


@rolebinding.command("list")
@click.option("--principal", default=None)
@_database_options
def rolebinding_list(service: SecurityService, principal: str | None) -> None:
    _print([binding.to_json() for binding in service.bindings(principal)])


@rolebinding.command("delete")
@click.argument("binding_id", type=int)
@_database_options
def rolebinding_delete(service: SecurityService, binding_id: int) -> None:
    service.delete_binding(binding_id, actor=_actor())
    click.echo(f"deleted role binding {binding_id}")


@click.group()
def acl() -> None:
    """Kafka ACLs no role binding expresses (DENY, User:*, a host, CREATE, DESCRIBE_CONFIGS,
    IDEMPOTENT_WRITE, ...): made with Kafka's CreateAcls (kafka-acls, AdminClient), listed and
    deleted here. ACLs that are role bindings are under "charter rolebinding"."""


@acl.command("list")
@click.option("--principal", default=None, help="User:NAME or User:*")
@_database_options
def acl_list(service: SecurityService, principal: str | None) -> None:
    _print([entry.to_json() for entry in service.acl_entries(principal)])


@acl.command("delete")
@click.argument("entry_id", type=int)
@_database_options
def acl_delete(service: SecurityService, entry_id: int) -> None:
    """Delete the ACL entry ENTRY_ID (e.g. a DENY that locks administrators out)."""
    service.delete_acl_entry(entry_id, actor=_actor(), via="charter acl delete")
    click.echo(f"deleted ACL entry {entry_id}")
