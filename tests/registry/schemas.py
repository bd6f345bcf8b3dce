"""Avro schema builders the registry tests share."""

from __future__ import annotations

import json
from typing import Any

__all__ = ["record_dict", "record_text"]


def record_text(name: str, *fields: tuple[str, Any], namespace: str) -> str:
    """An Avro record schema text with the given (name, type) fields."""
    return json.dumps(
        {
            "type": "record",
            "name": name,
            "namespace": namespace,
            "fields": [{"name": field, "type": kind} for field, kind in fields],
        }
    )


def record_dict(*fields: dict, name: str = "R", **extra: object) -> dict:
    """An Avro record schema as a JSON value, fields given as whole field objects."""
    return {"type": "record", "name": name, "fields": list(fields), **extra}
