"""JSON over HTTP for the SDK's REST clients (registry, catalog, governance), standard library only.

``RestClient.call(method, path, body)`` answers the decoded JSON body; an
error answer becomes ``RegistryClientError`` with the HTTP status and the
``error_code``/``message`` that Charter and Confluent put in their error
bodies, and an unreachable server one line naming it. Credentials go in
every request: ``auth=(user, password)`` as Basic, ``token=`` as Bearer.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from charter.sdk.errors import RegistryClientError

__all__ = ["CONTENT_TYPE", "RestClient"]

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


class RestClient:
    """A base URL, credentials and a timeout; ``service`` names the server in error messages."""

    service = "server"

    def __init__(
        self,
        url: str,
        *,
        auth: tuple[str, str] | None = None,
        token: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self._headers = {"Accept": CONTENT_TYPE, "Content-Type": CONTENT_TYPE}
        if auth is not None:
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {credentials}"
        elif token is not None:
            self._headers["Authorization"] = f"Bearer {token}"

    def call(self, method: str, path: str, body: Any = None) -> Any:
        """``method path`` with ``body`` as JSON; the answer's JSON (None when empty)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=self._headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise _error(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryClientError(f"{self.service} {self.url} unreachable: {reason}") from None


def _error(error: urllib.error.HTTPError) -> RegistryClientError:
    try:
        body = json.loads(error.read())
        message, code = body.get("message", ""), body.get("error_code")
    except (ValueError, AttributeError):
        message, code = error.reason, None
    return RegistryClientError(f"{message} (HTTP {error.code})", error.code, code)
