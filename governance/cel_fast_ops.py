"""What the CEL fast path's generated code calls: CEL's semantics on plain Python values.

Each helper answers what cel-cpp answers for the values it models, or raises
``Miss`` (the runtime then decides): see ``governance.cel_fast`` for what is
modelled and why.
"""

from __future__ import annotations

from typing import Any

__all__ = ["HELPERS", "MISS", "Miss", "UInt"]

MISS: Any = object()
"""What a fast function answers when the runtime must decide."""

_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1
_EXACT = 2**53  # ints up to this magnitude convert to double exactly


class Miss(Exception):
    """Raised while evaluating: the runtime decides."""


class UInt(int):
    """A CEL ``uint`` (only literals make one here)."""

    __slots__ = ()


def _miss() -> Any:
    raise Miss


def _valid_text(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _convertible(value: Any) -> bool:
    """Whether the runtime converts ``value`` into CEL without an error (and as we model it)."""
    kind = type(value)
    if kind is dict:  # the usual binding: a record; its scalars checked here, in one loop
        for key, item in value.items():
            if type(key) is not str or not (key.isascii() or _valid_text(key)):
                return False
            item_kind = type(item)
            if item_kind is float or item_kind is bool or item is None or item_kind is bytes:
                continue
            if item_kind is int:
                if not _INT64_MIN <= item <= _INT64_MAX:
                    return False
            elif not _convertible(item):
                return False
        return True
    if kind is int:
        return _INT64_MIN <= value <= _INT64_MAX
    if kind is float or kind is bool or value is None or kind is bytes:
        return True
    if kind is str:
        return _valid_text(value)
    if kind is list:
        return all(_convertible(item) for item in value)
    return False


_NUMBERS = (int, float, UInt)
_SAME_KIND_ORDERED = frozenset({int, float, str, bytes, bool, UInt})
_SCALARS = frozenset({int, float, str, bytes, bool, UInt, type(None)})


def _numbers(a: Any, b: Any) -> bool:
    """Both numbers, and comparable exactly the way cel-cpp compares them."""
    ta, tb = type(a), type(b)
    if ta not in _NUMBERS or tb not in _NUMBERS:
        return False
    if ta is float or tb is float:
        other = b if ta is float else a
        return type(other) is float or -_EXACT <= other <= _EXACT
    return True


def _eq(a: Any, b: Any) -> bool:
    ta, tb = type(a), type(b)
    if ta is tb and ta in _SCALARS:
        return bool(a == b)
    if _numbers(a, b):
        return bool(a == b)
    if ta in _SCALARS and tb in _SCALARS:
        return False  # different kinds: not equal (heterogeneous equality)
    raise Miss


def _ne(a: Any, b: Any) -> bool:
    return not _eq(a, b)


def _ordered(a: Any, b: Any) -> None:
    ta = type(a)
    if not ((ta is type(b) and ta in _SAME_KIND_ORDERED) or _numbers(a, b)):
        raise Miss


def _lt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a < b)


def _le(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a <= b)


def _gt(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a > b)


def _ge(a: Any, b: Any) -> bool:
    _ordered(a, b)
    return bool(a >= b)


def _int_result(value: int) -> int:
    if not _INT64_MIN <= value <= _INT64_MAX:
        raise Miss  # overflow: an error
    return value


def _add(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Miss
    if ta is int:
        return _int_result(a + b)
    if ta is float or ta is str or ta is bytes:
        return a + b
    raise Miss


def _sub(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Miss
    if ta is int:
        return _int_result(a - b)
    if ta is float:
        return a - b
    raise Miss


def _mul(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Miss
    if ta is int:
        return _int_result(a * b)
    if ta is float:
        return a * b
    raise Miss


def _div(a: Any, b: Any) -> Any:
    ta = type(a)
    if ta is not type(b):
        raise Miss
    if ta is int:
        if b == 0:
            raise Miss
        quotient = abs(a) // abs(b)
        return _int_result(quotient if (a < 0) == (b < 0) else -quotient)
    if ta is float and b != 0.0:
        return a / b
    raise Miss  # a double divided by zero: the runtime answers inf or nan


def _mod(a: Any, b: Any) -> Any:
    if type(a) is not int or type(b) is not int or b == 0 or (a == _INT64_MIN and b == -1):
        raise Miss
    remainder = abs(a) % abs(b)
    return -remainder if a < 0 else remainder


def _neg(a: Any) -> Any:
    if type(a) is int:
        return _int_result(-a)
    if type(a) is float:
        return -a
    raise Miss


def _size(a: Any) -> int:
    if type(a) in (str, bytes, list, dict):
        return len(a)
    raise Miss


def _select(a: Any, field: str) -> Any:
    if type(a) is dict:
        return a[field]  # a missing key is an error: KeyError, so the runtime answers
    raise Miss


def _has(a: Any, field: str) -> bool:
    if type(a) is dict:
        return field in a
    raise Miss


def _in(a: Any, b: Any) -> bool:
    if type(b) is list:
        return any(_eq(a, item) for item in b)
    if type(b) is dict and type(a) is str:
        return a in b
    raise Miss


def _to_int(a: Any) -> int:
    if type(a) is int:
        return a
    if type(a) is float and -(2.0**62) < a < 2.0**62:
        return int(a)
    raise Miss


def _to_double(a: Any) -> float:
    if type(a) is float:
        return a
    if type(a) is int:
        return float(a)
    raise Miss


def _strings(a: Any, b: Any) -> None:
    if type(a) is not str or type(b) is not str:
        raise Miss


def _contains(a: Any, b: Any) -> bool:
    _strings(a, b)
    return b in a


def _starts(a: Any, b: Any) -> bool:
    _strings(a, b)
    return bool(a.startswith(b))


def _ends(a: Any, b: Any) -> bool:
    _strings(a, b)
    return bool(a.endswith(b))


HELPERS: dict[str, Any] = {
    "_Miss": Miss,
    "_miss": _miss,
    "_ok": _convertible,
    "_eq": _eq,
    "_ne": _ne,
    "_lt": _lt,
    "_le": _le,
    "_gt": _gt,
    "_ge": _ge,
    "_add": _add,
    "_sub": _sub,
    "_mul": _mul,
    "_div": _div,
    "_mod": _mod,
    "_neg": _neg,
    "_size": _size,
    "_sel": _select,
    "_has": _has,
    "_in": _in,
    "_int": _to_int,
    "_double": _to_double,
    "_contains": _contains,
    "_starts": _starts,
    "_ends": _ends,
    "MISS": MISS,
}
