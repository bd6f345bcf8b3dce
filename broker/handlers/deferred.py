"""A response that may only be sent once its appends are durable.

A produce handler appends, asks the group commit for an fsync and returns
``Deferred(response, ready)`` instead of waiting: the server handles the
connection's next request while the fsync runs and sends this response, in
request order, once ``ready`` is done (or closes the connection if it fails).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable
from typing import Generic, TypeVar

__all__ = ["Deferred"]

T = TypeVar("T")


@dataclasses.dataclass(frozen=True, slots=True)
class Deferred(Generic[T]):
    """``value`` (a typed response, or its encoded frame) to send after ``ready``."""

    value: T
    ready: Awaitable[None]
