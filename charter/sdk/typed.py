"""Typed records: a dataclass or a marshmallow schema turned into an Avro record schema.

So an application's model and its data contract stay one definition:
``avro_schema_of(Order)`` gives the record schema ``Producer.produce`` registers
when ``schema=Order`` is passed, and ``to_plain(order)`` the dict it writes for a
dataclass instance. Mapping: ``int`` → long, ``float`` → double, ``str`` →
string, ``bool`` → boolean, ``bytes`` → bytes, ``datetime`` → long
(timestamp-millis), ``date`` → int (date), ``UUID`` → string (uuid), ``Enum``
→ enum, ``X | None`` → ``["null", X]`` (default null), ``list[X]`` → array,
``dict[str, X]`` → map, a nested dataclass or ``Nested`` schema → record.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import types
import typing
import uuid
from typing import Any

__all__ = ["avro_schema_of", "is_typed", "to_plain"]

_PRIMITIVES: dict[Any, Any] = {
    int: "long",
    float: "double",
    str: "string",
    bool: "boolean",
    bytes: "bytes",
    datetime.datetime: {"type": "long", "logicalType": "timestamp-millis"},
    datetime.date: {"type": "int", "logicalType": "date"},
    uuid.UUID: {"type": "string", "logicalType": "uuid"},
}


def _is_marshmallow(schema: Any) -> bool:
    try:
        import marshmallow
    except ImportError:  # pragma: no cover - marshmallow is a dependency
        return False
    return isinstance(schema, marshmallow.Schema) or (
        isinstance(schema, type) and issubclass(schema, marshmallow.Schema)
    )


def is_typed(schema: Any) -> bool:
    """True for a dataclass (class or instance) or a marshmallow schema (class or instance)."""
    return dataclasses.is_dataclass(schema) or _is_marshmallow(schema)


def avro_schema_of(model: Any, namespace: str | None = None) -> dict[str, Any]:
    """The Avro record schema of a dataclass or a marshmallow schema."""
    if dataclasses.is_dataclass(model):
        cls = model if isinstance(model, type) else type(model)
        return _Dataclasses(namespace).record(cls)
    if _is_marshmallow(model):
        return _Marshmallow(namespace).record(model)
    raise TypeError(f"{model!r} is neither a dataclass nor a marshmallow schema")


def to_plain(value: Any) -> Any:
    """A dataclass instance as the dict the encoder writes (enums by name); other values as they are."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            field.name: to_plain(getattr(value, field.name)) for field in dataclasses.fields(value)
        }
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, list | tuple):
        return [to_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: to_plain(item) for key, item in value.items()}
    return value


def _record(name: str, namespace: str | None, fields: list[dict[str, Any]], doc: str | None):
    record: dict[str, Any] = {"type": "record", "name": name}
    if namespace:
        record["namespace"] = namespace
    if doc:
        record["doc"] = doc
    record["fields"] = fields
    return record


class _Dataclasses:
    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace
        self.seen: set[str] = set()

    def record(self, cls: type) -> Any:
        if cls.__name__ in self.seen:
            return cls.__name__
        self.seen.add(cls.__name__)
        hints = typing.get_type_hints(cls)
        fields = []
        for field in dataclasses.fields(cls):
            avro_field: dict[str, Any] = {
                "name": field.name,
                "type": self.type_of(hints[field.name]),
            }
            if field.default is not dataclasses.MISSING and _plain_default(field.default):
                avro_field["default"] = to_plain(field.default)
            fields.append(avro_field)
        doc = (
            cls.__doc__ if cls.__doc__ and not cls.__doc__.startswith(cls.__name__ + "(") else None
        )
        return _record(cls.__name__, self.namespace, fields, doc)

    def type_of(self, hint: Any) -> Any:
        if hint in _PRIMITIVES:
            return _PRIMITIVES[hint]
        origin, args = typing.get_origin(hint), typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            others = [arg for arg in args if arg is not type(None)]
            branches = [self.type_of(arg) for arg in others]
            return ["null", *branches] if len(others) < len(args) else branches
        if origin in (list, tuple, typing.Sequence) or hint in (list, tuple):
            return {"type": "array", "items": self.type_of(args[0] if args else str)}
        if origin is dict:
            return {"type": "map", "values": self.type_of(args[1] if args else str)}
        if isinstance(hint, type) and issubclass(hint, enum.Enum):
            if hint.__name__ in self.seen:
                return hint.__name__
            self.seen.add(hint.__name__)
            return {"type": "enum", "name": hint.__name__, "symbols": [m.name for m in hint]}
        if dataclasses.is_dataclass(hint):
            return self.record(hint)
        raise TypeError(f"no Avro type for the annotation {hint!r}")


def _plain_default(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str | enum.Enum)


class _Marshmallow:
    def __init__(self, namespace: str | None) -> None:
        self.namespace = namespace

    def record(self, schema: Any) -> dict[str, Any]:
        instance = schema() if isinstance(schema, type) else schema
        name = type(instance).__name__.removesuffix("Schema") or "Record"
        fields = []
        for field_name, field in instance.fields.items():
            avro_type = self.type_of(field)
            avro_field: dict[str, Any] = {"name": field.data_key or field_name, "type": avro_type}
            if not field.required or field.allow_none:
                avro_field["type"] = ["null", avro_type]
                avro_field["default"] = None
            fields.append(avro_field)
        return _record(name, self.namespace, fields, None)

    def type_of(self, field: Any) -> Any:
        from marshmallow import fields as mf

        table: list[tuple[type, Any]] = [
            (mf.Boolean, "boolean"),
            (mf.Integer, "long"),
            (mf.Float, "double"),
            (mf.UUID, {"type": "string", "logicalType": "uuid"}),
            (mf.String, "string"),
            (mf.DateTime, {"type": "long", "logicalType": "timestamp-millis"}),
            (mf.Date, {"type": "int", "logicalType": "date"}),
        ]
        for field_class, avro_type in table:
            if isinstance(field, field_class):
                return avro_type
        if isinstance(field, mf.Nested):
            return self.record(field.schema)
        if isinstance(field, mf.List):
            return {"type": "array", "items": self.type_of(field.inner)}
        if isinstance(field, mf.Dict):
            values = field.value_field
            return {"type": "map", "values": self.type_of(values) if values else "string"}
        if isinstance(field, mf.Enum):
            return {
                "type": "enum",
                "name": field.enum.__name__,
                "symbols": [m.name for m in field.enum],
            }
        raise TypeError(f"no Avro type for the marshmallow field {type(field).__name__}")
