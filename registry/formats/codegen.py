"""Python source generated at run time: fresh names, constants, and ``exec`` once.

The Avro decoders (``registry.formats.avro_decode``) and the SDK's Avro
encoders (``charter.sdk.avro_encoder``) write source specialised to a schema;
this is the part they share.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["SourceWriter"]


class SourceWriter:
    """Collects a generated module's helper functions and the constants its source names."""

    def __init__(self, constants: Mapping[str, Any]) -> None:
        self.constants: dict[str, Any] = dict(constants)
        self.functions: list[str] = []
        self.counter = 0

    def fresh(self, prefix: str) -> str:
        """A name not used before in this module: ``prefix`` and a number."""
        self.counter += 1
        return f"{prefix}{self.counter}"

    def constant(self, prefix: str, value: Any) -> str:
        """A fresh name bound to ``value`` in the generated module."""
        name = self.fresh(prefix)
        self.constants[name] = value
        return name

    def define(self, source: str, name: str, filename: str) -> Any:
        """Run ``source`` (which we generated) with the constants; return its ``name``."""
        namespace = dict(self.constants)
        exec(compile(source, filename, "exec"), namespace)  # noqa: S102 - source we generated
        return namespace[name]
