"""A schema's GUID: the content-derived UUID Confluent Schema Registry 8 gives every schema.

Confluent hashes the schema's canonical text, its references, its metadata and
its rule set with MD5 (``Schema.updateHash``) and reads the 16 bytes as a UUID,
so the same schema content has the same GUID wherever it is registered.
Clients use it as an opaque key: serializers may write it in a record header
instead of the 4-byte id, and deserializers read the schema back from
``GET /schemas/guids/{guid}``. A reference is hashed as its name, subject and
version (a 4-byte big-endian int); that byte layout is Charter's reading of
Confluent's, checked only for schemas without references.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Protocol

__all__ = ["schema_guid"]

_RULE_PHASES = ("migrationRules", "domainRules", "encodingRules")
_RULE_TEXT_FIELDS = ("name", "doc", "kind", "mode", "type")
_RULE_ACTION_FIELDS = ("expr", "onSuccess", "onFailure")


class _Reference(Protocol):
    name: str
    subject: str
    version: int


def schema_guid(
    schema_text: str,
    references: Sequence[_Reference],
    metadata: Mapping[str, Any] | None,
    rule_set: Mapping[str, Any] | None,
) -> str:
    """The GUID of a schema (text, references, and the normal forms of metadata and rule set)."""
    digest = hashlib.md5(usedforsecurity=False)
    digest.update(schema_text.encode("utf-8"))
    for ref in references:
        _update_texts(digest, (ref.name, ref.subject))
        digest.update(ref.version.to_bytes(4, "big", signed=True))
    if metadata is not None:
        digest.update(b"\x01")  # present, even if empty (Confluent tells it from null)
        for path, tags in metadata.get("tags", {}).items():
            _update_texts(digest, (path, *tags))
        for key, value in metadata.get("properties", {}).items():
            _update_texts(digest, (key, value))
        _update_texts(digest, metadata.get("sensitive", ()))
    if rule_set is not None:
        digest.update(b"\x01")
        for phase in _RULE_PHASES:
            for rule in rule_set.get(phase) or ():
                _update_rule(digest, rule)
    return str(uuid.UUID(bytes=digest.digest()))


def _update_rule(digest: Any, rule: Mapping[str, Any]) -> None:
    _update_texts(digest, (rule[name] for name in _RULE_TEXT_FIELDS if rule.get(name) is not None))
    _update_texts(digest, rule.get("tags") or ())
    for key, value in (rule.get("params") or {}).items():
        _update_texts(digest, (key, value))
    _update_texts(
        digest, (rule[name] for name in _RULE_ACTION_FIELDS if rule.get(name) is not None)
    )
    if rule.get("disabled"):
        digest.update(b"\x01")


def _update_texts(digest: Any, texts: Iterable[str]) -> None:
    for text in texts:
        digest.update(str(text).encode("utf-8"))
