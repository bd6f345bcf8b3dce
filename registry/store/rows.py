"""The registry's stored values as plain frozen dataclasses (what queries return)."""

from __future__ import annotations

import dataclasses
from typing import Any

from registry.store.guids import schema_guid

__all__ = ["GLOBAL_SCOPE", "Reference", "StoredSchema", "StoredVersion"]

GLOBAL_SCOPE = ""
"""The scope of the global config and mode rows."""


@dataclasses.dataclass(frozen=True)
class Reference:
    """A schema reference as stored and returned: ``{name, subject, version}``."""

    name: str
    subject: str
    version: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "subject": self.subject, "version": self.version}


@dataclasses.dataclass(frozen=True)
class StoredSchema:
    """A schema row: immutable once written."""

    schema_id: int
    schema_type: str
    schema_text: str
    references: tuple[Reference, ...]
    metadata: dict[str, Any] | None
    rule_set: dict[str, Any] | None
    # Confluent's content-derived GUID (``registry.store.guids``), computed when not given; a
    # copy with the text in another format (``dataclasses.replace``) keeps the schema's GUID.
    guid: str = dataclasses.field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.guid:
            guid = schema_guid(self.schema_text, self.references, self.metadata, self.rule_set)
            object.__setattr__(self, "guid", guid)


@dataclasses.dataclass(frozen=True)
class StoredVersion:
    """A (subject, version) row with the schema it points at."""

    subject: str
    version: int
    schema_id: int
    deleted: bool
