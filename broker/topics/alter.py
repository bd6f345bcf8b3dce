"""IncrementalAlterConfigs: apply SET/DELETE/APPEND/SUBTRACT operations to a topic's overrides.

Checks and messages follow Kafka's ``ConfigAdminManager``: a key may appear once
per request, APPEND/SUBTRACT only apply to LIST configs and need a value, and
an APPEND/SUBTRACT on a config without an override starts from its default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from broker.config_catalog import CONFIG_DEFS, BrokerDefaults, ConfigType, list_value
from broker.errors import InvalidConfig, InvalidRequest

__all__ = ["AlterOp", "apply_alter_ops"]


@dataclasses.dataclass(frozen=True, slots=True)
class AlterOp:
    """One IncrementalAlterConfigs operation: 0 SET, 1 DELETE, 2 APPEND, 3 SUBTRACT."""

    name: str
    op: int
    value: str | None = None

    SET = 0
    DELETE = 1
    APPEND = 2
    SUBTRACT = 3


def apply_alter_ops(
    overrides: Mapping[str, str], ops: Sequence[AlterOp], defaults: BrokerDefaults
) -> dict[str, str | None]:
    """The overrides after ``ops`` (values not validated yet; None values are refused later)."""
    seen: set[str] = set()
    for op in ops:
        if op.name in seen:
            raise InvalidRequest("Error due to duplicate config keys")
        seen.add(op.name)
    result: dict[str, str | None] = dict(overrides)
    for op in ops:
        if op.op == AlterOp.SET:
            result[op.name] = op.value
        elif op.op == AlterOp.DELETE:
            result.pop(op.name, None)
        elif op.op in (AlterOp.APPEND, AlterOp.SUBTRACT):
            result[op.name] = _list_edit(op, result, defaults)
        else:
            raise InvalidRequest(f"Unknown config operation {op.op} for config key: {op.name}")
    return result


def _list_edit(op: AlterOp, overrides: Mapping[str, str | None], defaults: BrokerDefaults) -> str:
    definition = CONFIG_DEFS.get(op.name)
    if definition is None:
        raise InvalidConfig(f"Unknown topic config name: {op.name}")
    verb = "append" if op.op == AlterOp.APPEND else "subtract"
    if definition.type is not ConfigType.LIST:
        raise InvalidRequest(f"Config value {verb} is not allowed for config key: {op.name}")
    if op.value is None:
        raise InvalidRequest(f"Null value not supported for config key: {op.name}")
    current = overrides.get(op.name)
    items = list_value(current if current is not None else defaults.topic_default(op.name))
    changes = list_value(op.value)
    if op.op == AlterOp.APPEND:
        items = list(dict.fromkeys(items + changes))
    else:
        items = [item for item in items if item not in changes]
    return ",".join(items)
