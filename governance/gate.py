"""The produce gate's engine interface: a context and decoded records in, a verdict out.

The broker adapts it (``broker.gate``): it builds a ``GateContext`` per
partition of a produce request, asks ``Gate.inspects`` whether the records are
needed at all, and only then decodes the batch into ``GateRecord`` values and
calls ``Gate.check`` on a worker thread. The SDK will run the same engine on
the client side, so nothing here knows about sockets, logs or record batches.

A verdict is one of:

- ``ACCEPT``: append the batch unchanged;
- ``Reject``: append nothing; per-record errors (record index + message) and
  one error message go back to the producer (INVALID_RECORD on the broker);
- ``Route``: append the other records of the batch and send each listed
  record to a dead-letter topic with headers saying why.

The real checks (schema id, payload, data-contract rules, policies) are the
governed layer's (issue 10); ``PassThroughGate`` is the default until then.
"""

from __future__ import annotations

import dataclasses
import enum
from collections.abc import Sequence
from typing import NamedTuple, Protocol

__all__ = [
    "ACCEPT",
    "ANONYMOUS",
    "Accept",
    "DLQ_HEADER_PREFIX",
    "DLQ_REASON_HEADER",
    "DeadLetter",
    "EncodedChecker",
    "FRAME_PREFIX",
    "Gate",
    "GateConfig",
    "GateContext",
    "GateRecord",
    "PassThroughGate",
    "RecordError",
    "Reject",
    "Route",
    "SubjectNameStrategy",
    "UnreadObserver",
    "Validation",
    "Verdict",
]

ANONYMOUS = "User:ANONYMOUS"
"""The principal of a connection that did not authenticate (Kafka's name for it)."""

DLQ_HEADER_PREFIX = "charter.dlq."
DLQ_REASON_HEADER = DLQ_HEADER_PREFIX + "reason"


class Validation(enum.StrEnum):
    """How much of a record part (key or value) the gate checks (DESIGN.md, topic configs)."""

    NONE = "none"  # nothing
    ID = "id"  # framing and a schema id registered under the record's subject
    FULL = "full"  # also the payload against that schema and the data-contract rules


class SubjectNameStrategy(enum.StrEnum):
    """Which subject a record part's schema is looked up under."""

    TOPIC = "topic"  # <topic>-value / <topic>-key
    RECORD = "record"  # the record's fully-qualified name
    TOPIC_RECORD = "topic_record"  # <topic>-<record name>


@dataclasses.dataclass(frozen=True, slots=True)
class GateConfig:
    """What the gate needs from a topic's configs (``charter.{value,key}.*``).

    The defaults are the server defaults of DESIGN.md: values ``full``, keys ``none``.
    """

    value_validation: Validation = Validation.FULL
    key_validation: Validation = Validation.NONE
    value_subject_strategy: SubjectNameStrategy = SubjectNameStrategy.TOPIC
    key_subject_strategy: SubjectNameStrategy = SubjectNameStrategy.TOPIC

    @property
    def governed(self) -> bool:
        """True when either part is validated at all."""
        return (
            self.value_validation is not Validation.NONE
            or self.key_validation is not Validation.NONE
        )


@dataclasses.dataclass(frozen=True, slots=True)
class GateContext:
    """Where a batch is going and who sends it."""

    topic: str
    partition: int
    principal: str
    client_id: str | None
    producer_id: int  # -1 for a producer without idempotence
    config: GateConfig


class GateRecord(NamedTuple):
    """One record of the batch, decoded; ``index`` is its position in the batch.

    A named tuple rather than a frozen dataclass: the broker builds one per
    record of every gated batch, and a tuple is built three times faster.
    """

    index: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...]
    timestamp: int  # milliseconds since the epoch (CreateTime as the producer set it)


@dataclasses.dataclass(frozen=True, slots=True)
class RecordError:
    """Why the record at ``index`` (its position in the batch) is refused."""

    index: int
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class Accept:
    """Append the batch as it is."""


ACCEPT = Accept()


@dataclasses.dataclass(frozen=True, slots=True)
class Reject:
    """Append nothing of the batch; tell the producer which records failed and why."""

    errors: tuple[RecordError, ...]
    message: str


@dataclasses.dataclass(frozen=True, slots=True)
class DeadLetter:
    """Send the record at ``index`` to ``topic`` instead, with ``headers`` added to its own.

    ``partition`` None means: the source partition when the dead-letter topic has
    it, else partition 0. The broker adds the source topic and partition headers.
    """

    index: int
    topic: str
    headers: tuple[tuple[str, bytes], ...]
    partition: int | None = None

    @classmethod
    def because(cls, index: int, topic: str, reason: str, **details: str | int) -> DeadLetter:
        """A dead letter whose headers are ``charter.dlq.reason`` plus ``charter.dlq.<detail>``."""
        headers = [(DLQ_REASON_HEADER, reason.encode())]
        headers += [
            (DLQ_HEADER_PREFIX + name.replace("_", "."), str(value).encode())
            for name, value in details.items()
        ]
        return cls(index, topic, tuple(headers))


@dataclasses.dataclass(frozen=True, slots=True)
class Route:
    """Append every record not listed; send each listed one to its dead-letter topic."""

    dead_letters: tuple[DeadLetter, ...]


Verdict = Accept | Reject | Route


class Gate(Protocol):
    """The produce gate's engine. ``check`` runs on a worker thread: it must be thread-safe."""

    def inspects(self, context: GateContext) -> bool:
        """Whether ``check`` needs this partition's records; False lets them through unread.

        Called on the broker's event loop for every produce, so it must be cheap
        (a look at ``context.config`` and cached state, no I/O).
        """
        ...

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        """The verdict for one partition's records (one batch; indexes are positions in it).

        An exception is treated as a rejection of the whole batch (fail closed).
        """
        ...


class UnreadObserver(Protocol):
    """What a ``Gate`` may also offer: hearing of the batches it let through unread.

    The broker calls ``observe_unread`` on its event loop after appending a
    batch that ``inspects`` declined, once per batch, with the first
    ``FRAME_PREFIX`` bytes of the first record's value (None when there are
    fewer, or they could not be read cheaply) and the batch's record count.
    It must be cheap: no I/O, no decoding beyond those bytes.
    """

    def observe_unread(
        self, context: GateContext, value_prefix: bytes | None, count: int
    ) -> None: ...


class EncodedChecker(Protocol):
    """What a ``Gate`` may also offer: vouching for a whole batch from its encoded records.

    The broker calls ``check_encoded`` on the worker thread, before decoding
    anything, with the records section of the batch (the Kafka record-batch v2
    records after the 61-byte batch header, decompressed) and its record
    count. ``ACCEPT`` means ``check`` would accept the batch (the engine has
    done everything ``check`` does for an accepted batch, lineage included);
    None means: decode the batch and call ``check``. Anything malformed answers
    None (``check``'s path reports it); an exception is logged by the broker,
    which then takes ``check``'s path.
    """

    def check_encoded(self, context: GateContext, section: bytes, count: int) -> Verdict | None: ...


FRAME_PREFIX = 5
"""Magic byte 0 and the 4-byte schema id that frame a Confluent-serialized value."""


class PassThroughGate:
    """The default until the governed layer exists: every batch passes unread.

    It ignores the topic's validation config (whose server default for values
    is ``full``): no record is decoded, so the produce path does no per-record work.
    """

    def inspects(self, context: GateContext) -> bool:
        return False

    def check(self, context: GateContext, records: Sequence[GateRecord]) -> Verdict:
        return ACCEPT
