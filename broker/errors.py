"""The broker's one exception tree, each class carrying its Kafka protocol error code.

Handlers raise these; the request dispatcher turns them into the error code of
the response in one place. Codes are from the Kafka protocol guide
(https://kafka.apache.org/protocol#protocol_error_codes).
"""

from __future__ import annotations

from kio.schema.errors import ErrorCode

__all__ = [
    "BrokerError",
    "kafka_error",
    "CorruptRecord",
    "DuplicateSequenceNumber",
    "InvalidConfig",
    "InvalidPartitions",
    "InvalidProducerEpoch",
    "InvalidRecord",
    "InvalidReplicaAssignment",
    "InvalidReplicationFactor",
    "InvalidRequest",
    "InvalidTopic",
    "KAFKA_ERROR_NAMES",
    "OffsetOutOfRange",
    "OutOfOrderSequenceNumber",
    "PolicyViolation",
    "RecordTooLarge",
    "TopicAlreadyExists",
    "TopicAuthorizationFailed",
    "UnknownProducerId",
    "UnknownServerError",
    "UnknownTopicId",
    "UnknownTopicOrPartition",
    "UnsupportedVersion",
]


class BrokerError(Exception):
    """Base of every broker error; ``error_code`` is the Kafka protocol code."""

    error_code: int = -1

    def __init__(self, message: str = "") -> None:
        super().__init__(message or KAFKA_ERROR_NAMES.get(self.error_code, "error"))
        self.message = message


class UnknownServerError(BrokerError):
    error_code = -1


class OffsetOutOfRange(BrokerError):
    error_code = 1


class CorruptRecord(BrokerError):
    """Bad CRC, bad lengths or an unparseable record batch (CORRUPT_MESSAGE)."""

    error_code = 2


class UnknownTopicOrPartition(BrokerError):
    error_code = 3


class RecordTooLarge(BrokerError):
    """MESSAGE_TOO_LARGE: the batch exceeds ``max.message.bytes``."""

    error_code = 10


class InvalidTopic(BrokerError):
    error_code = 17


class RecordListTooLarge(BrokerError):
    error_code = 18


class TopicAuthorizationFailed(BrokerError):
    """A broker hook (policy, later ACLs) denied the principal this topic."""

    error_code = 29


class InvalidTimestamp(BrokerError):
    error_code = 32


class UnsupportedVersion(BrokerError):
    error_code = 35


class TopicAlreadyExists(BrokerError):
    error_code = 36


class InvalidPartitions(BrokerError):
    error_code = 37


class InvalidReplicationFactor(BrokerError):
    error_code = 38


class InvalidReplicaAssignment(BrokerError):
    error_code = 39


class InvalidConfig(BrokerError):
    error_code = 40


class InvalidRequest(BrokerError):
    error_code = 42


class PolicyViolation(BrokerError):
    error_code = 44


class OutOfOrderSequenceNumber(BrokerError):
    error_code = 45


class DuplicateSequenceNumber(BrokerError):
    error_code = 46


class InvalidProducerEpoch(BrokerError):
    error_code = 47


class UnknownProducerId(BrokerError):
    error_code = 59


class InvalidRecord(BrokerError):
    """INVALID_RECORD: the gate rejected a record (per-record errors travel separately)."""

    error_code = 87


class UnknownTopicId(BrokerError):
    error_code = 100


KAFKA_ERROR_NAMES: dict[int, str] = {
    -1: "UNKNOWN_SERVER_ERROR",
    0: "NONE",
    1: "OFFSET_OUT_OF_RANGE",
    2: "CORRUPT_MESSAGE",
    3: "UNKNOWN_TOPIC_OR_PARTITION",
    10: "MESSAGE_TOO_LARGE",
    17: "INVALID_TOPIC_EXCEPTION",
    18: "RECORD_LIST_TOO_LARGE",
    29: "TOPIC_AUTHORIZATION_FAILED",
    32: "INVALID_TIMESTAMP",
    35: "UNSUPPORTED_VERSION",
    36: "TOPIC_ALREADY_EXISTS",
    37: "INVALID_PARTITIONS",
    38: "INVALID_REPLICATION_FACTOR",
    39: "INVALID_REPLICA_ASSIGNMENT",
    40: "INVALID_CONFIG",
    42: "INVALID_REQUEST",
    44: "POLICY_VIOLATION",
    45: "OUT_OF_ORDER_SEQUENCE_NUMBER",
    46: "DUPLICATE_SEQUENCE_NUMBER",
    47: "INVALID_PRODUCER_EPOCH",
    59: "UNKNOWN_PRODUCER_ID",
    87: "INVALID_RECORD",
    100: "UNKNOWN_TOPIC_ID",
}


def kafka_error(exc: BrokerError) -> tuple[ErrorCode, str | None]:
    """The Kafka error code and message a response carries for ``exc``: the one mapping.

    Handlers answer per topic or partition, so they catch ``BrokerError`` where
    the response has an error field and turn it into a code here, never by hand.
    """
    return ErrorCode(exc.error_code), exc.message or None
