"""The DEK registry's errors: part of the registry's tree, with Confluent's DEK registry codes."""

from __future__ import annotations

from registry.errors import RegistryError

__all__ = ["InvalidKey", "KeyAlreadyExists", "KeyNotFound"]


class KeyNotFound(RegistryError):
    error_code = 40470
    http_status = 404


class KeyAlreadyExists(RegistryError):
    """A KEK or DEK of that name/version exists with other values (Confluent: 40971)."""

    error_code = 40971
    http_status = 409


class InvalidKey(RegistryError):
    error_code = 42271
    http_status = 422
