"""Protobuf messages as plain Python values and back: what rules, the SDK and its users see.

``to_python(message, view)`` turns a decoded message into a dict keyed by the
field names as declared (repeated fields are lists, maps dicts, nested messages
dicts). Fields without presence (proto3 scalars, repeated, maps) are always
there, with their default when unset; fields with presence (messages,
``optional``, oneof members, proto2 fields) only when set, so ``has()`` in a
rule and ``in`` in Python answer what ``HasField`` answers. Two views differ
only in how some types come out:

- ``RULES`` (CEL, as Confluent's CEL executor binds a message): enums are
  numbers, ``Timestamp``/``Duration`` stay messages (CEL reads them as its
  timestamp and duration), wrappers are their value;
- ``PYTHON`` (the SDK's consumer): enums are names (the number when unknown),
  ``Timestamp`` an aware UTC ``datetime``, ``Duration`` a ``timedelta``,
  wrappers their value.

``from_python(message_class, value)`` builds a message from such a dict (or
from ``json_format``-style values: enum names or numbers, ``datetime``/``dict``
for a ``Timestamp``), raising ``ValueMismatch`` with a JSON pointer to the
field that does not fit (``#/customer/email``). Converters are compiled once
per message type. ``rule_view(message)`` is the ``RULES`` view as a mapping
that converts a field only when a rule reads it (``MessageView``).
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import math
import re
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from google.protobuf import descriptor
from google.protobuf.message import Message

__all__ = ["MessageView", "ValueMismatch", "View", "from_python", "rule_view", "to_python"]

FD = descriptor.FieldDescriptor
_EPOCH = datetime.datetime(1970, 1, 1, tzinfo=datetime.UTC)
_WRAPPERS = frozenset(
    f"google.protobuf.{name}Value"
    for name in ("String", "Bytes", "Int32", "Int64", "UInt32", "UInt64", "Float", "Double", "Bool")
)
_INT_RANGES = {
    FD.TYPE_INT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SINT32: (-(2**31), 2**31 - 1),
    FD.TYPE_SFIXED32: (-(2**31), 2**31 - 1),
    FD.TYPE_INT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SINT64: (-(2**63), 2**63 - 1),
    FD.TYPE_SFIXED64: (-(2**63), 2**63 - 1),
    FD.TYPE_UINT32: (0, 2**32 - 1),
    FD.TYPE_FIXED32: (0, 2**32 - 1),
    FD.TYPE_UINT64: (0, 2**64 - 1),
    FD.TYPE_FIXED64: (0, 2**64 - 1),
}
_MESSAGE_TYPES = (FD.TYPE_MESSAGE, FD.TYPE_GROUP)
_INT64_TYPES = frozenset(
    {FD.TYPE_INT64, FD.TYPE_SINT64, FD.TYPE_SFIXED64, FD.TYPE_UINT64, FD.TYPE_FIXED64}
)
_DIGITS = re.compile(r"-?[0-9]+", re.ASCII)


class View(enum.Enum):
    RULES = "rules"
    PYTHON = "python"


class ValueMismatch(ValueError):
    """A Python value does not fit a message; ``path`` is a JSON pointer to the field."""

    def __init__(self, path: str, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.message = f"{path}: {problem}"


def _is_map(field: Any) -> bool:
    return (
        field.is_repeated
        and field.message_type is not None
        and field.message_type.GetOptions().map_entry
    )


# -- message -> Python ---------------------------------------------------------------------


def to_python(message: Message, view: View = View.PYTHON) -> Any:
    """``message`` as plain Python values in ``view``."""
    return _reader(message.DESCRIPTOR, view)(message)


_READERS: dict[bool, dict[Any, Callable[[Message], Any]]] = {True: {}, False: {}}
_MAX_READERS = 4096
# Caches are keyed by ``view is View.RULES``: hashing an Enum member runs Python code.


def _reader(message_type: Any, view: View) -> Callable[[Message], Any]:
    """The converter of one message type, built once (nested types resolved on first use)."""
    readers = _READERS[view is View.RULES]
    found = readers.get(message_type)
    if found is None:
        if len(readers) >= _MAX_READERS:
            readers.clear()  # many pools came and went: start over
        found = readers[message_type] = _build_reader(message_type, view)
    return found


_PLAIN, _PRESENCE, _ALWAYS = 0, 1, 2  # how a field is read: a scalar, HasField first, a collection


@dataclasses.dataclass(frozen=True, slots=True)
class _Spec:
    """How to read each field of one message type: ``name -> (how, convert or None)``."""

    fields: dict[str, tuple[int, Callable[[Any], Any] | None]]


_SPECS: dict[bool, dict[Any, _Spec]] = {True: {}, False: {}}


def _spec(message_type: Any, view: View) -> _Spec:
    specs = _SPECS[view is View.RULES]
    found = specs.get(message_type)
    if found is None:
        if len(specs) >= _MAX_READERS:
            specs.clear()
        fields: dict[str, tuple[int, Callable[[Any], Any] | None]] = {}
        for field in message_type.fields:
            convert = _field_reader(field, view)
            how = _ALWAYS if field.is_repeated else _PRESENCE if field.has_presence else _PLAIN
            fields[field.name] = (how, None if convert is _same else convert)
        found = specs[message_type] = _Spec(fields)
    return found


def _build_reader(message_type: Any, view: View) -> Callable[[Message], Any]:
    special = _special_reader(message_type.full_name, view)
    if special is not None:
        return special
    entries = [
        (name, how, convert) for name, (how, convert) in _spec(message_type, view).fields.items()
    ]

    def read(message: Message) -> dict[str, Any]:
        result = {}
        for name, how, convert in entries:
            if how == _PRESENCE and not message.HasField(name):
                continue
            value = getattr(message, name)
            result[name] = value if convert is None else convert(value)
        return result

    return read


class MessageView(Mapping[str, Any]):
    """A message as a read-only mapping that converts a field only when it is read.

    What the rules see (``View.RULES``): a rule that selects two fields of a
    large record converts those two, not the record.
    """

    __slots__ = ("_fields", "_message")

    def __init__(self, message: Message, view: View = View.RULES) -> None:
        self._message = message
        self._fields = _spec(message.DESCRIPTOR, view).fields

    @property
    def message_name(self) -> str:
        """The full name of the message's type (CEL_FIELD rules pick its fields by it)."""
        return str(self._message.DESCRIPTOR.full_name)

    def __getitem__(self, name: str) -> Any:
        entry = self._fields.get(name)
        if entry is None or (entry[0] == _PRESENCE and not self._message.HasField(name)):
            raise KeyError(name)
        value = getattr(self._message, name)
        return value if entry[1] is None else entry[1](value)

    def __contains__(self, name: object) -> bool:
        entry = self._fields.get(name)  # type: ignore[call-overload]
        return entry is not None and (
            entry[0] != _PRESENCE or self._message.HasField(name)  # type: ignore[arg-type]
        )

    def __iter__(self) -> Iterator[str]:
        return (name for name in self._fields if name in self)

    def __len__(self) -> int:
        return sum(1 for _ in self)


