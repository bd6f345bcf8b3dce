"""The broker's one exception tree, each class carrying its Kafka protocol error code.

Handlers raise these; the request dispatcher turns them into the error code of
the response in one place. Codes are from the Kafka protocol guide
(https://kafka.apache.org/protocol#protocol_error_codes).
"""

from __future__ import annotations

from kio.schema.errors import ErrorCode

__all__ = [
    "BrokerError",
    "fenced_code",
    "kafka_error",
    "ConcurrentTransactions",
    "CoordinatorLoadInProgress",
    "CoordinatorNotAvailable",
    "FetchSessionIdNotFound",
    "InvalidFetchSessionEpoch",
    "InvalidProducerIdMapping",
    "InvalidTransactionTimeout",
    "InvalidTxnState",
    "NotCoordinator",
    "ProducerFenced",
    "TransactionalIdAuthorizationFailed",
    "TransactionalIdNotFound",
    "CorruptRecord",
    "DuplicateSequenceNumber",
    "ElectionNotNeeded",
    "FencedInstanceId",
    "FencedMemberEpoch",
    "GroupAuthorizationFailed",
    "GroupIdNotFound",
    "GroupMaxSizeReached",
    "GroupSubscribedToTopic",
    "IllegalGeneration",
    "InconsistentGroupProtocol",
    "InvalidConfig",
    "InvalidGroupId",
    "InvalidPartitions",
    "InvalidProducerEpoch",
    "InvalidRecord",
    "InvalidReplicaAssignment",
    "InvalidReplicationFactor",
    "InvalidRequest",
    "InvalidSessionTimeout",
    "InvalidTopic",
    "KAFKA_ERROR_NAMES",
    "MemberIdRequired",
    "NoReassignmentInProgress",
    "NonEmptyGroup",
    "NotEnoughReplicas",
    "OffsetMetadataTooLarge",
    "OffsetOutOfRange",
    "OutOfOrderSequenceNumber",
    "PolicyViolation",
    "RebalanceInProgress",
    "RecordTooLarge",
    "StaleMemberEpoch",
    "TopicAlreadyExists",
    "TopicAuthorizationFailed",
    "ClusterAuthorizationFailed",
    "UnknownMemberId",
    "UnknownProducerId",
    "UnknownServerError",
    "UnknownTopicId",
    "UnknownTopicOrPartition",
    "UnreleasedInstanceId",
    "UnstableOffsetCommit",
    "UnsupportedAssignor",
    "UnsupportedVersion",
    "SecurityDisabled",
    "UnsupportedSaslMechanism",
    "ResourceNotFound",
    "DuplicateResource",
    "UnacceptableCredential",
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


class NotEnoughReplicas(BrokerError):
    """An acks=all produce to a topic whose ``min.insync.replicas`` exceeds its in-sync
    replicas (this broker alone)."""

    error_code = 19


class InvalidTopic(BrokerError):
    error_code = 17


class RecordListTooLarge(BrokerError):
    error_code = 18


class TopicAuthorizationFailed(BrokerError):
    """A broker hook (policy, later ACLs) denied the principal this topic."""

    error_code = 29


class GroupAuthorizationFailed(BrokerError):
    """No role binding lets the principal use this consumer group."""

    error_code = 30


class ClusterAuthorizationFailed(BrokerError):
    """No role binding lets the principal do this cluster-wide operation."""

    error_code = 31


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


class CoordinatorLoadInProgress(BrokerError):
    error_code = 14


class CoordinatorNotAvailable(BrokerError):
    error_code = 15


class NotCoordinator(BrokerError):
    error_code = 16


class InvalidTxnState(BrokerError):
    """INVALID_TXN_STATE: the request does not fit the transaction's current state."""

    error_code = 48


class InvalidProducerIdMapping(BrokerError):
    """The producer id is not the one the transactional id is mapped to."""

    error_code = 49


class InvalidTransactionTimeout(BrokerError):
    error_code = 50


class ConcurrentTransactions(BrokerError):
    """The previous transaction of this transactional id is still completing: retry."""

    error_code = 51


class TransactionalIdAuthorizationFailed(BrokerError):
    error_code = 53


class FetchSessionIdNotFound(BrokerError):
    error_code = 70


class InvalidFetchSessionEpoch(BrokerError):
    error_code = 71


class ProducerFenced(BrokerError):
    """A newer producer with the same transactional id exists (KIP-588).

    Older request versions answer INVALID_PRODUCER_EPOCH instead (``fenced_code``).
    """

    error_code = 90


class TransactionalIdNotFound(BrokerError):
    error_code = 105


class InvalidRecord(BrokerError):
    """INVALID_RECORD: the gate rejected a record (per-record errors travel separately)."""

    error_code = 87


class UnknownTopicId(BrokerError):
    error_code = 100


# -- consumer groups (broker.groups) ------------------------------------------------------


class OffsetMetadataTooLarge(BrokerError):
    """OFFSET_METADATA_TOO_LARGE: commit metadata longer than ``offset.metadata.max.bytes``."""

    error_code = 12


class IllegalGeneration(BrokerError):
    """ILLEGAL_GENERATION: the request names a generation the group has moved past."""

    error_code = 22


class InconsistentGroupProtocol(BrokerError):
    """INCONSISTENT_GROUP_PROTOCOL: no protocol shared with the group, or the wrong kind."""

    error_code = 23


class InvalidGroupId(BrokerError):
    error_code = 24


class UnknownMemberId(BrokerError):
    error_code = 25


class InvalidSessionTimeout(BrokerError):
    error_code = 26


class RebalanceInProgress(BrokerError):
    error_code = 27


class NonEmptyGroup(BrokerError):
    """NON_EMPTY_GROUP: the group still has members (DeleteGroups)."""

    error_code = 68


class GroupIdNotFound(BrokerError):
    error_code = 69


class MemberIdRequired(BrokerError):
    """MEMBER_ID_REQUIRED (KIP-394): rejoin with the member id given in the response."""

    error_code = 79

    def __init__(self, member_id: str) -> None:
        super().__init__("rejoin with the member id this response gives")
        self.member_id = member_id


class GroupMaxSizeReached(BrokerError):
    error_code = 81


class FencedInstanceId(BrokerError):
    """FENCED_INSTANCE_ID: another member now holds this ``group.instance.id``."""

    error_code = 82


class GroupSubscribedToTopic(BrokerError):
    """GROUP_SUBSCRIBED_TO_TOPIC: OffsetDelete of a topic the group still consumes."""

    error_code = 86


class UnstableOffsetCommit(BrokerError):
    error_code = 88


class FencedMemberEpoch(BrokerError):
    """FENCED_MEMBER_EPOCH (KIP-848): the member's epoch is not the one the group holds."""

    error_code = 110


class UnreleasedInstanceId(BrokerError):
    error_code = 111


class UnsupportedAssignor(BrokerError):
    error_code = 112


class StaleMemberEpoch(BrokerError):
    error_code = 113


class UnsupportedSaslMechanism(BrokerError):
    """A SCRAM mechanism this broker does not know (AlterUserScramCredentials)."""

    error_code = 33


class ElectionNotNeeded(BrokerError):
    """The partition already has the leader an election would choose (a single broker's
    partitions always do)."""

    error_code = 84


class NoReassignmentInProgress(BrokerError):
    """A reassignment to cancel when none is in progress."""

    error_code = 85


class SecurityDisabled(BrokerError):
    """ACL APIs on a broker without authorization (auth off), as Kafka without an authorizer."""

    error_code = 54


class ResourceNotFound(BrokerError):
    error_code = 91


class DuplicateResource(BrokerError):
    error_code = 92


class UnacceptableCredential(BrokerError):
    error_code = 93


KAFKA_ERROR_NAMES: dict[int, str] = {
    -1: "UNKNOWN_SERVER_ERROR",
    0: "NONE",
    1: "OFFSET_OUT_OF_RANGE",
    2: "CORRUPT_MESSAGE",
    3: "UNKNOWN_TOPIC_OR_PARTITION",
    10: "MESSAGE_TOO_LARGE",
    12: "OFFSET_METADATA_TOO_LARGE",
    14: "COORDINATOR_LOAD_IN_PROGRESS",
    15: "COORDINATOR_NOT_AVAILABLE",
    16: "NOT_COORDINATOR",
    17: "INVALID_TOPIC_EXCEPTION",
    18: "RECORD_LIST_TOO_LARGE",
    22: "ILLEGAL_GENERATION",
    23: "INCONSISTENT_GROUP_PROTOCOL",
    24: "INVALID_GROUP_ID",
    25: "UNKNOWN_MEMBER_ID",
    26: "INVALID_SESSION_TIMEOUT",
    27: "REBALANCE_IN_PROGRESS",
    29: "TOPIC_AUTHORIZATION_FAILED",
    30: "GROUP_AUTHORIZATION_FAILED",
    31: "CLUSTER_AUTHORIZATION_FAILED",
    32: "INVALID_TIMESTAMP",
    33: "UNSUPPORTED_SASL_MECHANISM",
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
    48: "INVALID_TXN_STATE",
    49: "INVALID_PRODUCER_ID_MAPPING",
    50: "INVALID_TRANSACTION_TIMEOUT",
    51: "CONCURRENT_TRANSACTIONS",
    53: "TRANSACTIONAL_ID_AUTHORIZATION_FAILED",
    54: "SECURITY_DISABLED",
    59: "UNKNOWN_PRODUCER_ID",
    68: "NON_EMPTY_GROUP",
    69: "GROUP_ID_NOT_FOUND",
    70: "FETCH_SESSION_ID_NOT_FOUND",
    71: "INVALID_FETCH_SESSION_EPOCH",
    79: "MEMBER_ID_REQUIRED",
    81: "GROUP_MAX_SIZE_REACHED",
    82: "FENCED_INSTANCE_ID",
    86: "GROUP_SUBSCRIBED_TO_TOPIC",
    87: "INVALID_RECORD",
    88: "UNSTABLE_OFFSET_COMMIT",
    90: "PRODUCER_FENCED",
    91: "RESOURCE_NOT_FOUND",
    92: "DUPLICATE_RESOURCE",
    93: "UNACCEPTABLE_CREDENTIAL",
    105: "TRANSACTIONAL_ID_NOT_FOUND",
    100: "UNKNOWN_TOPIC_ID",
    110: "FENCED_MEMBER_EPOCH",
    111: "UNRELEASED_INSTANCE_ID",
    112: "UNSUPPORTED_ASSIGNOR",
    113: "STALE_MEMBER_EPOCH",
}


def fenced_code(exc: BrokerError, *, use_producer_fenced: bool) -> BrokerError:
    """``exc``, or INVALID_PRODUCER_EPOCH in place of PRODUCER_FENCED for request versions
    older than KIP-588's (clients of those versions do not know code 90)."""
    if isinstance(exc, ProducerFenced) and not use_producer_fenced:
        return InvalidProducerEpoch(exc.message)
    return exc


def kafka_error(exc: BrokerError) -> tuple[ErrorCode, str | None]:
    """The Kafka error code and message a response carries for ``exc``: the one mapping.

    Handlers answer per topic or partition, so they catch ``BrokerError`` where
    the response has an error field and turn it into a code here, never by hand.
    """
    return ErrorCode(exc.error_code), exc.message or None
