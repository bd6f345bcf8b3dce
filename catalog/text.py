"""How catalog text becomes search terms, the same way on every index backend.

Identifiers are split where people expect words to start: ``customer_email``,
``customer-email``, ``customer.email`` and ``customerEmail`` all hold the words
``customer`` and ``email``. Indexed text keeps the joined identifier too
(``customeremail``), so a query typed either way finds it. A query is reduced
to plain lowercase words (letters and digits only) before it reaches FTS5 or
``to_tsquery``: no character a user types can become query syntax.
"""

from __future__ import annotations

import re

__all__ = ["MAX_QUERY_TERMS", "index_text", "name_key", "query_terms", "words"]

MAX_QUERY_TERMS = 16
"""Longer queries keep their first 16 words (each adds a join in the index's plan)."""

_RUN = re.compile(r"[^\W_]+")
"""A run of letters and digits: ``_``, ``.``, ``-``, spaces and punctuation separate runs."""


def _parts(run: str) -> list[str]:
    """``run`` split at camelCase, PascalCase and digit boundaries, lowercased
    (``HTTPStatus2xx`` -> http, status, 2, xx; any script's letters)."""
    parts: list[str] = []
    start = 0
    for i in range(1, len(run)):
        before, here = run[i - 1], run[i]
        after = run[i + 1] if i + 1 < len(run) else ""
        if (
            before.isdigit() != here.isdigit()
            or (before.islower() and here.isupper())
            or (before.isupper() and here.isupper() and after.islower())
        ):
            parts.append(run[start:i].lower())
            start = i
    parts.append(run[start:].lower())
    return parts


def words(text: str) -> list[str]:
    """The words of ``text`` a search matches: every run, split at camelCase boundaries."""
    found: list[str] = []
    for run in _RUN.findall(text):
        found.extend(_parts(run))
    return found


def index_text(*texts: str | None) -> str:
    """Space-separated terms to index for ``texts``: each chunk's words, whole runs and the
    chunk joined (``customer_email`` -> ``customer email customeremail``)."""
    terms: list[str] = []
    for text in texts:
        if not text:
            continue
        for chunk in text.split():
            runs = _RUN.findall(chunk)
            if not runs:
                continue
            chunk_terms: dict[str, None] = {}
            for run in runs:
                chunk_terms[run.lower()] = None
                for part in _parts(run):
                    chunk_terms[part] = None
            chunk_terms["".join(runs).lower()] = None
            terms.extend(chunk_terms)
    return " ".join(terms)


def query_terms(query: str) -> list[str]:
    """The words a query must match (each as a prefix), at most ``MAX_QUERY_TERMS``, no repeats."""
    return list(dict.fromkeys(words(query)))[:MAX_QUERY_TERMS]


def name_key(text: str) -> str:
    """The form an exact-name comparison uses: lowercase, surrounding space removed."""
    return text.strip().lower()
