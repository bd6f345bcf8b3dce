"""Which content type a registry response is sent as, chosen from the request's ``Accept`` header.

Confluent's resources declare ``@Produces`` with server qualities:
``application/vnd.schemaregistry.v1+json`` (qs 1), ``application/vnd.schemaregistry+json``
(qs 0.9) and ``application/json`` (qs 0.5). Jersey pairs every Accept entry with every
produced type it is compatible with (wildcards match, parameters are ignored) and ranks
the pairs by the client's ``q`` first and the server's ``qs`` second, so the client's
weights decide and the server's preference breaks ties; no header means ``*/*``. When
nothing matches the answer is 406. This module is that choice and nothing else: no
Flask, no I/O, so it is tested with plain strings.

Two readings where HTTP is clearer than a framework: an entry with ``q=0`` means "not
acceptable" (RFC 9110 §12.4.2), and an entry that is not a media range (``foo``, a
``q`` that is not a number from 0 to 1) matches nothing. A lone ``*`` (Java's
``HttpURLConnection`` sends it) counts as ``*/*``, and a wildcard type matches every
subtype (``*/json`` too), as Jersey reads them.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

__all__ = ["DEFAULT_MEDIA_TYPE", "PRODUCED_MEDIA_TYPES", "negotiate"]

DEFAULT_MEDIA_TYPE = "application/vnd.schemaregistry.v1+json"

# (media type, server quality in thousandths), best first.
PRODUCED_MEDIA_TYPES: tuple[tuple[str, int], ...] = (
    (DEFAULT_MEDIA_TYPE, 1000),
    ("application/vnd.schemaregistry+json", 900),
    ("application/json", 500),
)

# Accept headers seen are few in practice (each client library sends one); the bound
# keeps hostile headers from growing the cache.
_CACHE_SIZE = 256


class _MediaRange(NamedTuple):
    type: str
    subtype: str
    quality: int  # thousandths, 0..1000

    def matches(self, media_type: str) -> bool:
        produced_type, produced_subtype = media_type.split("/", 1)
        if self.type == "*":
            return True
        return self.type == produced_type and self.subtype in ("*", produced_subtype)


@functools.lru_cache(maxsize=_CACHE_SIZE)
def negotiate(accept: str | None) -> str | None:
    """The media type to answer with for this ``Accept`` header, or ``None`` for 406."""
    ranges = _parse_accept(accept) if accept and accept.strip() else [_MediaRange("*", "*", 1000)]
    best: tuple[int, int] | None = None
    chosen: str | None = None
    for media_type, server_quality in PRODUCED_MEDIA_TYPES:
        client_quality = max(
            (media_range.quality for media_range in ranges if media_range.matches(media_type)),
            default=0,
        )
        if client_quality == 0:
            continue
        rank = (client_quality, server_quality)
        if best is None or rank > best:
            best, chosen = rank, media_type
    return chosen


def _parse_accept(header: str) -> list[_MediaRange]:
    ranges = []
    for entry in header.split(","):
        media_range = _parse_range(entry)
        if media_range is not None:
            ranges.append(media_range)
    return ranges


def _parse_range(entry: str) -> _MediaRange | None:
    media_range, *parameters = entry.split(";")
    media_range = media_range.strip().lower()
    if media_range == "*":
        media_range = "*/*"
    range_type, slash, subtype = media_range.partition("/")
    if not slash or not range_type or not subtype:
        return None
    quality = 1000
    for parameter in parameters:
        name, _, value = parameter.partition("=")
        if name.strip().lower() == "q":
            parsed = _parse_quality(value.strip().strip('"'))
            if parsed is None:
                return None
            quality = parsed
    return _MediaRange(range_type, subtype, quality)


def _parse_quality(text: str) -> int | None:
    try:
        value = float(text)
    except ValueError:
        return None
    if not 0.0 <= value <= 1.0:  # also refuses nan
        return None
    return round(value * 1000)
