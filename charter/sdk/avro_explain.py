"""Why a value does not match an Avro schema: the first problem, with its field path.

The slow path of ``charter.sdk.avro_encoder``: the generated encoder only says
"mismatch", this walker (same rules, no speed concerns) finds the field and
says what was expected: ``#/address/zip: expected string, got int 12345``.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from typing import Any

from charter.sdk.avro_encoder import logical_python_types

__all__ = ["explain"]

_PACK = {"float": struct.Struct("<f").pack, "double": struct.Struct("<d").pack}
_BOUNDS = {"int": (-(2**31), 2**31 - 1), "long": (-(2**63), 2**63 - 1)}


def explain(schema: Any, named: Mapping[str, Any], value: Any) -> tuple[str, str]:
    """``(path, message)`` of the first mismatch of ``value``; ``("#", …)`` when none is found."""
    problem = _Walker(named).check(schema, value, "#")
    if problem is None:
        return "#", "#: the value does not match the schema"
    return problem


def _describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def _escape(part: str) -> str:
    return part.replace("~", "~0").replace("/", "~1")


class _Walker:
    def __init__(self, named: Mapping[str, Any]) -> None:
        self.named = named

    def resolve(self, schema: Any) -> Any:
        return self.named.get(schema, schema) if isinstance(schema, str) else schema

    def name_of(self, schema: Any) -> str:
        schema = self.resolve(schema)
        if isinstance(schema, str):
            return schema
        if isinstance(schema, list):
            return "union"
        if "logicalType" in schema:
            return f"{schema['type']} ({schema['logicalType']})"
        if schema["type"] in ("record", "error", "enum", "fixed"):
            return f"{schema['type']} {schema['name']}"
        return str(schema["type"])

    def fail(self, path: str, message: str) -> tuple[str, str]:
        return path, f"{path}: {message}"

    def check(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        schema = self.resolve(schema)
        if isinstance(schema, list):
            return self.union(schema, value, path)
        if isinstance(schema, dict) and "logicalType" in schema:
            accepted = logical_python_types().get(schema["logicalType"], ())
            if accepted and isinstance(value, accepted):
                return None
            base = {k: v for k, v in schema.items() if k != "logicalType"}
            return self.check(base if len(base) > 1 else base["type"], value, path)
        kind = schema if isinstance(schema, str) else schema["type"]
        method = getattr(self, f"check_{'record' if kind == 'error' else kind}")
        return method(schema, value, path)

    def expected(self, schema: Any, value: Any, path: str) -> tuple[str, str]:
        return self.fail(path, f"expected {self.name_of(schema)}, got {_describe(value)}")

    def check_null(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        return None if value is None else self.expected(schema, value, path)

    def check_boolean(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        return None if isinstance(value, bool) else self.expected(schema, value, path)

    def _integer(self, kind: str, value: Any, path: str) -> tuple[str, str] | None:
        if type(value) is not int:
            return self.expected(kind, value, path)
        low, high = _BOUNDS[kind]
        if not low <= value <= high:
            return self.fail(path, f"{value} is out of the range of an Avro {kind}")
        return None

    def check_int(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        return self._integer("int", value, path)

    def check_long(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        return self._integer("long", value, path)

    def check_float(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if type(value) not in (int, float):
            return self.expected(schema, value, path)
        kind = self.name_of(schema)
        try:
            _PACK[kind](float(value))
        except OverflowError:
            return self.fail(path, f"{_describe(value)} is out of the range of an Avro {kind}")
        return None

    check_double = check_float

    def check_string(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if type(value) is not str:
            return self.expected(schema, value, path)
        return self.unicode(value, path)

    def unicode(self, text: str, path: str) -> tuple[str, str] | None:
        try:
            text.encode()
        except UnicodeEncodeError as error:
            return self.fail(path, f"not encodable as UTF-8 ({error.reason} at {error.start})")
        return None

    def check_bytes(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        ok = type(value) in (bytes, bytearray)
        return None if ok else self.expected(schema, value, path)

    def check_fixed(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if type(value) is not bytes:
            return self.expected(schema, value, path)
        if len(value) != schema["size"]:
            return self.fail(path, f"expected {schema['size']} bytes, got {len(value)}")
        return None

    def check_enum(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if isinstance(value, str) and value in schema["symbols"]:
            return None
        symbols = ", ".join(schema["symbols"][:10])
        return self.fail(path, f"{_describe(value)} is not one of the symbols {symbols}")

    def check_array(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if type(value) not in (list, tuple):
            return self.expected(schema, value, path)
        for index, item in enumerate(value):
            problem = self.check(schema["items"], item, f"{path}/{index}")
            if problem:
                return problem
        return None

    def check_map(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if not isinstance(value, Mapping):
            return self.expected(schema, value, path)
        for key, item in value.items():
            if type(key) is not str:
                return self.fail(path, f"map keys must be strings, got {_describe(key)}")
            problem = self.unicode(key, path)
            if problem:
                return problem
            problem = self.check(schema["values"], item, f"{path}/{_escape(key)}")
            if problem:
                return problem
        return None

    def check_record(self, schema: Any, value: Any, path: str) -> tuple[str, str] | None:
        if not isinstance(value, Mapping):
            return self.expected(schema, value, path)
        names = {field["name"] for field in schema["fields"]}
        for field in schema["fields"]:
            field_path = f"{path}/{_escape(field['name'])}"
            if field["name"] not in value:
                if "default" in field:
                    continue
                return self.fail(field_path, "missing required field")
            problem = self.check(field["type"], value[field["name"]], field_path)
            if problem:
                return problem
        unknown = [key for key in value if key not in names]
        if unknown:
            return self.fail(f"{path}/{_escape(str(unknown[0]))}", "not a field of the schema")
        return None

    def union(self, branches: list[Any], value: Any, path: str) -> tuple[str, str] | None:
        problems = [self.check(branch, value, path) for branch in branches]
        if any(problem is None for problem in problems):
            return None
        # A mapping that fails only inside one record branch: report the inner field.
        inner = [p for p in problems if p is not None and p[0] != path]
        if len(inner) == 1:
            return inner[0]
        names = ", ".join(self.name_of(branch) for branch in branches)
        return self.fail(path, f"expected one of [{names}], got {_describe(value)}")
