"""Policies and data-contract rules survive a restart of the whole Charter."""

from __future__ import annotations

import types
from pathlib import Path

import pytest
from kio.schema.errors import ErrorCode

from tests.broker.test_server_handlers import _batch, _Client, _produce
from tests.governance.records import ORDER, POSITIVE_AMOUNT, avro, framed, order
from tests.governance.stack import start_stack

pytestmark = pytest.mark.slow


def test_policies_and_rules_are_enforced_after_a_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_stack(data_dir)
    try:
        first.create_topic("orders")
        schema_id = first.schema_id("orders-value", ORDER, rule_set=POSITIVE_AMOUNT)
        assert first.put_policy("max-record-bytes", params={"max_bytes": 64}).ok
    finally:
        first.stop()

    second = start_stack(data_dir)
    client = _Client(types.SimpleNamespace(port=second.broker.port))
    try:
        assert _produce(client, "orders", _batch([order(schema_id)])).error_code == 0
        failing_rule = _produce(client, "orders", _batch([order(schema_id, amount=-1.0)]))
        assert failing_rule.error_code == ErrorCode.invalid_record
        assert "positive_amount" in failing_rule.error_message
        big = {"id": 1, "amount": 1.0, "customer": "x" * 100}
        too_big = framed(schema_id, avro(ORDER, big))
        answer = _produce(client, "orders", _batch([too_big]))
        assert answer.error_code == ErrorCode.invalid_record
        assert "max-record-bytes" in answer.error_message
    finally:
        client.close()
        second.stop()
