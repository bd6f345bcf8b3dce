"""CEL for data-contract rules: one small interface over the runtime, programs compiled once.

The runtime is ``cel-expr-python`` (Google's C++ CEL behind pybind11): measured
against ``common-expression-language`` (Rust) and the pure-Python ``cel-python``
on the same rule it evaluates about 3x and 70x faster (docs/decisions.md). Only
this module imports it, so the choice can change in one place.

``compile_program(expression)`` parses and checks an expression once (cached by
its text) and answers a ``CelProgram``; ``evaluate(bindings)`` runs it over plain
Python values (dicts, lists, str, bytes, int, float, bool, None) and raises
``CelError`` for a runtime error (a missing field, a division by zero) or a
compile error. Programs are immutable and thread-safe. Besides standard CEL,
the environment has Confluent's string validators (``governance.cel_builtins``:
``isEmail()``, ``isHostname()``, ``isIpv4()``, ``isIpv6()``, ``isUri()``,
``isUriRef()``, ``isUuid()``), as Confluent's rule executors do.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from typing import Any

from cel_expr_python import cel as _cel

from governance.cel_builtins import BUILTINS
from governance.cel_fast import MISS, compile_fast

__all__ = ["CelError", "CelProgram", "compile_program"]

# The names a rule may refer to: ``message`` for CEL rules; the field bindings for CEL_FIELD.
_VARIABLES = frozenset({"message", "value", "name", "fullName", "typeName", "tags"})

_env_lock = threading.Lock()


class CelError(ValueError):
    """A CEL expression does not compile, or failed while evaluating."""


@functools.cache
def _environment() -> Any:
    functions = [  # Confluent's string validators: ``message.email.isEmail()``
        _cel.FunctionDecl(
            name,
            [
                _cel.Overload(
                    f"string_{name}",
                    _cel.Type.BOOL,
                    [_cel.Type.STRING],
                    is_member=True,
                    impl=implementation,
                )
            ],
        )
        for name, implementation in sorted(BUILTINS.items())
    ]
    return _cel.NewEnv(
        variables={name: _cel.Type.DYN for name in sorted(_VARIABLES)}, functions=functions
    )


class CelProgram:
    """A compiled expression; ``evaluate`` answers its value as a plain Python value.

    Expressions in the subset ``governance.cel_fast`` models are answered by
    their Python fast function when it is sure of the answer; the runtime
    answers the rest (and every error).
    """

    __slots__ = ("_expression", "fast", "source")

    def __init__(self, source: str, expression: Any) -> None:
        self.source = source
        self._expression = expression
        self.fast = compile_fast(source, _VARIABLES)
        """The fast function (``True``/``False``, or ``MISS``: ask ``evaluate``), if any."""

    def evaluate(self, bindings: Mapping[str, Any]) -> Any:
        fast = self.fast
        if fast is not None:
            result = fast(bindings)
            if result is not MISS:
                return result
        return self.evaluate_runtime(bindings)

    def evaluate_runtime(self, bindings: Mapping[str, Any]) -> Any:
        """The runtime's answer alone (what the fast path is checked against)."""
        try:
            result = self._expression.eval(data=bindings)
        except Exception as exc:  # the runtime refuses a value it cannot convert
            raise CelError(f"{type(exc).__name__}: {exc}") from None
        if result.type() == _cel.Type.ERROR:
            raise CelError(str(result.value()))
        return result.value()


@functools.lru_cache(maxsize=4096)
def compile_program(expression: str) -> CelProgram:
    """The compiled program of ``expression`` (cached); ``CelError`` when it does not compile."""
    with _env_lock:  # the environment is shared; compile under a lock, evaluate freely
        try:
            compiled = _environment().compile(expression)
        except Exception as exc:
            raise CelError(_first_line(str(exc))) from None
    return CelProgram(expression, compiled)


def _first_line(message: str) -> str:
    lines = [line for line in message.splitlines() if line.strip()]
    return lines[0] if lines else message
