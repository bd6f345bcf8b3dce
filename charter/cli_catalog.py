"""``charter catalog search TEXT``: the data catalog's search (``GET /catalog/v1/search``)."""

from __future__ import annotations

import click

from charter.cli_client import ClientOptions, client_command, emit

__all__ = ["search"]

_TYPES = click.Choice(["topic", "subject", "field", "term"], case_sensitive=False)
_DESCRIPTION_WIDTH = 60


def _short(text: str | None) -> str:
    text = " ".join((text or "").split())
    if len(text) <= _DESCRIPTION_WIDTH:
        return text
    return text[: _DESCRIPTION_WIDTH - 1] + "…"


@click.command("search")
@click.argument("text", default="")
@click.option("--type", "types", type=_TYPES, multiple=True, help="Only this type (repeatable).")
@click.option("--tag", "tags", multiple=True, help="Only entities with this tag (repeatable).")
@click.option("--owner", "owners", multiple=True, help="Only entities of this owner (repeatable).")
@click.option("--limit", type=click.IntRange(0, 200), default=20, show_default=True)
@client_command
def search(
    options: ClientOptions,
    text: str,
    types: tuple[str, ...],
    tags: tuple[str, ...],
    owners: tuple[str, ...],
    limit: int,
) -> None:
    """Search topics, subjects and fields by TEXT (their names, docs, tags, owners)."""
    page = options.platform().search(text, types=types, tags=tags, owners=owners, limit=limit)
    results = page.get("results") or []
    rows = [
        (
            result.get("type", ""),
            result.get("qualifiedName", ""),
            ", ".join(result.get("tags") or ()),
            ", ".join(result.get("owners") or ()),
            _short(result.get("description")),
        )
        for result in results
    ]
    title = f"{len(results)} of {page.get('total', len(results))} results"
    emit(options, page, rows, ("type", "name", "tags", "owners", "description"), title=title)
