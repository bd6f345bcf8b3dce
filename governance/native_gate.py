"""The gate's native passing path: a whole batch vouched for in one C call, or not at all.

``governance._gate_native`` (built from ``governance/native/gate_native.c``
when the machine has a C compiler: an optional extension) walks a batch's
records section and, per record, the value's framing, its Avro payload and
its schema's rule conditions, without building a Python object per record.
``plan_for`` compiles what it runs per schema id (``governance.native_plan``)
for the schemas whose Python fast path (``governance.avro_fastpath``) it can
stand for; ``check`` answers the per-schema-id record counts when it vouches
for every record, else None, and the gate's Python path then runs on the
batch as it would without this module (it finds the reason, so verdicts,
messages and dead letters stay the Python path's).

Without the extension (``AVAILABLE`` false) everything takes the Python path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from governance.avro_fastpath import RuleCheckedValidator
from governance.native_plan import ID_ONLY, build_plan
from governance.rules import RuleSet
from registry.formats.avro import AvroSchema
from registry.formats.avro_payload import AvroPayloadValidator
from registry.formats.base import ParsedSchema, PayloadValidator

_ABI = 4  # what this module and governance.native_plan speak (gate_native.c's ABI)
_stale = False

try:
    from governance import _gate_native
except ImportError:  # not built: the pure-Python path
    _gate_native = None
if _gate_native is not None and getattr(_gate_native, "ABI", None) != _ABI:
    _gate_native, _stale = None, True  # built from other sources: rebuild it

__all__ = ["AVAILABLE", "ID_ONLY_PLAN", "announce", "check", "plan_for"]

log = logging.getLogger(__name__)

AVAILABLE = _gate_native is not None
ID_ONLY_PLAN = _gate_native.Plan(*ID_ONLY) if _gate_native is not None else None
"""The plan for a part validated ``id``: its framing and subject were checked by resolving."""
_announced = False


def announce() -> None:
    """Log once per process which path the gate's passing records take."""
    global _announced
    if _announced:
        return
    _announced = True
    if AVAILABLE:
        log.info("produce gate: native batch check (governance._gate_native)")
    elif _stale:
        log.warning(
            "produce gate: pure-Python checks (governance._gate_native is a stale build; "
            "rebuild it with `pip install -e .` or `python setup.py build_ext --inplace`)"
        )
    else:
        log.info("produce gate: pure-Python checks (governance._gate_native is not built)")


def plan_for(parsed: ParsedSchema, rules: RuleSet, validator: PayloadValidator) -> Any | None:
    """The native plan of one schema id (its parsed schema, compiled rules and the validator
    the gate runs), or None when the native walk cannot stand for the Python fast path."""
    if _gate_native is None or not isinstance(parsed, AvroSchema):
        return None
    if not isinstance(validator, RuleCheckedValidator):
        return None  # a rule without a fast function: the runtime decides, in Python
    inner = validator.validator
    if not isinstance(inner, AvroPayloadValidator) or inner.decode is None:
        return None  # fastavro decodes (its own acceptance): Python
    schema, named = inner.parsed
    try:  # a planner bug costs speed, never the gate
        source = build_plan(schema, named, rules)
        return None if source is None else _gate_native.Plan(*source)
    except Exception:
        log.exception("no native gate plan for this schema: it takes the Python path")
        return None


def check(
    section: bytes,
    count: int,
    resolve_value: Callable[[int], Any],
    resolve_key: Callable[[int], Any] | None,
) -> dict[int | None, int] | None:
    """Records per value schema id (None: tombstones) when every record of the records
    ``section`` passes; else None.

    ``resolve_value(schema_id)`` answers the plan for a value framed with that
    id (None: not vouched for), ``resolve_key`` the same for keys (None: keys
    are not checked); each is called once per distinct id, holding the GIL.
    """
    if _gate_native is None:
        return None
    answer = _gate_native.check(section, count, resolve_value, resolve_key)
    return answer if isinstance(answer, dict) else None
