"""Governance's errors, each with its HTTP status and error code (mapped in ``governance.api``)."""

from __future__ import annotations

__all__ = ["GovernanceError", "InvalidPolicyRequest", "PolicyNotFound"]


class GovernanceError(Exception):
    http_status = 500
    error_code = 50001

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class PolicyNotFound(GovernanceError):
    http_status = 404
    error_code = 40410


class InvalidPolicyRequest(GovernanceError):
    """A policy update whose body or params are not valid (the message says why)."""

    http_status = 422
    error_code = 42250
