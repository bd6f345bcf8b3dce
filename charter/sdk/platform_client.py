"""A client for Charter's own REST APIs next to the registry: catalog search and governance policies.

``PlatformClient(url)`` talks to the same HTTP tier as the schema registry
(``charter up`` serves both on one port); errors are ``RegistryClientError``
with the ``error_code`` and message of the API, as for the registry.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any

from charter.sdk.rest import RestClient

__all__ = ["PlatformClient"]


class PlatformClient(RestClient):
    """``/catalog/v1`` and ``/governance/v1`` of a Charter HTTP tier."""

    service = "Charter"

    def search(
        self,
        text: str = "",
        *,
        types: Sequence[str] = (),
        tags: Sequence[str] = (),
        owners: Sequence[str] = (),
        limit: int = 20,
    ) -> dict[str, Any]:
        """``GET /catalog/v1/search``: ``{"total", "results": [...], "facets"}``."""
        query: list[tuple[str, str | int]] = [("q", text), ("limit", limit)]
        query += [("type", kind) for kind in types]
        query += [("tag", tag) for tag in tags]
        query += [("owner", owner) for owner in owners]
        return dict(self.call("GET", f"/catalog/v1/search?{urllib.parse.urlencode(query)}"))

    def policies(self) -> list[dict[str, Any]]:
        """Every governance policy with ``enabled``, ``params`` and ``paramTypes``."""
        return list(self.call("GET", "/governance/v1/policies"))

    def policy(self, name: str) -> dict[str, Any]:
        return dict(self.call("GET", f"/governance/v1/policies/{_quote(name)}"))

    def update_policy(
        self, name: str, *, enabled: bool | None = None, params: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """``PUT /governance/v1/policies/NAME``; params left out take their defaults on the server."""
        body: dict[str, Any] = {}
        if enabled is not None:
            body["enabled"] = enabled
        if params is not None:
            body["params"] = dict(params)
        return dict(self.call("PUT", f"/governance/v1/policies/{_quote(name)}", body))


def _quote(name: str) -> str:
    return urllib.parse.quote(name, safe="")
