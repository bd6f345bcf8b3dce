"""Shared schemas and raw record bytes for the gate tests (Confluent wire format by hand)."""

from __future__ import annotations

import io
import struct
from typing import Any

import fastavro

ORDER = {
    "type": "record",
    "name": "Order",
    "namespace": "com.acme",
    "fields": [
        {"name": "id", "type": "long"},
        {"name": "amount", "type": "double"},
        {"name": "customer", "type": "string"},
    ],
}
PAYMENT = {
    "type": "record",
    "name": "Payment",
    "namespace": "com.acme",
    "fields": [{"name": "reference", "type": "string"}],
}
POSITIVE_AMOUNT = {
    "domainRules": [
        {
            "name": "positive_amount",
            "kind": "CONDITION",
            "mode": "WRITE",
            "type": "CEL",
            "expr": "message.amount > 0.0",
        }
    ]
}


def dlq_rules(topic: str) -> dict[str, Any]:
    rule = dict(POSITIVE_AMOUNT["domainRules"][0])
    rule.update(onFailure="DLQ", params={"dlq.topic": topic})
    return {"domainRules": [rule]}


def avro(schema: Any, value: Any) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), value)
    return buffer.getvalue()


def framed(schema_id: int, payload: bytes) -> bytes:
    return b"\x00" + struct.pack(">I", schema_id) + payload


def order(schema_id: int, amount: float = 10.0, order_id: int = 1) -> bytes:
    return framed(schema_id, avro(ORDER, {"id": order_id, "amount": amount, "customer": "ada"}))
