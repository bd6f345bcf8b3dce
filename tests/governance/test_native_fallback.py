"""The gate without its native batch check: same answers on the Python path, said once in the log.

This module runs whether or not ``governance._gate_native`` is built; in CI
(``CI=true``) the extension must be built, so a C build that breaks is noticed
instead of silently falling back.
"""

from __future__ import annotations

import logging
import os

import pytest

from broker.gate import BrokerGate
from broker.protocol.records import Record, build_batch, read_batches, records_section
from governance import native_gate
from governance.gate import GateConfig, GateContext
from governance.schema_gate import SchemaGate
from tests.governance.records import ORDER, POSITIVE_AMOUNT, order
from tests.governance.test_schema_gate import Lookup


def test_ci_builds_the_extension() -> None:
    if os.environ.get("CI") != "true":
        pytest.skip("only CI requires the C extension (pip install -e . builds it)")
    assert native_gate.AVAILABLE, "governance._gate_native did not build (or is stale)"


@pytest.mark.parametrize(
    ("available", "stale", "expected"),
    [
        (True, False, "native batch check"),
        (False, False, "pure-Python checks (governance._gate_native is not built)"),
        (False, True, "stale build"),
    ],
)
def test_the_path_is_logged_once(
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    available: bool,
    stale: bool,
    expected: str,
) -> None:
    monkeypatch.setattr(native_gate, "AVAILABLE", available)
    monkeypatch.setattr(native_gate, "_stale", stale)
    monkeypatch.setattr(native_gate, "_announced", False)
    with caplog.at_level(logging.INFO, logger="governance.native_gate"):
        native_gate.announce()
        native_gate.announce()
    messages = [record.getMessage() for record in caplog.records]
    assert len(messages) == 1 and expected in messages[0]


def test_without_the_extension_the_python_path_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(native_gate, "AVAILABLE", False)
    lookup = Lookup()
    lookup.add(1, "t-value", ORDER, rule_set=POSITIVE_AMOUNT)
    gate = SchemaGate(lookup)
    context = GateContext("t", 0, "User:alice", "client-1", -1, GateConfig())
    good = build_batch([Record(i, 0, None, order(1)) for i in range(3)], timestamp=0)
    header = read_batches(good)[0]
    assert gate.check_encoded(context, records_section(good, header, 1 << 26), 3) is None
    adapter = BrokerGate(gate)
    assert adapter._evaluate(context, good, [header], 1 << 26).records == good
    bad = build_batch([Record(0, 0, None, order(1, amount=-1.0))], timestamp=0)
    admission = adapter._evaluate(context, bad, read_batches(bad), 1 << 26)
    assert admission.rejection is not None and "positive_amount" in admission.rejection.message
