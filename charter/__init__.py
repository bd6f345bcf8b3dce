"""Charter: a governed event-streaming platform in one package.

The product's face: app assembly (``charter.app.create_app``), configuration,
the ``charter`` command, and the SDK: ``Producer``, ``Consumer``,
``ValidationError``, ``SchemaRegistryClient`` (``charter.sdk``, loaded on first
use so that the servers never import librdkafka).
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import Any

try:
    __version__ = version("charter")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0"

_SDK_NAMES = frozenset(
    {
        "CharterError",
        "Consumer",
        "Message",
        "Producer",
        "RecordError",
        "RecordErrorRaised",
        "RegistryClientError",
        "SchemaRegistryClient",
        "ValidationError",
        "avro_schema_of",
        "create_governed_topic",
    }
)

__all__ = ["__version__", *sorted(_SDK_NAMES)]


def __getattr__(name: str) -> Any:
    if name in _SDK_NAMES:
        return getattr(importlib.import_module("charter.sdk"), name)
    raise AttributeError(f"module 'charter' has no attribute {name!r}")
