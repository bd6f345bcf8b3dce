"""Version-tolerant construction of kio entities.

Each API version has its own entity classes with its own set of fields. Handlers
describe a response once with every field they know, and ``build`` keeps only the
fields the target version has, so one handler serves many versions.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from types import ModuleType
from typing import Any

from broker.protocol.codec import response_class

__all__ = ["build", "field_names", "response_module"]


@functools.cache
def field_names(cls: type) -> frozenset[str]:
    """The dataclass field names of a kio entity class."""
    return frozenset(field.name for field in dataclasses.fields(cls))


def build(cls: type, **values: Any) -> Any:
    """Instantiate ``cls`` with the subset of ``values`` that it declares."""
    names = field_names(cls)
    return cls(**{key: value for key, value in values.items() if key in names})


@functools.cache
def response_module(api_key: int, api_version: int) -> ModuleType:
    """The kio module holding the response classes (and nested classes) of one version."""
    return sys.modules[response_class(api_key, api_version).__module__]
