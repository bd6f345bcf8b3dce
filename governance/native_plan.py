"""Plans for the native gate: what the C walk runs for one schema id, or None.

``build_plan(schema, named, rules)`` compiles what the Python fast path runs
for one schema id (``registry.formats.avro_decode``'s generated decoder and
``governance.cel_fast``'s rule functions) into the two int64 programs the C
walk (``governance/native/gate_native.c``) runs: the Avro program
(``governance.native_avro``) and the rule programs (``governance.native_rules``).
It answers None when some part is outside what the programs model, and the
schema then keeps the Python path.
"""

from __future__ import annotations

import array
from collections.abc import Mapping
from typing import Any

from governance.cel_fast import _Unsupported
from governance.native_avro import N_REST, AvroCompiler, Unmodelled, root_record
from governance.native_rules import PlanState, RuleCompiler
from governance.rules import RuleSet

__all__ = ["ID_ONLY", "PlanSource", "build_plan"]

PlanSource = tuple[bytes, bytes, tuple[bytes, ...]]
"""What ``_gate_native.Plan`` is built from: the Avro program, the rule programs, strings."""


ID_ONLY: PlanSource = (array.array("q", [2, 0, N_REST]).tobytes(), b"", ())
"""The plan of validation ``id``: framing and subject only, the payload not read."""


def build_plan(schema: Any, named: Mapping[str, Any], rules: RuleSet) -> PlanSource | None:
    """The programs of one schema (fastavro's parsed form and its named types) and its
    compiled ``rules``; None when the native walk cannot stand for the Python fast path."""
    root = root_record(schema, named)
    state = PlanState(root, named)
    header: list[int] = []
    body: list[int] = []
    base = 1 + 4 * len(rules.rules)
    try:
        for rule in rules.rules:
            if rule.rule_type != "CEL" or rule.message_fields is None:
                return None
            if rule.condition.fast is None or (rule.guard is not None and rule.guard.fast is None):
                return None
            guard = RuleCompiler(state, rule.guard.source).compile() if rule.guard else None
            condition = RuleCompiler(state, rule.condition.source).compile()
            if guard is None:
                header += [-1, 0]
            else:
                header += [base + len(body), len(guard)]
                body += guard
            header += [base + len(body), len(condition)]
            body += condition
        compiler = AvroCompiler(named)
        if root is not None:
            compiler.code[0] = compiler.record(root, state.slots)
        else:
            compiler.code[0] = compiler.node(schema)
    except (Unmodelled, _Unsupported, KeyError, TypeError, ValueError, RecursionError):
        return None
    compiler.code[1] = len(state.slots)
    rules_code = [len(rules.rules), *header, *body] if rules.rules else []
    return (
        array.array("q", compiler.code).tobytes(),
        array.array("q", rules_code).tobytes(),
        tuple(state.strings),
    )