def rule_view(message: Message) -> Any:
    """What CEL rules bind as ``message``: a ``MessageView`` (or the value of a wrapper type)."""
    special = _special_reader(message.DESCRIPTOR.full_name, View.RULES)
    return MessageView(message) if special is None else special(message)


def _same(value: Any) -> Any:
    return value


def _field_reader(field: Any, view: View) -> Callable[[Any], Any]:
    if _is_map(field):
        key_field, value_field = field.message_type.fields
        read_key, read_value = _scalar_reader(key_field, view), _scalar_reader(value_field, view)
        if read_key is _same and read_value is _same:
            return dict
        return lambda entries: {read_key(k): read_value(v) for k, v in entries.items()}
    single = _scalar_reader(field, view)
    if field.is_repeated:
        if single is _same:
            return list
        return lambda items: [single(item) for item in items]
    return single


def _scalar_reader(field: Any, view: View) -> Callable[[Any], Any]:
    if field.type in _MESSAGE_TYPES:
        return _Nested(field.message_type, view)
    if field.type == FD.TYPE_ENUM and view is View.PYTHON:
        names = {value.number: value.name for value in field.enum_type.values}
        return lambda number: names.get(number, number)
    return _same


class _Nested:
    """A nested message's converter, looked up on first use (types may be recursive)."""

    __slots__ = ("_read", "message_type", "view")

    def __init__(self, message_type: Any, view: View) -> None:
        self.message_type = message_type
        self.view = view
        self._read: Callable[[Message], Any] | None = None

    def __call__(self, value: Message) -> Any:
        read = self._read
        if read is None:
            read = self._read = _reader(self.message_type, self.view)
        return read(value)


