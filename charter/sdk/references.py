"""Schema references resolved as Confluent's serializers resolve them: fetched once, flattened.

A schema may name types of other subjects (``references``: ``name``,
``subject``, ``version``): Avro named types defined in another subject,
JSON Schema ``$ref`` URIs. ``resolve_references`` fetches each referenced
version from the registry (and its own references, transitively) and answers
them flattened in dependency order — a reference's references come before it,
each once — which is what the registry's parsers (``registry.formats``) take.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from charter.sdk.errors import ValidationError
from registry.formats.base import ResolvedReference

__all__ = ["MAX_REFERENCE_DEPTH", "resolve_references"]

MAX_REFERENCE_DEPTH = 32

# (subject, version) -> (schema text, that schema's own references)
Fetch = Callable[[str, int | str], tuple[str, tuple[Mapping[str, Any], ...], int]]


def _key(reference: Mapping[str, Any]) -> tuple[str, str, Any]:
    try:
        return str(reference["name"]), str(reference["subject"]), reference["version"]
    except (KeyError, TypeError):
        raise ValidationError(
            f"#: a schema reference needs name, subject and version, got {reference!r}"
        ) from None


def resolve_references(
    references: Iterable[Mapping[str, Any]], fetch: Fetch
) -> tuple[ResolvedReference, ...]:
    """Every reference (transitively) with its schema text, dependencies first, each once.

    ``fetch(subject, version)`` answers ``(schema_str, references, version)``
    of a registered version. A chain deeper than ``MAX_REFERENCE_DEPTH`` or a
    cycle is a ``ValidationError`` (the registry refuses both; this guards
    against a registry that does not).
    """
    flattened: list[ResolvedReference] = []
    seen: set[tuple[str, str, int]] = set()
    # An explicit stack of (reference, depth, expanded): no recursion over foreign data.
    stack: list[tuple[Mapping[str, Any], int, bool, tuple[str, ...]]] = [
        (reference, 1, False, ()) for reference in reversed(list(references))
    ]
    fetched: dict[tuple[str, str, Any], tuple[str, tuple[Mapping[str, Any], ...], int]] = {}
    while stack:
        reference, depth, expanded, chain = stack.pop()
        name, subject, version = _key(reference)
        if depth > MAX_REFERENCE_DEPTH:
            raise ValidationError(
                f"#: schema references nest deeper than {MAX_REFERENCE_DEPTH} ({subject})"
            )
        where = f"{subject}:{version}"
        if not expanded and where in chain:
            raise ValidationError(f"#: schema references form a cycle through {where}")
        key = (name, subject, version)
        if key not in fetched:
            fetched[key] = fetch(subject, version)
        schema_str, nested, actual_version = fetched[key]
        if expanded:
            resolved = ResolvedReference(name, subject, actual_version, schema_str)
            identity = (name, subject, actual_version)
            if identity not in seen:
                seen.add(identity)
                flattened.append(resolved)
            continue
        stack.append((reference, depth, True, chain))
        inner_chain = (*chain, where)
        stack += [(inner, depth + 1, False, inner_chain) for inner in reversed(nested)]
    return tuple(flattened)
