"""Compatibility levels: which live versions a new schema is checked against, and in which direction.

The per-format rules live in ``registry.formats``; this module only applies a
level (BACKWARD, FORWARD, FULL, each optionally transitive, or NONE) over the
subject's live versions, newest first, as Confluent Schema Registry does.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence

from registry.errors import InvalidCompatibilityLevel
from registry.formats import get_format
from registry.formats.base import Incompatibility, ParsedSchema

__all__ = [
    "INVALID_LEVEL_MESSAGE",
    "CompatibilityLevel",
    "ExistingVersion",
    "check_compatibility",
    "parse_level",
]


class CompatibilityLevel(enum.StrEnum):
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"
    NONE = "NONE"

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")

    @property
    def checks_backward(self) -> bool:
        return self.value.startswith(("BACKWARD", "FULL"))

    @property
    def checks_forward(self) -> bool:
        return self.value.startswith(("FORWARD", "FULL"))


DEFAULT_LEVEL = CompatibilityLevel.BACKWARD


# Confluent's RestInvalidCompatibilityException message, word for word (clients match on it).
INVALID_LEVEL_MESSAGE = (
    "Invalid compatibility level. Valid values are none, backward, forward, full, "
    "backward_transitive, forward_transitive, and full_transitive"
)


def parse_level(text: object) -> CompatibilityLevel:
    """Parse a level name as sent by clients; raise 42203 on anything else."""
    if isinstance(text, str):
        try:
            return CompatibilityLevel(text.upper())
        except ValueError:
            pass
    raise InvalidCompatibilityLevel(INVALID_LEVEL_MESSAGE)


@dataclasses.dataclass(frozen=True)
class ExistingVersion:
    """A live version of the subject the new schema is checked against."""

    version: int
    schema: ParsedSchema


def check_compatibility(
    level: CompatibilityLevel,
    new_schema: ParsedSchema,
    live_versions: Sequence[ExistingVersion],
) -> list[str]:
    """Messages for every incompatibility of ``new_schema`` under ``level``; empty when compatible.

    ``live_versions`` are the subject's non-deleted versions in ascending order.
    Non-transitive levels look at the latest one only. The messages follow
    Confluent's verbose format: one entry per incompatibility, then the old
    version, the old schema and the level that was applied.
    """
    if level is CompatibilityLevel.NONE or not live_versions:
        return []
    targets = list(reversed(live_versions)) if level.transitive else [live_versions[-1]]
    messages: list[str] = []
    for existing in targets:
        if existing.schema.schema_type != new_schema.schema_type:
            found = [
                Incompatibility(
                    "TYPE_MISMATCH",
                    "/",
                    f"Incompatible because of different schema type: "
                    f"{existing.schema.schema_type} vs {new_schema.schema_type}",
                )
            ]
        else:
            schema_format = get_format(new_schema.schema_type)
            found = []
            if level.checks_backward:
                found += schema_format.check_compatibility(new_schema, existing.schema)
            if level.checks_forward:
                found += schema_format.check_compatibility(
                    existing.schema, new_schema, reader_role="old", writer_role="new"
                )
        if found:
            messages += [item.confluent_message() for item in _unique(found)]
            messages.append(f"{{oldSchemaVersion: {existing.version}}}")
            messages.append(f"{{oldSchema: '{existing.schema.canonical_string}'}}")
            messages.append(f"{{compatibility: '{level.value}'}}")
            break  # Confluent stops at the first incompatible version
    return messages


def _unique(items: Sequence[Incompatibility]) -> list[Incompatibility]:
    return list(dict.fromkeys(items))
