"""Migration rules: a record written with one version of a subject, moved to another version.

Confluent's data contracts put ``migrationRules`` on a schema version: TRANSFORM
rules of type ``JSONATA`` whose ``expr`` maps a record of the previous version
to this one (mode ``UPGRADE``), back (``DOWNGRADE``), or either way
(``UPDOWN``). When a consumer reads with a chosen reader version, the rules of
every version between the writer's and the reader's run in order, as
confluent-kafka's deserializers run them:

- upgrade (writer older): for each version after the writer's up to the
  reader's, its UPGRADE/UPDOWN rules, in rule order;
- downgrade (writer newer): for each version from the writer's down to the one
  after the reader's, its DOWNGRADE/UPDOWN rules, in reverse rule order.

Expressions are compiled once (``jsonata-python``, the JSONata port that
confluent-kafka's own ``JsonataExecutor`` uses; docs/decisions.md). A rule of
another type fails closed: the record cannot be migrated, so it is an error,
not a silently unmigrated value.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping, Sequence
from typing import Any

from charter.sdk.errors import ValidationError

__all__ = ["Migration", "MigrationStep", "plan_migration", "versions_between"]

_UPGRADE_MODES = frozenset({"UPGRADE", "UPDOWN"})
_DOWNGRADE_MODES = frozenset({"DOWNGRADE", "UPDOWN"})


@functools.lru_cache(maxsize=512)
def _compiled(expression: str) -> Any:
    import jsonata  # imported on first use: most consumers never migrate

    return jsonata.Jsonata(expression)


@dataclasses.dataclass(frozen=True)
class MigrationStep:
    """One JSONATA rule of one version."""

    rule: str
    version: int
    expression: str

    def apply(self, message: Any) -> Any:
        try:
            program = _compiled(self.expression)
        except Exception as error:  # jsonata raises its own JException for syntax errors
            raise ValidationError(
                f"#: migration rule {self.rule!r} of version {self.version} does not compile: "
                f"{error}",
                "#",
                rule=self.rule,
            ) from None
        try:
            return program.evaluate(message)
        except Exception as error:
            raise ValidationError(
                f"#: migration rule {self.rule!r} of version {self.version} failed: {error}",
                "#",
                rule=self.rule,
            ) from None


@dataclasses.dataclass(frozen=True)
class Migration:
    """The steps from a writer version to a reader version (empty: nothing to run)."""

    steps: tuple[MigrationStep, ...] = ()

    def apply(self, message: Any) -> Any:
        for step in self.steps:
            message = step.apply(message)
        return message


def _steps(version: int, rule_set: Mapping[str, Any] | None, modes: frozenset[str]) -> list[Any]:
    rules = [
        rule
        for rule in (rule_set or {}).get("migrationRules") or ()
        if not rule.get("disabled") and str(rule.get("mode", "")).upper() in modes
    ]
    steps = []
    for rule in rules:
        name = str(rule.get("name") or "unnamed")
        rule_type = str(rule.get("type", "")).upper()
        if rule_type != "JSONATA":
            raise ValidationError(
                f"#: migration rule {name!r} of version {version} has type {rule_type!r}; "
                "the SDK runs JSONATA migration rules only",
                "#",
                rule=name,
            )
        steps.append(MigrationStep(name, version, str(rule.get("expr") or "$")))
    return steps


def plan_migration(
    writer_version: int,
    reader_version: int,
    rule_sets: Mapping[int, Mapping[str, Any] | None],
) -> Migration:
    """The migration from ``writer_version`` to ``reader_version``.

    ``rule_sets`` maps every version strictly after the older of the two up to
    and including the newer to its ``ruleSet`` (versions without one may be
    left out).
    """
    if writer_version == reader_version:
        return Migration()
    steps: list[MigrationStep] = []
    if writer_version < reader_version:
        for version in range(writer_version + 1, reader_version + 1):
            steps += _steps(version, rule_sets.get(version), _UPGRADE_MODES)
    else:
        for version in range(writer_version, reader_version, -1):
            steps += reversed(_steps(version, rule_sets.get(version), _DOWNGRADE_MODES))
    return Migration(tuple(steps))


def versions_between(writer_version: int, reader_version: int) -> Sequence[int]:
    """The versions whose rule sets ``plan_migration`` reads."""
    low, high = sorted((writer_version, reader_version))
    return range(low + 1, high + 1)
