"""Which values of a JSON Schema record an ENCRYPT rule encrypts, walked as confluent-kafka does.

confluent-kafka's JSON serde visits a value along its schema: ``properties``
of objects (each property a field named ``$.a.b``, tagged by its
``confluent:tags`` and by the version's ``metadata.tags`` patterns), ``items``
of arrays (each item under its array property's tags), ``$ref``, ``allOf``
(every branch), ``anyOf``/``oneOf`` and ``type`` lists (the branches the value
is valid against). A string under a field whose tags meet the rule's is
encrypted; a tagged value of another type is refused, as Confluent's executor
refuses it, so nothing tagged is sent in plaintext. ``$ref`` to another
document (a schema reference) is not followed yet and is refused when reached.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable, Mapping
from typing import Any

import jsonschema.validators
import referencing
import referencing.jsonschema

from charter.sdk.encryption_keys import EncryptRule
from charter.sdk.errors import ValidationError

__all__ = ["JsonFieldWalker"]

# (value, rule) -> new value: encrypts or decrypts one string
Change = Callable[[str, EncryptRule], str]
_MAX_DEPTH = 64


class JsonFieldWalker:
    """The ENCRYPT rules of one JSON Schema version, applied to values by ``walk``."""

    def __init__(
        self, document: Any, rules: list[EncryptRule], metadata: Mapping[str, Any] | None
    ) -> None:
        self.document = document
        self.rules = rules
        tags = (metadata or {}).get("tags") or {}
        self.metadata_tags: Mapping[str, Any] = tags if isinstance(tags, Mapping) else {}
        self._validator_class = jsonschema.validators.validator_for(
            document if isinstance(document, dict) else {}, default=jsonschema.Draft7Validator
        )
        root = referencing.Resource.from_contents(
            document, default_specification=referencing.jsonschema.DRAFT7
        )
        self._registry: referencing.Registry[Any] = referencing.Registry().with_resource("", root)

    def walk(self, value: Any, change: Change) -> Any:
        """``value`` with every tagged string changed (a copy; ``value`` is left as it is)."""
        return self._visit(self.document, value, "$", None, change, 0)

    def _visit(
        self,
        schema: Any,
        value: Any,
        path: str,
        rule: EncryptRule | None,
        change: Change,
        depth: int,
    ) -> Any:
        if value is None or not isinstance(schema, dict):
            return value
        if depth > _MAX_DEPTH:
            raise self._refuse(path, "is nested too deeply (or recursive) to encrypt")
        depth += 1
        kinds = schema.get("type")
        if isinstance(kinds, list) and kinds:
            for kind in kinds:
                if self._fits({**schema, "type": kind}, value):
                    return self._visit({**schema, "type": kind}, value, path, rule, change, depth)
        combined = [key for key in ("allOf", "anyOf", "oneOf") if key in schema]
        if combined:
            for key in combined:
                for branch in schema[key]:
                    if key == "allOf" or self._fits(branch, value):
                        value = self._visit(branch, value, path, rule, change, depth)
                        if key == "oneOf":
                            break
            return self._siblings(schema, value, path, rule, change, depth)
        if "$ref" in schema:
            return self._visit(
                self._resolve(schema["$ref"], path), value, path, rule, change, depth
            )
        if isinstance(value, dict | list):
            return self._siblings(schema, value, path, rule, change, depth)
        if rule is None:
            return value
        if not isinstance(value, str):
            raise self._refuse(path, f"is {type(value).__name__}: only strings can be encrypted")
        return change(value, rule)

    def _siblings(
        self,
        schema: dict,
        value: Any,
        path: str,
        rule: EncryptRule | None,
        change: Change,
        depth: int,
    ) -> Any:
        properties = schema.get("properties")
        if isinstance(value, dict) and isinstance(properties, dict):
            value = dict(value)
            for name, subschema in properties.items():
                if name in value and isinstance(subschema, dict):
                    where = f"{path}.{name}"
                    value[name] = self._visit(
                        subschema,
                        value[name],
                        where,
                        self._rule_for(where, subschema),
                        change,
                        depth,
                    )
        items = schema.get("items")
        if isinstance(value, list) and isinstance(items, dict):
            value = [self._visit(items, item, path, rule, change, depth) for item in value]
        return value

    def _rule_for(self, where: str, subschema: dict) -> EncryptRule | None:
        tags = {str(tag) for tag in subschema.get("confluent:tags") or ()}
        for pattern, extra in self.metadata_tags.items():
            if fnmatch.fnmatchcase(where, pattern):
                tags.update(str(tag) for tag in extra)
        return next((rule for rule in self.rules if rule.tags & tags), None)

    def _fits(self, schema: Any, value: Any) -> bool:
        validator = self._validator_class(schema, registry=self._registry)
        try:
            return bool(validator.is_valid(value))
        except referencing.exceptions.Unresolvable:
            return False

    def _resolve(self, ref: str, path: str) -> Any:
        if not ref.startswith("#"):
            raise self._refuse(path, f"refers to {ref!r}: references to other documents are "
                               "not followed by the SDK's encryption yet")  # fmt: skip
        try:
            return self._registry.resolver(base_uri="").lookup(ref).contents
        except referencing.exceptions.Unresolvable:
            raise self._refuse(path, f"refers to {ref!r}, which does not resolve") from None

    def _refuse(self, path: str, why: str) -> ValidationError:
        name = self.rules[0].name
        return ValidationError(f"#: ENCRYPT rule {name!r}: field {path} {why}", "#", rule=name)
