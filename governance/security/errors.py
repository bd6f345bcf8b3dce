"""Security's one exception tree, each error with its HTTP status and Confluent-style code.

``governance.security.api`` maps them to JSON in one error handler; the Kafka
side maps authentication failures to SASL_AUTHENTICATION_FAILED itself.
"""

from __future__ import annotations

__all__ = [
    "AuthenticationFailed",
    "BindingNotFound",
    "CredentialNotFound",
    "DuplicateAlteration",
    "UnacceptableCredential",
    "UnsupportedMechanism",
    "Forbidden",
    "InvalidSecurityRequest",
    "RateLimited",
    "SecurityError",
    "TooManyFailures",
    "UserExists",
    "UserNotFound",
]


class SecurityError(Exception):
    http_status = 500
    error_code = 50001

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class AuthenticationFailed(SecurityError):
    """No credentials, or credentials that do not match (the message never says which part)."""

    http_status = 401
    error_code = 40101


class TooManyFailures(SecurityError):
    """Too many failed logins for this principal or address; try again later."""

    http_status = 429
    error_code = 42901


class RateLimited(SecurityError):
    """More requests a second than the principal's limit; retry after ``retry_after_s``."""

    http_status = 429
    error_code = 42902

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Forbidden(SecurityError):
    """Authenticated, but no role binding grants the action on the resource."""

    http_status = 403
    error_code = 40301


class UserNotFound(SecurityError):
    http_status = 404
    error_code = 40403


class BindingNotFound(SecurityError):
    http_status = 404
    error_code = 40404


class CredentialNotFound(SecurityError):
    """A SCRAM credential that does not exist (Kafka's RESOURCE_NOT_FOUND)."""

    http_status = 404
    error_code = 40405


class UnsupportedMechanism(SecurityError):
    """A SCRAM mechanism other than SCRAM-SHA-256/512 (Kafka's UNSUPPORTED_SASL_MECHANISM)."""

    http_status = 422
    error_code = 42202


class UnacceptableCredential(SecurityError):
    """Too few or too many iterations, an empty user name, salt or salted password."""

    http_status = 422
    error_code = 42203


class DuplicateAlteration(SecurityError):
    """The same user (and mechanism) twice in one request (Kafka's DUPLICATE_RESOURCE)."""

    http_status = 409
    error_code = 40902


class UserExists(SecurityError):
    http_status = 409
    error_code = 40901


class InvalidSecurityRequest(SecurityError):
    """A body, name, role or resource pattern that is not valid (the message says why)."""

    http_status = 422
    error_code = 42201
