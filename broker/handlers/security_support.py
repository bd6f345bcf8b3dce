"""What the security administration handlers share: the admin plug and the one error table.

ACL and SCRAM administration needs the security service
(``governance.security.kafka_admin``), which ``charter`` passes to the broker;
without authorization (auth off) the ACL APIs answer SECURITY_DISABLED (54), as
a Kafka broker without an authorizer does, while SCRAM administration works
(as in Kafka), so credentials can be made before auth is turned on. Security's errors become Kafka codes
in ``broker_error``, nowhere else.
"""

from __future__ import annotations

from typing import Any

from kio.schema.errors import ErrorCode

from broker.errors import (
    BrokerError,
    DuplicateResource,
    InvalidRequest,
    ResourceNotFound,
    SecurityDisabled,
    UnacceptableCredential,
    UnknownServerError,
    UnsupportedSaslMechanism,
    kafka_error,
)
from broker.handlers.context import RequestContext
from governance.security import errors as security_errors
from governance.security.authorizer import AllowEverything
from governance.security.kafka_admin import KafkaSecurityAdmin

__all__ = ["MAX_ITEMS", "broker_error", "error_fields", "security_admin"]

MAX_ITEMS = 1000
"""Most ACL creations, ACL filters or SCRAM alterations answered in one request; the rest
are answered INVALID_REQUEST (a hostile request must not hold the broker)."""

_CODES: tuple[tuple[type[security_errors.SecurityError], type[BrokerError]], ...] = (
    (security_errors.InvalidSecurityRequest, InvalidRequest),
    (security_errors.CredentialNotFound, ResourceNotFound),
    (security_errors.DuplicateAlteration, DuplicateResource),
    (security_errors.UnacceptableCredential, UnacceptableCredential),
    (security_errors.UnsupportedMechanism, UnsupportedSaslMechanism),
)


def broker_error(exc: security_errors.SecurityError) -> BrokerError:
    """The Kafka error for a security error (the one table)."""
    for security_class, broker_class in _CODES:
        if isinstance(exc, security_class):
            return broker_class(exc.message)
    return UnknownServerError(exc.message)


def error_fields(exc: BrokerError | None) -> dict[str, Any]:
    """``error_code``/``error_message`` of a result."""
    if exc is None:
        return {"error_code": ErrorCode.none, "error_message": None}
    code, message = kafka_error(exc)
    return {"error_code": code, "error_message": message}


def security_admin(ctx: RequestContext, *, acls: bool) -> KafkaSecurityAdmin:
    """The admin plug; for the ACL APIs (``acls``) ``SecurityDisabled`` on a broker without
    authorization, as Kafka without an authorizer."""
    admin = ctx.broker.security_admin
    if admin is None or (acls and isinstance(ctx.broker.authorizer, AllowEverything)):
        raise SecurityDisabled("No Authorizer is configured on the broker (auth is off)")
    return admin
