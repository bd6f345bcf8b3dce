"""Request and response bodies of the registry's REST API (marshmallow), and query parameters.

Everything a client sends is parsed here into typed values; anything malformed
becomes a ``registry.errors`` exception with a message naming the problem
(400 for a body that is not JSON, 422 for a field of the wrong type, 42202 for
a bad version, 42201 for a missing schema).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from registry.compatibility import parse_level
from registry.contracts import normalize_metadata, normalize_rule_set
from registry.errors import (
    InvalidRequest,
    InvalidRequestBody,
    InvalidSchema,
    InvalidVersion,
    PathNotFound,
    SchemaNotFound,
    UnsupportedContentType,
)
from registry.json_text import (
    MAX_JSON_NESTING,
    UndecodableBody,
    decode_json_bytes,
    nested_deeper_than,
)
from registry.service import (
    LATEST,
    CompatibilityResult,
    ConfigUpdate,
    ConfigView,
    Mode,
    Page,
    RegisteredVersion,
    SchemaRequest,
)
from registry.store import Reference, StoredSchema

__all__ = [
    "ACCEPTED_CONTENT_TYPES",
    "compatibility_response",
    "config_response",
    "config_update_response",
    "parse_bool",
    "parse_config_update",
    "parse_json_body",
    "parse_metadata_filter",
    "parse_mode_update",
    "parse_page",
    "parse_schema_id",
    "parse_schema_request",
    "parse_version",
    "registered_response",
    "schema_response",
    "version_response",
]

ACCEPTED_CONTENT_TYPES = frozenset(
    {
        "application/vnd.schemaregistry.v1+json",
        "application/vnd.schemaregistry+json",
        "application/json",
        "application/octet-stream",
    }
)

MAX_ID = 2**31 - 1
MIN_INT = -(2**31)
_JAVA_INT = re.compile(r"[+-]?[0-9]+", re.ASCII)


# -- raw body and query parameters ------------------------------------------------------


def parse_json_body(content_type: str | None, body: bytes) -> dict[str, Any]:
    """The body as a JSON object; 415 / 400 / 422 on anything else.

    The body may be UTF-8, UTF-16 or UTF-32, with or without a byte order mark,
    detected from its first bytes as Confluent's parser (Jackson) does; a
    ``charset`` parameter is ignored, as Jackson ignores it.
    """
    media_type = (content_type or "").split(";", 1)[0].strip().lower()
    if media_type and media_type not in ACCEPTED_CONTENT_TYPES:
        accepted = ", ".join(sorted(ACCEPTED_CONTENT_TYPES))
        raise UnsupportedContentType(
            f"Unsupported content type {media_type!r}; send one of: {accepted}"
        )
    try:
        text = decode_json_bytes(body)
    except UndecodableBody as exc:
        raise InvalidRequest(str(exc)) from None
    if not text.strip():
        raise InvalidRequest("Request body is empty; expected a JSON object")
    try:
        document = json.loads(text, parse_constant=_reject_constant)
    except ValueError as exc:
        raise InvalidRequest(f"Request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise InvalidRequest("Request body is nested too deeply") from None
    if nested_deeper_than(document, MAX_JSON_NESTING):
        raise InvalidRequest(f"Request body is nested more than {MAX_JSON_NESTING} levels deep")
    if not isinstance(document, dict):
        raise InvalidRequestBody(
            f"Request body must be a JSON object, got {type(document).__name__}"
        )
    return document


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def parse_bool(args: Mapping[str, str], *names: str) -> bool:
    """A boolean query parameter: ``true`` in any case is true, anything else false (as JAX-RS)."""
    for name in names:
        value = args.get(name)
        if value is not None:
            return value.strip().lower() == "true"
    return False


def parse_page(args: Mapping[str, str]) -> Page:
    """``offset`` / ``limit`` as Confluent reads them: a ``limit`` of 0 or less means no limit
    (Confluent's ``normalizeLimit`` falls back to its default), and a value Java's ``int`` does
    not hold names no resource (404, as Jersey answers an unconvertible query parameter)."""
    limit = _int_arg(args, "limit", -1)
    return Page(offset=_int_arg(args, "offset", 0), limit=limit if limit > 0 else -1)


def _int_arg(args: Mapping[str, str], name: str, default: int) -> int:
    value = args.get(name)
    if value is None or not value.strip():
        return default
    value = value.strip()
    if _JAVA_INT.fullmatch(value) is None or not MIN_INT <= int(value) <= MAX_ID:
        raise PathNotFound()
    return int(value)


def parse_metadata_filter(args: Any) -> dict[str, str]:
    """``?key=k1&value=v1&key=k2&value=v2`` as ``{k1: v1, k2: v2}`` (pairs beyond the shorter list dropped)."""
    keys, values = args.getlist("key"), args.getlist("value")
    return dict(zip(keys, values, strict=False))


def parse_version(text: str) -> int:
    """A version in a URL: 1..2^31-1, ``latest`` or ``-1`` (``LATEST``); else 42202."""
    if text.lower() == "latest":
        return LATEST
    try:
        number = int(text)
    except ValueError:
        number = 0
    if number == LATEST or 1 <= number <= MAX_ID:
        return number
    raise InvalidVersion(
        f"The specified version '{text}' is not a valid version id. Allowed values are "
        'between [1, 2^31-1] and the string "latest"'
    )


def parse_schema_id(text: str) -> int:
    """A schema id in a URL, read as Java reads an ``Integer`` path parameter.

    Anything ``Integer.valueOf`` refuses (not a number, beyond 32 bits) is a path
    that does not exist (404 ``HTTP 404 Not Found``, as Jersey answers); a number
    that no schema can have (0, negative) is simply not found (40403).
    """
    if _JAVA_INT.fullmatch(text) is None or not MIN_INT <= int(text) <= MAX_ID:
        raise PathNotFound()
    schema_id = int(text)
    if schema_id <= 0:
        raise SchemaNotFound(f"Schema {schema_id} not found")
    return schema_id


# -- request bodies ------------------------------------------------------------------------


def _without_nul(text: str) -> None:
    """PostgreSQL text cannot hold NUL, and no name or schema needs one."""
    if "\x00" in text:
        raise ValidationError("must not contain NUL characters")


class _ReferenceBody(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=[validate.Length(min=1), _without_nul])
    subject = fields.String(required=True, validate=[validate.Length(min=1), _without_nul])
    version = fields.Integer(required=True, strict=True)


class _SchemaBody(Schema):
    class Meta:
        unknown = EXCLUDE

    schema = fields.String(load_default=None, allow_none=True)
    schemaType = fields.String(load_default=None, allow_none=True)
    references = fields.List(fields.Nested(_ReferenceBody), load_default=None, allow_none=True)
    metadata = fields.Raw(load_default=None, allow_none=True)
    ruleSet = fields.Raw(load_default=None, allow_none=True)
    id = fields.Integer(strict=True, load_default=None, allow_none=True)
    version = fields.Integer(strict=True, load_default=None, allow_none=True)


class _ConfigBody(Schema):
    class Meta:
        unknown = EXCLUDE

    compatibility = fields.String(load_default=None, allow_none=True)
    compatibilityLevel = fields.String(load_default=None, allow_none=True)
    normalize = fields.Boolean(load_default=None, allow_none=True)
    alias = fields.String(load_default=None, allow_none=True)
    compatibilityGroup = fields.String(load_default=None, allow_none=True)
    validateFields = fields.Boolean(load_default=None, allow_none=True)
    defaultMetadata = fields.Raw(load_default=None, allow_none=True)
    overrideMetadata = fields.Raw(load_default=None, allow_none=True)
    defaultRuleSet = fields.Raw(load_default=None, allow_none=True)
    overrideRuleSet = fields.Raw(load_default=None, allow_none=True)


class _ModeBody(Schema):
    class Meta:
        unknown = EXCLUDE

    mode = fields.String(required=True)


_SCHEMA_BODY = _SchemaBody()
_CONFIG_BODY = _ConfigBody()
_MODE_BODY = _ModeBody()


def _load(schema: Schema, document: dict[str, Any]) -> dict[str, Any]:
    try:
        return schema.load(document)
    except ValidationError as exc:
        raise InvalidRequestBody(f"Invalid request body: {_describe(exc.messages)}") from None


def _describe(messages: Any) -> str:
    return json.dumps(messages, sort_keys=True, ensure_ascii=False)


def parse_schema_request(document: dict[str, Any], *, allow_empty: bool = False) -> SchemaRequest:
    """A register / lookup / compatibility body; ``metadata`` and ``ruleSet`` in Confluent's form.

    With ``allow_empty`` (registration) a missing or blank ``schema`` is kept as
    ``""``: Confluent then re-uses the latest version's schema.
    """
    body = _load(_SCHEMA_BODY, document)
    if body["schema"] is None or not body["schema"].strip():
        if not allow_empty:
            raise InvalidSchema("Empty schema")
        body["schema"] = ""
    if "\x00" in body["schema"]:
        raise InvalidSchema("Invalid schema: NUL characters are not allowed in a schema's text")
    for name in ("id", "version"):
        value = body[name]
        # Confluent sends -1 / 0 for "not given" in its own request objects.
        if value is not None and value <= 0:
            body[name] = None
        elif value is not None and value > MAX_ID:
            raise InvalidRequestBody(f"Invalid request body: {name} {value} is out of range")
    references = tuple(
        Reference(item["name"], item["subject"], item["version"])
        for item in body["references"] or ()
    )
    for ref in references:
        if ref.version != LATEST and not 1 <= ref.version <= MAX_ID:
            raise InvalidVersion(
                f"Invalid version {ref.version} in reference {ref.name!r}; allowed values are "
                "between [1, 2^31-1] and -1 (latest)"
            )
    return SchemaRequest(
        schema=body["schema"],
        schema_type=(body["schemaType"] or "AVRO").upper(),
        references=references,
        metadata=normalize_metadata(body["metadata"]),
        rule_set=normalize_rule_set(body["ruleSet"]),
        schema_id=body["id"],
        version=body["version"],
    )


def parse_config_update(document: dict[str, Any]) -> ConfigUpdate:
    body = _load(_CONFIG_BODY, document)
    level_text = body.pop("compatibility") or body.pop("compatibilityLevel", None)
    body.pop("compatibilityLevel", None)
    level = parse_level(level_text) if level_text is not None else None
    for name in ("defaultMetadata", "overrideMetadata"):
        body[name] = normalize_metadata(body[name], name)
    for name in ("defaultRuleSet", "overrideRuleSet"):
        body[name] = normalize_rule_set(body[name], name)
    options = {name: value for name, value in body.items() if value is not None}
    if level is None and not options:
        # Confluent rejects a config update without a level with 42203.
        parse_level(None)
    return ConfigUpdate(compatibility=level, options=options)


def parse_mode_update(document: dict[str, Any]) -> Mode:
    body = _load(_MODE_BODY, document)
    return Mode.parse(body["mode"])


# -- response bodies -------------------------------------------------------------------------


def _schema_fields(stored: StoredSchema) -> dict[str, Any]:
    """``schemaType`` (omitted for AVRO, as Confluent does), ``references``, metadata, rule set."""
    fields_out: dict[str, Any] = {}
    if stored.schema_type != "AVRO":
        fields_out["schemaType"] = stored.schema_type
    if stored.references:
        fields_out["references"] = [ref.to_json() for ref in stored.references]
    if stored.metadata is not None:
        fields_out["metadata"] = stored.metadata
    if stored.rule_set is not None:
        fields_out["ruleSet"] = stored.rule_set
    return fields_out


def schema_response(stored: StoredSchema, *, max_id: int | None = None) -> dict[str, Any]:
    """``GET /schemas/ids/{id}`` and ``GET /schemas/guids/{guid}``."""
    body: dict[str, Any] = {
        "guid": stored.guid,
        **_schema_fields(stored),
        "schema": stored.schema_text,
    }
    if max_id is not None:
        body["maxId"] = max_id
    return body


def registered_response(registered: RegisteredVersion) -> dict[str, Any]:
    """``POST /subjects/{s}/versions``: the id, plus the fields newer Confluent versions add."""
    return {
        "id": registered.schema.schema_id,
        "guid": registered.schema.guid,
        "version": registered.version,
        **_schema_fields(registered.schema),
        "schema": registered.schema.schema_text,
    }


def version_response(registered: RegisteredVersion) -> dict[str, Any]:
    """A subject version (``GET /subjects/{s}/versions/{v}``, lookup, ``GET /schemas``)."""
    body: dict[str, Any] = {
        "subject": registered.subject,
        "version": registered.version,
        "id": registered.schema.schema_id,
        "guid": registered.schema.guid,
        **_schema_fields(registered.schema),
        "schema": registered.schema.schema_text,
    }
    if registered.deleted:
        body["deleted"] = True
    return body


def compatibility_response(result: CompatibilityResult, *, verbose: bool) -> dict[str, Any]:
    body: dict[str, Any] = {"is_compatible": result.is_compatible}
    if verbose:
        body["messages"] = result.messages
    return body


def config_response(view: ConfigView) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if view.compatibility is not None:
        body["compatibilityLevel"] = view.compatibility.value
    body.update(view.options)
    return body


def config_update_response(update: ConfigUpdate) -> dict[str, Any]:
    """``PUT /config``: the accepted update, as Confluent echoes it."""
    body: dict[str, Any] = {}
    if update.compatibility is not None:
        body["compatibility"] = update.compatibility.value
    body.update(update.options)
    return body