def _special_reader(full_name: str, view: View) -> Callable[[Message], Any] | None:
    if full_name in _WRAPPERS:
        return lambda wrapper: wrapper.value
    if view is View.RULES:
        return None if full_name not in _CEL_NATIVE else _same
    if full_name == "google.protobuf.Timestamp":
        return lambda ts: (
            _EPOCH + datetime.timedelta(seconds=ts.seconds, microseconds=ts.nanos // 1000)
        )
    if full_name == "google.protobuf.Duration":
        return lambda d: datetime.timedelta(seconds=d.seconds, microseconds=d.nanos // 1000)
    return None


_CEL_NATIVE = frozenset({"google.protobuf.Timestamp", "google.protobuf.Duration"})


# -- Python -> message ---------------------------------------------------------------------


def from_python(message_class: Any, value: Any, path: str = "#") -> Message:
    """A ``message_class`` holding ``value`` (a mapping of field names, or such a message)."""
    message = message_class()
    _fill(message, value, path)
    return message


def _fill(message: Message, value: Any, path: str) -> None:
    message_type = message.DESCRIPTOR
    if isinstance(value, Message):
        if value.DESCRIPTOR.full_name != message_type.full_name:
            raise ValueMismatch(
                path, f"expected {message_type.full_name}, got {value.DESCRIPTOR.full_name}"
            )
        message.MergeFromString(value.SerializeToString())
        return
    if _fill_special(message, value, path):
        return
    if not isinstance(value, Mapping):
        raise ValueMismatch(
            path, f"expected an object for {message_type.full_name}, got {_kind(value)}"
        )
    fields = message_type.fields_by_name
    for name, item in value.items():
        field = fields.get(name) if isinstance(name, str) else None
        if field is None:
            field = _by_json_name(message_type, name)
        if field is None:
            raise ValueMismatch(f"{path}/{name}", f"no field {name!r} in {message_type.full_name}")
        if item is None:
            continue  # unset, as json_format reads null
        _set_field(message, field, item, f"{path}/{field.name}")
    if not message.IsInitialized():
        missing = message.FindInitializationErrors()
        raise ValueMismatch(f"{path}/{missing[0].replace('.', '/')}", "required field missing")


def _by_json_name(message_type: Any, name: Any) -> Any:
    for field in message_type.fields:
        if field.json_name == name:
            return field
    return None


def _set_field(message: Message, field: Any, item: Any, path: str) -> None:
    if _is_map(field):
        if not isinstance(item, Mapping):
            raise ValueMismatch(path, f"expected an object (map), got {_kind(item)}")
        key_field, value_field = field.message_type.fields
        target = getattr(message, field.name)
        for key, entry in item.items():
            key_path = f"{path}/{key}"
            checked_key = _scalar(key_field, key, key_path)
            if value_field.type in _MESSAGE_TYPES:
                _fill(target[checked_key], entry, key_path)
            else:
                target[checked_key] = _scalar(value_field, entry, key_path)
        return
    if field.is_repeated:
        if isinstance(item, str | bytes | Mapping) or not hasattr(item, "__iter__"):
            raise ValueMismatch(path, f"expected a list, got {_kind(item)}")
        target = getattr(message, field.name)
        for index, element in enumerate(item):
            element_path = f"{path}/{index}"
            if field.type in _MESSAGE_TYPES:
                _fill(target.add(), element, element_path)
            else:
                target.append(_scalar(field, element, element_path))
        return
    if field.type in _MESSAGE_TYPES:
        _fill(getattr(message, field.name), item, path)
        if not getattr(message, field.name).ListFields():
            getattr(message, field.name).SetInParent()  # an empty object still sets the field
        return
    setattr(message, field.name, _scalar(field, item, path))


def _scalar(field: Any, value: Any, path: str) -> Any:
    kind = field.type
    if kind in _INT_RANGES:
        if isinstance(value, bool) or not isinstance(value, int):
            if kind in _INT64_TYPES and isinstance(value, str) and _DIGITS.fullmatch(value):
                value = int(value)  # 64-bit integers as json_format writes them
            else:
                raise ValueMismatch(path, f"expected an integer, got {_kind(value)}")
        low, high = _INT_RANGES[kind]
        if not low <= value <= high:
            raise ValueMismatch(path, f"{value} is out of range for {_type_name(field)}")
        return value
    if kind in (FD.TYPE_DOUBLE, FD.TYPE_FLOAT):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueMismatch(path, f"expected a number, got {_kind(value)}")
        if kind == FD.TYPE_FLOAT and math.isfinite(value) and abs(value) > 3.4028234663852886e38:
            raise ValueMismatch(path, f"{value} is out of range for float")
        return float(value)
    if kind == FD.TYPE_BOOL:
        if not isinstance(value, bool):
            raise ValueMismatch(path, f"expected a boolean, got {_kind(value)}")
        return value
    if kind == FD.TYPE_STRING:
        if not isinstance(value, str):
            raise ValueMismatch(path, f"expected a string, got {_kind(value)}")
        return value
    if kind == FD.TYPE_BYTES:
        if not isinstance(value, bytes | bytearray | memoryview):
            raise ValueMismatch(path, f"expected bytes, got {_kind(value)}")
        return bytes(value)
    if kind == FD.TYPE_ENUM:
        return _enum_number(field, value, path)
    raise ValueMismatch(path, f"unsupported field type {kind}")


def _enum_number(field: Any, value: Any, path: str) -> int:
    enum_type = field.enum_type
    if isinstance(value, str):
        found = enum_type.values_by_name.get(value)
        if found is None:
            names = ", ".join(enum_type.values_by_name)
            raise ValueMismatch(
                path, f"{value!r} is not a value of {enum_type.full_name} ({names})"
            )
        return int(found.number)
    if isinstance(value, int) and not isinstance(value, bool):
        closed = getattr(enum_type, "is_closed", False)
        if closed and value not in enum_type.values_by_number:
            raise ValueMismatch(path, f"{value} is not a value of {enum_type.full_name}")
        if not -(2**31) <= value <= 2**31 - 1:
            raise ValueMismatch(path, f"{value} is out of range for an enum")
        return value
    raise ValueMismatch(path, f"expected an enum name or number, got {_kind(value)}")


def _fill_special(message: Message, value: Any, path: str) -> bool:
    """Well-known types from their natural Python values; True when handled."""
    full_name = message.DESCRIPTOR.full_name
    if full_name in _WRAPPERS and not isinstance(value, Mapping):
        field = message.DESCRIPTOR.fields_by_name["value"]
        message.value = _scalar(field, value, path)  # type: ignore[attr-defined]
        return True
    if full_name == "google.protobuf.Timestamp" and isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            raise ValueMismatch(path, "expected an aware datetime (with a time zone)")
        delta = value - _EPOCH
        seconds = delta.days * 86400 + delta.seconds
        message.seconds, message.nanos = seconds, delta.microseconds * 1000  # type: ignore[attr-defined]
        return True
    if full_name == "google.protobuf.Duration" and isinstance(value, datetime.timedelta):
        total = value.days * 86400 + value.seconds
        micros = value.microseconds
        if total < 0 and micros:  # a Duration's nanos carry the sign of its seconds
            total, micros = total + 1, micros - 1_000_000
        message.seconds, message.nanos = total, micros * 1000  # type: ignore[attr-defined]
        return True
    return False


def _type_name(field: Any) -> str:
    names = {
        FD.TYPE_INT32: "int32",
        FD.TYPE_SINT32: "sint32",
        FD.TYPE_SFIXED32: "sfixed32",
        FD.TYPE_INT64: "int64",
        FD.TYPE_SINT64: "sint64",
        FD.TYPE_SFIXED64: "sfixed64",
        FD.TYPE_UINT32: "uint32",
        FD.TYPE_FIXED32: "fixed32",
        FD.TYPE_UINT64: "uint64",
        FD.TYPE_FIXED64: "fixed64",
    }
    return names.get(field.type, str(field.type))


def _kind(value: Any) -> str:
    return type(value).__name__
