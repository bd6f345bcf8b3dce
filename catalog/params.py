"""Search parameters from a query string, shared by the REST API and the web UI."""

from __future__ import annotations

from typing import Any

from catalog.errors import InvalidRequest
from catalog.model import SearchQuery

__all__ = ["MAX_LIMIT", "parse_search"]

MAX_LIMIT = 200


def _int_arg(args: Any, name: str, default: int, low: int, high: int) -> int:
    text = args.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer; got {text!r}") from None
    if not low <= value <= high:
        raise InvalidRequest(f"{name} must be between {low} and {high}; got {value}")
    return value


def _texts(args: Any, name: str) -> tuple[str, ...]:
    return tuple(text for value in args.getlist(name) if (text := _text(value)))


def _text(value: str) -> str:
    """NUL cannot be stored or compared by PostgreSQL; it matches nothing anyway."""
    return value.replace("\x00", "")[:500]


def parse_search(args: Any) -> SearchQuery:
    """A ``SearchQuery`` from query parameters (``q``, ``type``, ``tag``, ``owner``, ``domain``,
    ``limit``, ``offset``; the filters may repeat)."""
    return SearchQuery(
        text=_text(args.get("q", "")),
        types=_texts(args, "type"),
        tags=_texts(args, "tag"),
        owners=_texts(args, "owner"),
        domains=_texts(args, "domain"),
        limit=_int_arg(args, "limit", 20, 0, MAX_LIMIT),
        offset=_int_arg(args, "offset", 0, 0, 1_000_000),
    )
