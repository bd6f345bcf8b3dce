"""The registry service's request and answer types (what ``registry.api`` builds and formats)."""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import Any

from registry.compatibility import CompatibilityLevel
from registry.errors import InvalidMode
from registry.store import Reference, StoredSchema

__all__ = [
    "ALL",
    "LATEST",
    "CompatibilityResult",
    "ConfigUpdate",
    "ConfigView",
    "Mode",
    "Page",
    "RegisteredVersion",
    "SchemaRequest",
]

LATEST = -1
"""The version number that means "the latest live version" (``latest`` or ``-1`` in URLs)."""


class Mode(enum.StrEnum):
    READWRITE = "READWRITE"
    READONLY = "READONLY"
    READONLY_OVERRIDE = "READONLY_OVERRIDE"
    IMPORT = "IMPORT"

    @classmethod
    def parse(cls, text: object) -> Mode:
        if isinstance(text, str):
            try:
                return cls(text.upper())
            except ValueError:
                pass
        raise InvalidMode(
            "Invalid mode. Valid values are READWRITE, READONLY, READONLY_OVERRIDE and IMPORT; "
            f"got {text!r}"
        )


@dataclasses.dataclass(frozen=True)
class SchemaRequest:
    """A schema as clients send it to register, look up or test compatibility."""

    schema: str
    schema_type: str = "AVRO"
    references: tuple[Reference, ...] = ()
    metadata: dict[str, Any] | None = None
    rule_set: dict[str, Any] | None = None
    schema_id: int | None = None
    version: int | None = None


@dataclasses.dataclass(frozen=True)
class RegisteredVersion:
    """One subject version and its schema."""

    subject: str
    version: int
    schema: StoredSchema
    deleted: bool = False


@dataclasses.dataclass(frozen=True)
class CompatibilityResult:
    is_compatible: bool
    messages: list[str]


@dataclasses.dataclass(frozen=True)
class ConfigUpdate:
    """A PUT /config body: a level and/or other options (``normalize``, ...)."""

    compatibility: CompatibilityLevel | None = None
    options: dict[str, Any] = dataclasses.field(default_factory=dict)


@dataclasses.dataclass(frozen=True)
class ConfigView:
    compatibility: CompatibilityLevel | None
    options: dict[str, Any]


@dataclasses.dataclass(frozen=True)
class Page:
    """``offset``/``limit`` query parameters; a negative limit means no limit."""

    offset: int = 0
    limit: int = -1

    def apply(self, items: Sequence[Any]) -> list[Any]:
        start = max(self.offset, 0)
        if self.limit < 0:
            return list(items[start:])
        return list(items[start : start + self.limit])


ALL = Page()


ALL = Page()
