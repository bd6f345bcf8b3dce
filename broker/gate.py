"""The produce gate's place: called by Produce between ``read_batches`` and ``log.append``.

The real gate (schema and data-contract checks) comes in a later issue; the
default ``PassThroughGate`` accepts every batch without looking at a record, so
the produce path does no per-record Python work when the gate is off.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Protocol

__all__ = ["GateVerdict", "PassThroughGate", "ProduceGate", "RecordError", "ACCEPT"]


@dataclasses.dataclass(frozen=True, slots=True)
class RecordError:
    """One rejected record: its index within the partition's batches and why."""

    batch_index: int
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class GateVerdict:
    """The gate's answer for one partition's records: accepted, or rejected with reasons."""

    record_errors: tuple[RecordError, ...] = ()
    error_message: str | None = None

    @property
    def accepted(self) -> bool:
        return not self.record_errors and self.error_message is None


ACCEPT = GateVerdict()


class ProduceGate(Protocol):
    """Decides whether a partition's record batches may be appended."""

    def check(
        self,
        topic: str,
        partition: int,
        records: bytes,
        batches: Sequence[Any],
        client_id: str | None,
    ) -> GateVerdict:
        """``records`` is the raw produce data; ``batches`` the headers ``read_batches`` gave."""
        ...


class PassThroughGate:
    """The gate when validation is off: accept without touching the records."""

    def check(
        self,
        topic: str,
        partition: int,
        records: bytes,
        batches: Sequence[Any],
        client_id: str | None,
    ) -> GateVerdict:
        return ACCEPT
