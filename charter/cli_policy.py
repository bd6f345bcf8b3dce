"""``charter policy list|enable|disable``: governance policies (``/governance/v1/policies``).

``enable NAME --param KEY=VALUE`` converts each value by the policy's declared
param type (integer, string-list as comma-separated text, else text) and
keeps the params it does not name; the server validates them and its error
(unknown policy, bad param) ends the command in one line with exit code 1.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import click

from charter.cli_client import ClientOptions, client_command, emit, to_json

__all__ = ["policy"]


@click.group()
def policy() -> None:
    """List, enable and disable governance policies."""


def _shown(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value)


@policy.command("list")
@client_command
def list_policies(options: ClientOptions) -> None:
    """Every policy: enabled or not, its params and the hooks it checks."""
    found = options.platform().policies()
    rows = [
        (
            state["name"],
            "yes" if state.get("enabled") else "no",
            "; ".join(f"{k}={_shown(v)}" for k, v in sorted((state.get("params") or {}).items())),
            ", ".join(state.get("hooks") or ()),
        )
        for state in found
    ]
    emit(options, found, rows, ("policy", "enabled", "params", "hooks"))


def _param_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    params = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise click.BadParameter(f"{pair!r} is not KEY=VALUE", param_hint="--param")
        params[name.strip()] = value
    return params


def _typed(name: str, text: str, param_types: Mapping[str, str]) -> Any:
    """``text`` as the param's declared type; unknown params go as text (the server names them)."""
    kind = param_types.get(name)
    if kind == "integer":
        try:
            return int(text)
        except ValueError:
            return text  # the server's error names the param and what it must be
    if kind == "string-list":
        stripped = text.strip()
        if stripped.startswith("["):
            try:
                return json.loads(stripped)
            except ValueError:
                pass
        return [item.strip() for item in text.split(",") if item.strip()]
    return text


def _print_state(options: ClientOptions, state: Mapping[str, Any]) -> None:
    if options.output == "json":
        click.echo(to_json(state, indent=2))
        return
    word = "enabled" if state.get("enabled") else "disabled"
    params = "; ".join(f"{k}={_shown(v)}" for k, v in sorted((state.get("params") or {}).items()))
    click.echo(f"{state.get('name')} {word}" + (f" ({params})" if params else ""))


@policy.command("enable")
@click.argument("name")
@click.option(
    "--param", "pairs", multiple=True, metavar="KEY=VALUE", help="Set a param (repeatable)."
)
@client_command
def enable(options: ClientOptions, name: str, pairs: tuple[str, ...]) -> None:
    """Enable policy NAME, setting the params given (the others keep their values)."""
    given = _param_pairs(pairs)
    client = options.platform()
    params: dict[str, Any] | None = None
    if given:
        current = client.policy(name)
        types = {p["name"]: p.get("type", "string") for p in current.get("paramTypes") or ()}
        params = dict(current.get("params") or {})
        params.update({key: _typed(key, value, types) for key, value in given.items()})
    _print_state(options, client.update_policy(name, enabled=True, params=params))


@policy.command("disable")
@click.argument("name")
@client_command
def disable(options: ClientOptions, name: str) -> None:
    """Disable policy NAME (its params are kept for the next enable)."""
    _print_state(options, options.platform().update_policy(name, enabled=False))
