"""A small typed client for the schema registry's REST API (Charter's or Confluent's).

Standard library only (``urllib``): the SDK calls the registry once per schema
and caches the answers, so connection reuse does not matter. Errors come back
as ``RegistryClientError`` with the HTTP status and Confluent's ``error_code``.
"""

from __future__ import annotations

import dataclasses
import urllib.parse
from collections.abc import Mapping
from typing import Any

from charter.sdk.rest import RestClient

__all__ = ["RegisteredSchema", "Schema", "SchemaRegistryClient"]


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


class SchemaRegistryClient(RestClient):
    """``SchemaRegistryClient("http://127.0.0.1:8081")``; ``auth=(user, password)`` or ``token=``."""

    service = "schema registry"

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
        return int(self.call("POST", f"/subjects/{_quote(subject)}/versions{query}", body)["id"])

    def lookup(
        self, subject: str, schema: Schema | str, schema_type: str = "AVRO"
    ) -> RegisteredSchema:
        """The version of ``subject`` holding ``schema`` (40403 when it is not registered)."""
        body = self._schema_body(schema, schema_type)
        answer = self.call("POST", f"/subjects/{_quote(subject)}", body)
        return _registered({**answer, "subject": answer.get("subject", subject)})

    def get_schema(self, schema_id: int) -> Schema:
        return _schema_of(self.call("GET", f"/schemas/ids/{int(schema_id)}"))

    def get_version(
        self, subject: str, version: int | str = "latest", *, deleted: bool = False
    ) -> RegisteredSchema:
        query = "?deleted=true" if deleted else ""
        path = f"/subjects/{_quote(subject)}/versions/{version}{query}"
        return _registered(self.call("GET", path))

    def get_latest_with_metadata(
        self, subject: str, metadata: Mapping[str, str], *, deleted: bool = False
    ) -> RegisteredSchema:
        """The latest version of ``subject`` whose ``metadata.properties`` hold ``metadata``."""
        query: list[tuple[str, str]] = [("deleted", "true")] if deleted else []
        for key, value in metadata.items():
            query += [("key", key), ("value", value)]
        path = f"/subjects/{_quote(subject)}/metadata?{urllib.parse.urlencode(query)}"
        return _registered(self.call("GET", path))

    def schema_versions(self, schema_id: int, *, deleted: bool = False) -> list[tuple[str, int]]:
        """Every (subject, version) holding schema ``schema_id``."""
        query = "?deleted=true" if deleted else ""
        pairs = self.call("GET", f"/schemas/ids/{int(schema_id)}/versions{query}")
        return [(str(pair["subject"]), int(pair["version"])) for pair in pairs]

    def get_latest(self, subject: str) -> RegisteredSchema:
        return self.get_version(subject, "latest")

    def subjects(self, prefix: str | None = None) -> list[str]:
        query = f"?subjectPrefix={urllib.parse.quote(prefix)}" if prefix else ""
        return list(self.call("GET", f"/subjects{query}"))

    def versions(self, subject: str) -> list[int]:
        return list(self.call("GET", f"/subjects/{_quote(subject)}/versions"))

    def delete_subject(self, subject: str, *, permanent: bool = False) -> list[int]:
        versions = self.call("DELETE", f"/subjects/{_quote(subject)}")
        if permanent:
            versions = self.call("DELETE", f"/subjects/{_quote(subject)}?permanent=true")
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
        answer = self.call("POST", path, body)
        return bool(answer.get("is_compatible")), list(answer.get("messages") or ())

    def get_compatibility(self, subject: str | None = None) -> str:
        path = f"/config/{_quote(subject)}?defaultToGlobal=true" if subject else "/config"
        return str(self.call("GET", path)["compatibilityLevel"])

    def set_compatibility(self, level: str, subject: str | None = None) -> str:
        path = f"/config/{_quote(subject)}" if subject else "/config"
        return str(self.call("PUT", path, {"compatibility": level.upper()})["compatibility"])

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
