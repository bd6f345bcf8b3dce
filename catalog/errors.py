"""The catalog's one exception tree; ``catalog.api`` maps it to HTTP in one place.

Bodies follow the registry's convention, ``{"error_code": …, "message": …}``,
with the HTTP status as the first three digits of the code.
"""

from __future__ import annotations

__all__ = [
    "CatalogError",
    "CsrfRefused",
    "EntityNotFound",
    "InvalidRequest",
    "StoreFailure",
    "SubjectNotFound",
    "UnprocessableSchema",
]


class CatalogError(Exception):
    """Base of every error the catalog reports to a caller."""

    http_status = 500
    error_code = 50001

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidRequest(CatalogError):
    """A parameter or body is malformed (names which one)."""

    http_status = 400
    error_code = 40001


class EntityNotFound(CatalogError):
    http_status = 404
    error_code = 40401


class SubjectNotFound(CatalogError):
    http_status = 404
    error_code = 40402


class UnprocessableSchema(CatalogError):
    """The proposed schema of an impact analysis is not a valid schema."""

    http_status = 422
    error_code = 42201


class CsrfRefused(CatalogError):
    """A UI form posted without its CSRF token (or with another session's)."""

    http_status = 403
    error_code = 40302


class StoreFailure(CatalogError):
    """The database failed; the message says so without a stack trace."""

    http_status = 500
    error_code = 50001
