"""The SDK's errors: one tree, each naming what is wrong and where.

``ValidationError`` is what ``Producer.produce`` raises before anything is sent
(a ``ValueError``, so plain ``except ValueError`` code keeps working);
``RecordError`` is what the consumer reports for a record it cannot decode.
"""

from __future__ import annotations

import dataclasses

__all__ = [
    "CharterError",
    "RecordError",
    "RecordErrorRaised",
    "RegistryClientError",
    "ValidationError",
]


class CharterError(Exception):
    """Base of every error the SDK raises on purpose."""


class ValidationError(CharterError, ValueError):
    """A value does not match its schema or breaks a data-contract rule; nothing was sent.

    ``path`` is a JSON pointer into the value (``#/address/zip``; ``#`` for the
    whole value); ``rule`` names the data-contract rule when one failed.
    """

    def __init__(self, message: str, path: str = "#", rule: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.rule = rule


class RegistryClientError(CharterError):
    """The schema registry answered an error (``status``, Confluent ``error_code``) or no answer."""

    def __init__(self, message: str, status: int | None = None, error_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.error_code = error_code


@dataclasses.dataclass(frozen=True)
class RecordError:
    """A consumed record the SDK could not decode, and why (an unknown schema id, a broken payload).

    ``raw_value`` is the record's bytes as they were on the topic.
    """

    topic: str
    partition: int
    offset: int
    reason: str
    schema_id: int | None
    raw_key: bytes | None
    raw_value: bytes | None

    def __str__(self) -> str:
        where = f"{self.topic}[{self.partition}]@{self.offset}"
        schema = f" (schema id {self.schema_id})" if self.schema_id is not None else ""
        return f"{where}{schema}: {self.reason}"


class RecordErrorRaised(CharterError):
    """Raised by ``Consumer.poll`` for an undecodable record under ``on_error="raise"``."""

    def __init__(self, error: RecordError) -> None:
        super().__init__(str(error))
        self.error = error
