"""A small typed client for the schema registry's REST API (Charter's or Confluent's).

Standard library only (``urllib``): the SDK calls the registry once per schema
and caches the answers, so connection reuse does not matter. Errors come back
as ``RegistryClientError`` with the HTTP status and Confluent's ``error_code``.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Mapping
from typing import Any

from charter.sdk.errors import RegistryClientError

__all__ = ["RegisteredSchema", "Schema", "SchemaRegistryClient"]

_CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"


@dataclasses.dataclass(frozen=True)
class Schema:
    """A schema as the registry stores it (``GET /schemas/ids/{id}``)."""

    schema_str: str
    schema_type: str = "AVRO"
    references: tuple[Mapping[str, Any], ...] = ()
    metadata: Mapping[str, Any] | None = None
    rule_set: Mapping[str, Any] | None = None


@dataclasses.dataclass(frozen=True)
class RegisteredSchema:
    """One version of a subject."""

    subject: str
    version: int
    schema_id: int
    schema: Schema


def _schema_of(body: Mapping[str, Any]) -> Schema:
    return Schema(
        schema_str=body["schema"],
        schema_type=body.get("schemaType") or "AVRO",
        references=tuple(body.get("references") or ()),
        metadata=body.get("metadata"),
        rule_set=body.get("ruleSet"),
    )


def _registered(body: Mapping[str, Any]) -> RegisteredSchema:
    return RegisteredSchema(body["subject"], body["version"], body["id"], _schema_of(body))


def _quote(subject: str) -> str:
    return urllib.parse.quote(subject, safe="")


class SchemaRegistryClient:
    """``SchemaRegistryClient("http://127.0.0.1:8081")``; ``auth=(user, password)`` or ``token=``."""

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
        self._headers = {"Accept": _CONTENT_TYPE, "Content-Type": _CONTENT_TYPE}
        if auth is not None:
            credentials = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
            self._headers["Authorization"] = f"Basic {credentials}"
        elif token is not None:
            self._headers["Authorization"] = f"Bearer {token}"

    def _call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.url + path, data=data, method=method, headers=self._headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as error:
            raise self._error(error) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise RegistryClientError(f"schema registry {self.url} unreachable: {reason}") from None

    @staticmethod
    def _error(error: urllib.error.HTTPError) -> RegistryClientError:
        try:
            body = json.loads(error.read())
            message, code = body.get("message", ""), body.get("error_code")
        except (ValueError, AttributeError):
            message, code = error.reason, None
        return RegistryClientError(f"{message} (HTTP {error.code})", error.code, code)

    # -- schemas and subjects -------------------------------------------------------------

    def register(
        self,
        subject: str,
        schema: Schema | str,
        schema_type: str = "AVRO",
        *,
        normalize: bool = False,
    ) -> int:
        """Register ``schema`` under ``subject`` (idempotent) and return its id."""
        body = self._schema_body(schema, schema_type)
        query = "?normalize=true" if normalize else ""
        return int(self._call("POST", f"/subjects/{_quote(subject)}/versions{query}", body)["id"])

    def lookup(
        self, subject: str, schema: Schema | str, schema_type: str = "AVRO"
    ) -> RegisteredSchema:
        """The version of ``subject`` holding ``schema`` (40403 when it is not registered)."""
        body = self._schema_body(schema, schema_type)
        answer = self._call("POST", f"/subjects/{_quote(subject)}", body)
        return _registered({**answer, "subject": answer.get("subject", subject)})

    def get_schema(self, schema_id: int) -> Schema:
        return _schema_of(self._call("GET", f"/schemas/ids/{int(schema_id)}"))

    def get_version(self, subject: str, version: int | str = "latest") -> RegisteredSchema:
        return _registered(self._call("GET", f"/subjects/{_quote(subject)}/versions/{version}"))

    def get_latest(self, subject: str) -> RegisteredSchema:
        return self.get_version(subject, "latest")

    def subjects(self, prefix: str | None = None) -> list[str]:
        query = f"?subjectPrefix={urllib.parse.quote(prefix)}" if prefix else ""
        return list(self._call("GET", f"/subjects{query}"))

    def versions(self, subject: str) -> list[int]:
        return list(self._call("GET", f"/subjects/{_quote(subject)}/versions"))

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        versions = self._call("DELETE", f"/subjects/{_quote(subject)}")
        if permanent:
            versions = self._call("DELETE", f"/subjects/{_quote(subject)}?permanent=true")
        return list(versions)

    def test_compatibility(
        self,
        subject: str,
        schema: Schema | str,
        schema_type: str = "AVRO",
        version: int | str = "latest",
    ) -> tuple[bool, list[str]]:
        """Whether ``schema`` may follow ``version`` of ``subject``, and Confluent's reasons if not."""
        body = self._schema_body(schema, schema_type)
        path = f"/compatibility/subjects/{_quote(subject)}/versions/{version}?verbose=true"
        answer = self._call("POST", path, body)
        return bool(answer.get("is_compatible")), list(answer.get("messages") or ())

    def get_compatibility(self, subject: str | None = None) -> str:
        path = f"/config/{_quote(subject)}?defaultToGlobal=true" if subject else "/config"
        return str(self._call("GET", path)["compatibilityLevel"])

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        path = f"/config/{_quote(subject)}" if subject else "/config"
        return str(self._call("PUT", path, {"compatibility": level.upper()})["compatibility"])

    @staticmethod
    def _schema_body(schema: Schema | str, schema_type: str) -> dict[str, Any]:
        if isinstance(schema, str):
            schema = Schema(schema, schema_type)
        body: dict[str, Any] = {"schema": schema.schema_str}
        if schema.schema_type.upper() != "AVRO":
            body["schemaType"] = schema.schema_type.upper()
        if schema.references:
            body["references"] = list(schema.references)
        if schema.metadata is not None:
            body["metadata"] = schema.metadata
        if schema.rule_set is not None:
            body["ruleSet"] = schema.rule_set
        return body
