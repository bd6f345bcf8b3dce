"""The registry's one exception tree, with Confluent Schema Registry's error codes.

Every error carries ``error_code`` (Confluent's code) and ``http_status``; the
API layer maps them to ``{"error_code", "message"}`` in one handler.
"""

from __future__ import annotations

__all__ = [
    "IdDoesNotMatch",
    "IncompatibleSchema",
    "InvalidCompatibilityLevel",
    "InvalidMode",
    "InvalidRequest",
    "InvalidRequestBody",
    "InvalidRuleSet",
    "InvalidSchema",
    "InvalidSubject",
    "InvalidVersion",
    "NotAcceptable",
    "PathNotFound",
    "UnsupportedContentType",
    "OperationNotPermitted",
    "PolicyDenied",
    "ReferenceExists",
    "RegistryError",
    "SchemaNotFound",
    "SchemaVersionNotSoftDeleted",
    "SchemaVersionSoftDeleted",
    "StoreError",
    "SubjectCompatibilityNotConfigured",
    "SubjectModeNotConfigured",
    "SubjectNotFound",
    "SubjectNotSoftDeleted",
    "SubjectSoftDeleted",
    "VersionNotFound",
]


class RegistryError(Exception):
    """Base of every registry error; ``str(error)`` is the message clients see."""

    error_code: int = 50001
    http_status: int = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(RegistryError):
    """The request body or a parameter is malformed (not JSON, wrong field types, ...)."""

    error_code = 400
    http_status = 400


class InvalidRequestBody(InvalidRequest):
    """The body is JSON but a field has the wrong type or value (Confluent answers 422)."""

    error_code = 422
    http_status = 422


class UnsupportedContentType(InvalidRequest):
    """The request body has a content type the registry does not read."""

    error_code = 415
    http_status = 415


class PathNotFound(RegistryError):
    """The path names nothing the registry serves, as Jersey answers when a path parameter does
    not convert (``/schemas/ids/abc``): 404 ``HTTP 404 Not Found``."""

    error_code = 404
    http_status = 404

    def __init__(self, message: str = "HTTP 404 Not Found") -> None:
        super().__init__(message)


class NotAcceptable(RegistryError):
    """The ``Accept`` header allows none of the registry's response types (Jersey's 406)."""

    error_code = 406
    http_status = 406

    def __init__(self, message: str = "HTTP 406 Not Acceptable") -> None:
        super().__init__(message)


class SubjectNotFound(RegistryError):
    error_code = 40401
    http_status = 404


class VersionNotFound(RegistryError):
    error_code = 40402
    http_status = 404


class SchemaNotFound(RegistryError):
    error_code = 40403
    http_status = 404


class SubjectSoftDeleted(RegistryError):
    error_code = 40404
    http_status = 404


class SubjectNotSoftDeleted(RegistryError):
    """Permanent delete of a subject that was not soft-deleted first."""

    error_code = 40405
    http_status = 404


class SchemaVersionSoftDeleted(RegistryError):
    error_code = 40406
    http_status = 404


class SchemaVersionNotSoftDeleted(RegistryError):
    """Permanent delete of a version that was not soft-deleted first."""

    error_code = 40407
    http_status = 404


class SubjectCompatibilityNotConfigured(RegistryError):
    error_code = 40408
    http_status = 404


class SubjectModeNotConfigured(RegistryError):
    error_code = 40409
    http_status = 404


class IncompatibleSchema(RegistryError):
    error_code = 409
    http_status = 409


class ReferenceExists(RegistryError):
    """A schema version is still referenced by another schema and cannot be deleted."""

    error_code = 42206
    http_status = 422


class InvalidSchema(RegistryError):
    error_code = 42201
    http_status = 422


class InvalidVersion(RegistryError):
    error_code = 42202
    http_status = 422


class InvalidCompatibilityLevel(RegistryError):
    error_code = 42203
    http_status = 422


class InvalidMode(RegistryError):
    error_code = 42204
    http_status = 422


class OperationNotPermitted(RegistryError):
    error_code = 42205
    http_status = 422


class PolicyDenied(OperationNotPermitted):
    """A registry hook (a governance policy) denied the change; the message says which and why."""


class IdDoesNotMatch(RegistryError):
    """IMPORT mode: the given id is taken by another schema, or the schema has another id."""

    error_code = 42207
    http_status = 422


class InvalidRuleSet(RegistryError):
    """A rule set fails Confluent's ``RuleSet.validate()`` (duplicate name, missing type, ...)."""

    error_code = 42210
    http_status = 422


class InvalidSubject(RegistryError):
    error_code = 42208
    http_status = 422


class StoreError(RegistryError):
    """The backing store failed (50001 store, 50002 operation timeout, 50003 forwarding)."""

    error_code = 50001
    http_status = 500


class StoreTimeout(StoreError):
    error_code = 50002


class RequestForwardingFailed(StoreError):
    error_code = 50003
