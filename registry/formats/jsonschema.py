"""The JSON Schema format: parsing, canonical form, payload validation and compatibility.

``JSON.parse`` checks that the text is JSON and a valid JSON Schema for its
declared draft (``$schema``; draft-07 when absent or unknown, as in Confluent),
resolves every ``$ref`` against the schema itself and its references, and returns
a ``JsonParsedSchema`` with Confluent's canonical string (the document
re-serialized compactly, keys in their original order) and a ready validator.
``JSON.check_compatibility`` applies Confluent's JSON Schema diff rules
(``registry.formats.jsonschema_compat``).
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from typing import Any
from urllib.parse import urljoin

import jsonschema
import jsonschema.exceptions
import jsonschema.validators
import referencing
import referencing.exceptions
import referencing.jsonschema
from jsonschema_specifications import REGISTRY as _META_SCHEMAS

from registry.errors import InvalidSchema
from registry.formats.base import (
    MAX_SCHEMA_NESTING,
    Incompatibility,
    PayloadInvalid,
    ResolvedReference,
)
from registry.formats.jsonschema_compat import (
    COMPATIBLE_CHANGES,
    describe,
    diff_schemas,
    format_path,
)
from registry.formats.jsonschema_errors import error_pointer, escape_pointer
from registry.formats.jsonschema_model import ModelBuilder, Node, UnresolvableReference
from registry.json_text import nested_deeper_than

__all__ = [
    "JSON",
    "JsonParsedSchema",
    "JsonPayloadInvalid",
    "JsonPayloadValidator",
    "JsonSchemaFormat",
]

_DIALECTS: dict[str, tuple[str, type[Any]]] = {
    "http://json-schema.org/draft-04/schema": ("draft4", jsonschema.Draft4Validator),
    "http://json-schema.org/draft-06/schema": ("draft6", jsonschema.Draft6Validator),
    "http://json-schema.org/draft-07/schema": ("draft7", jsonschema.Draft7Validator),
    "https://json-schema.org/draft/2019-09/schema": (
        "draft2019-09",
        jsonschema.Draft201909Validator,
    ),
    "https://json-schema.org/draft/2020-12/schema": (
        "draft2020-12",
        jsonschema.Draft202012Validator,
    ),
}
_DEFAULT_DIALECT = _DIALECTS["http://json-schema.org/draft-07/schema"]
_SPECIFICATIONS = {
    "draft4": referencing.jsonschema.DRAFT4,
    "draft6": referencing.jsonschema.DRAFT6,
    "draft7": referencing.jsonschema.DRAFT7,
    "draft2019-09": referencing.jsonschema.DRAFT201909,
    "draft2020-12": referencing.jsonschema.DRAFT202012,
}


class JsonPayloadInvalid(PayloadInvalid):
    """A JSON payload does not match its schema; ``path`` is a JSON pointer into the payload."""


class JsonPayloadValidator:
    """Decode UTF-8 JSON text and validate it (``registry.formats.base.PayloadValidator``)."""

    def __init__(self, schema: JsonParsedSchema) -> None:
        self._schema = schema

    def __call__(self, payload: bytes) -> Any:
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError as error:
            raise JsonPayloadInvalid(
                f"#: the payload is not UTF-8 text ({error.reason} at byte {error.start})", "#"
            ) from None
        try:
            instance = json.loads(text, parse_constant=_refuse_constant)
        except json.JSONDecodeError as error:
            raise JsonPayloadInvalid(
                f"#: the payload is not JSON ({error.msg} at line {error.lineno} "
                f"column {error.colno})",
                "#",
            ) from None
        except (ValueError, RecursionError) as error:
            raise JsonPayloadInvalid(f"#: the payload is not JSON ({error})", "#") from None
        self._schema.validate(instance)
        return instance


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


class JsonParsedSchema:
    """A parsed JSON Schema: canonical string, fingerprint, diff model and payload validator."""

    schema_type = "JSON"

    def __init__(
        self,
        document: Any,
        canonical_string: str,
        references: tuple[ResolvedReference, ...],
        dialect: str,
        validator: Any,
        model: Node,
    ) -> None:
        self.document = document
        self.references = references
        self.dialect = dialect
        self.model = model
        self._canonical_string = canonical_string
        self._validator = validator

    @property
    def canonical_string(self) -> str:
        return self._canonical_string

    @functools.cached_property
    def fingerprint(self) -> str:
        identity = json.dumps(
            [self._canonical_string, [[r.name, r.subject, r.version] for r in self.references]],
            separators=(",", ":"),
            ensure_ascii=False,
        )
        return hashlib.sha256(identity.encode("utf-8")).hexdigest()

    def normalized(self) -> JsonParsedSchema:
        """Keys sorted at every level, references sorted and distinct (Confluent's ``normalize``)."""
        references = tuple(
            sorted(set(self.references), key=lambda r: (r.name, r.subject, r.version))
        )
        return _parse_cached(_dump(_sort_keys(self.document)), references)

    @functools.cached_property
    def payload_validator(self) -> JsonPayloadValidator:
        """Decodes a UTF-8 JSON payload and validates it with this schema's compiled validator."""
        return JsonPayloadValidator(self)

    def validate(self, instance: Any) -> None:
        """Raise ``JsonPayloadInvalid`` naming the first problem when ``instance`` does not match."""
        try:
            error = jsonschema.exceptions.best_match(self._validator.iter_errors(instance))
        except re.error as regex_error:
            raise JsonPayloadInvalid(
                f"The schema uses a pattern this validator cannot evaluate: {regex_error}", "#"
            ) from None
        except referencing.exceptions.Unresolvable as unresolvable:
            raise JsonPayloadInvalid(f"Unresolvable reference: {unresolvable}", "#") from None
        except RecursionError:
            raise JsonPayloadInvalid("The payload is nested too deeply to validate", "#") from None
        if error is not None:
            path = error_pointer(error)
            raise JsonPayloadInvalid(f"{path}: {error.message}", path)

    def is_valid(self, instance: Any) -> bool:
        try:
            self.validate(instance)
        except JsonPayloadInvalid:
            return False
        return True

    def iter_errors(self, instance: Any) -> Iterator[jsonschema.exceptions.ValidationError]:
        return self._validator.iter_errors(instance)

    def __repr__(self) -> str:
        return f"JsonParsedSchema({self._canonical_string[:80]!r})"


class JsonSchemaFormat:
    """The ``JSON`` schema type."""

    schema_type = "JSON"

    def parse(
        self, schema_str: str, references: Sequence[ResolvedReference] = ()
    ) -> JsonParsedSchema:
        if not isinstance(schema_str, str):
            raise InvalidSchema(
                f"Invalid schema: expected a string, got {type(schema_str).__name__}"
            )
        return _parse_cached(schema_str, tuple(references))

    def check_compatibility(
        self,
        reader: JsonParsedSchema,
        writer: JsonParsedSchema,
        *,
        reader_role: str = "new",
        writer_role: str = "old",
    ) -> list[Incompatibility]:
        """Every reason an instance valid under ``writer`` may be invalid under ``reader``.

        The roles are accepted for the common interface; JSON Schema descriptions
        say "reader"/"writer", which stay true in both directions.
        """
        try:
            found = diff_schemas(writer.model, reader.model)
        except RecursionError:
            location = format_path(())
            return [
                Incompatibility(
                    "TYPE_CHANGED", location, "The schemas are nested too deeply to compare"
                )
            ]
        incompatibilities: list[Incompatibility] = []
        for kind, segments in found:
            if kind in COMPATIBLE_CHANGES:
                continue
            location = format_path(segments)
            item = Incompatibility(kind, location, describe(kind, location))
            if item not in incompatibilities:
                incompatibilities.append(item)
        return incompatibilities


JSON = JsonSchemaFormat()


@functools.lru_cache(maxsize=1024)
def _parse_cached(schema_str: str, references: tuple[ResolvedReference, ...]) -> JsonParsedSchema:
    try:
        return _parse(schema_str, references)
    except RecursionError:
        raise InvalidSchema("Invalid schema: nested too deeply to check") from None


def _parse(schema_str: str, references: tuple[ResolvedReference, ...]) -> JsonParsedSchema:
    document = _load_json(schema_str, "schema")
    if not isinstance(document, dict | bool):
        raise InvalidSchema(
            f"Invalid schema: a JSON Schema is an object or a boolean, got {_json_type(document)}"
        )
    dialect, validator_class = _dialect_of(document)
    try:
        validator_class.check_schema(document)
    except jsonschema.exceptions.SchemaError as error:
        raise InvalidSchema(_schema_error_message(error, dialect)) from None
    registry, base_uri = _registry(document, references, dialect)
    resolver = registry.resolver(base_uri=base_uri)
    try:
        model = ModelBuilder(dialect).build(document, resolver)
    except UnresolvableReference as error:
        raise InvalidSchema(f"Invalid schema: {error}") from None
    validator = validator_class(
        document, registry=registry, format_checker=validator_class.FORMAT_CHECKER
    )
    return JsonParsedSchema(document, _dump(document), references, dialect, validator, model)


def _load_json(text: str, what: str) -> Any:
    def reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not valid JSON")

    try:
        document = json.loads(text, parse_constant=reject_constant)
    except json.JSONDecodeError as error:
        raise InvalidSchema(
            f"Invalid {what}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None
    except (ValueError, RecursionError) as error:
        raise InvalidSchema(f"Invalid {what}: not valid JSON ({error})") from None
    if nested_deeper_than(document, MAX_SCHEMA_NESTING):
        raise InvalidSchema(
            f"Invalid {what}: nested too deeply (more than {MAX_SCHEMA_NESTING} levels)"
        )
    return document


def _dialect_of(document: Any) -> tuple[str, type[Any]]:
    if isinstance(document, dict) and isinstance(document.get("$schema"), str):
        return _DIALECTS.get(document["$schema"].rstrip("#"), _DEFAULT_DIALECT)
    return _DEFAULT_DIALECT


def _schema_error_message(error: jsonschema.exceptions.SchemaError, dialect: str) -> str:
    # check_schema already raises the best match among the meta-schema errors
    location = "#" + "".join(f"/{escape_pointer(str(part))}" for part in error.absolute_path)
    return f"Invalid schema: not a valid JSON Schema ({dialect}) at {location}: {error.message}"


def _registry(
    document: Any, references: Sequence[ResolvedReference], dialect: str
) -> tuple[referencing.Registry[Any], str]:
    """Meta-schemas plus every reference, under its name and under the name resolved on ``$id``."""
    id_keyword = "id" if dialect == "draft4" else "$id"
    root_id = document.get(id_keyword) if isinstance(document, dict) else None
    base_uri = root_id if isinstance(root_id, str) else ""
    registry: referencing.Registry[Any] = _META_SCHEMAS
    specification = _SPECIFICATIONS[dialect]
    resources: list[tuple[str, referencing.Resource[Any]]] = []
    for reference in references:
        contents = _load_json(reference.schema_str, f"reference {reference.name!r}")
        resource = referencing.Resource.from_contents(contents, default_specification=specification)
        uris = {reference.name, urljoin(base_uri, reference.name)}
        if not reference.name.startswith((".", "/")) and "://" not in reference.name:
            uris.add("./" + reference.name)
        resources += [(uri, resource) for uri in uris if uri]
    root = referencing.Resource.from_contents(document, default_specification=specification)
    resources.append((base_uri, root))
    return registry.with_resources(resources).crawl(), base_uri


def _dump(document: Any) -> str:
    """Compact JSON as Jackson writes it: no spaces, non-ASCII characters kept."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False)


def _sort_keys(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _sort_keys(value[key]) for key in sorted(value)}
    if isinstance(value, list):
        return [_sort_keys(item) for item in value]
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, str):
        return "a string"
    return "a number"
