"""The catalog's per-principal visibility, built from the authorizer (the composition root's
job: the catalog never asks governance itself).

Topics, subjects (with their fields and versions) and consumer groups are visible
with ``read`` on ``Topic:``, ``Subject:`` and ``Group:`` resources, the same
action the catalog's routes ask for an entity page (``governance.security.routes``),
so whatever search lists, its page opens. The authorizer's ``read_patterns`` gives
the literal names and prefixes of the principal's bindings; when it says they
are not exact (entries that take away, such as DENY), each candidate is also
asked of ``allows``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from catalog.model import Visibility, VisibleNames
from governance.security.authorizer import Authorizer, ReadPatterns
from governance.security.model import Action, ResourceType

__all__ = ["catalog_visibility"]

_KINDS = {"topic": ResourceType.TOPIC, "subject": ResourceType.SUBJECT, "group": ResourceType.GROUP}


def _names(patterns: ReadPatterns | None) -> VisibleNames:
    if patterns is None:
        return VisibleNames()
    return VisibleNames(patterns.everything, patterns.literals, patterns.prefixes)


def visibility_of(
    patterns: Mapping[ResourceType, ReadPatterns], check: Callable[[str, str], bool]
) -> Visibility:
    """A ``Visibility`` from the authorizer's answer; ``check`` asks about one name."""
    kept = [patterns.get(kind) for kind in _KINDS.values()]
    exact = all(p is None or p.exact for p in kept)
    topics, subjects, groups = (_names(p) for p in kept)
    return Visibility(topics, subjects, groups, exact=exact, check=None if exact else check)


def catalog_visibility(authorizer: Authorizer) -> Callable[[str], Visibility]:
    """principal -> what it may see in the catalog (``CatalogService.visibility``)."""

    def for_principal(principal: str) -> Visibility:
        def check(kind: str, name: str) -> bool:
            return authorizer.allows(principal, Action.READ, _KINDS[kind], name)

        return visibility_of(authorizer.read_patterns(principal, Action.READ), check)

    return for_principal
