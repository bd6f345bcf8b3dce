"""DEK registry decisions: what a KEK or DEK request must hold, and what creating twice means.

Creating a KEK or DEK that exists with the same values answers the existing
one (clients retry and race); with other values it is ``KeyAlreadyExists``
(409, 40971), which Confluent's executor answers by reading the stored key.
A DEK must come with its encrypted key material: this registry holds no KMS
credentials, so it cannot generate keys for shared KEKs (42271 says so).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import Any

from registry.deks.errors import InvalidKey, KeyAlreadyExists, KeyNotFound
from registry.deks.store import DekRecord, DekStore, KekRecord
from registry.errors import InvalidRequestBody
from registry.payloads import MAX_ID

__all__ = ["ALGORITHMS", "DekService", "LATEST"]

ALGORITHMS = ("AES128_GCM", "AES256_GCM", "AES256_SIV")
DEFAULT_ALGORITHM = "AES256_GCM"
LATEST = -1
_MAX_NAME = 255


def _text(body: Mapping[str, Any], field: str, *, required: bool) -> str | None:
    value = body.get(field)
    if value is None:
        if required:
            raise InvalidRequestBody(f"{field} is required")
        return None
    if not isinstance(value, str) or (required and not value):
        raise InvalidRequestBody(f"{field} must be a non-empty string")
    if "\x00" in value:  # PostgreSQL text cannot hold NUL
        raise InvalidRequestBody(f"{field} must not contain NUL characters")
    return value


def _props(body: Mapping[str, Any]) -> dict[str, str]:
    props = body.get("kmsProps") or {}
    if not isinstance(props, Mapping) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in props.items()
    ):
        raise InvalidRequestBody("kmsProps must be an object of strings")
    return dict(props)


def _shared(body: Mapping[str, Any]) -> bool:
    shared = body.get("shared", False)
    if not isinstance(shared, bool):
        raise InvalidRequestBody("shared must be true or false")
    return shared


def algorithm_of(text: str | None) -> str:
    algorithm = (text or DEFAULT_ALGORITHM).upper()
    if algorithm not in ALGORITHMS:
        raise InvalidKey(f"Invalid algorithm {text!r}; use one of {', '.join(ALGORITHMS)}")
    return algorithm


def _name(name: str) -> str:
    if not name or len(name) > _MAX_NAME or any(ord(c) < 32 for c in name):
        raise InvalidKey(f"Invalid key name {name[:80]!r}")
    return name


class DekService:
    def __init__(self, store: DekStore) -> None:
        self.store = store

    # -- KEKs ------------------------------------------------------------------------------

    def kek_names(self, *, deleted: bool = False) -> list[str]:
        return self.store.kek_names(deleted=deleted)

    def kek(self, name: str, *, deleted: bool = False) -> KekRecord:
        found = self.store.kek(name)
        if found is None or (found.deleted and not deleted):
            raise KeyNotFound(f"Key '{name}' not found")
        return found

    def create_kek(self, body: Mapping[str, Any]) -> KekRecord:
        wanted = KekRecord(
            name=_name(_text(body, "name", required=True) or ""),
            kms_type=_text(body, "kmsType", required=True) or "",
            kms_key_id=_text(body, "kmsKeyId", required=True) or "",
            kms_props=_props(body),
            doc=_text(body, "doc", required=False),
            shared=_shared(body),
            deleted=False,
            ts=0,
        )
        if not self.store.insert_kek(wanted):
            existing = self.store.kek(wanted.name)
            if existing is None or not _same_kek(existing, wanted):
                raise KeyAlreadyExists(f"Key '{wanted.name}' already exists; use a different value")
            return existing
        return self.kek(wanted.name)

    def update_kek(self, name: str, body: Mapping[str, Any]) -> KekRecord:
        current = self.kek(name)
        self.store.update_kek(
            name,
            _props(body) if "kmsProps" in body else current.kms_props,
            _text(body, "doc", required=False) if "doc" in body else current.doc,
            _shared(body) if "shared" in body else current.shared,
        )
        return self.kek(name)

    # -- DEKs ------------------------------------------------------------------------------

    def dek_subjects(self, kek_name: str, *, deleted: bool = False) -> list[str]:
        self.kek(kek_name, deleted=deleted)
        return self.store.dek_subjects(kek_name, deleted=deleted)

    def dek_versions(
        self, kek_name: str, subject: str, algorithm: str | None, *, deleted: bool = False
    ) -> list[int]:
        self.kek(kek_name, deleted=deleted)
        found = self.store.deks(kek_name, subject, algorithm_of(algorithm), deleted=deleted)
        return [dek.version for dek in found]

    def dek(
        self,
        kek_name: str,
        subject: str,
        version: int,
        algorithm: str | None,
        *,
        deleted: bool = False,
    ) -> DekRecord:
        self.kek(kek_name, deleted=deleted)
        found = self.store.deks(kek_name, subject, algorithm_of(algorithm), deleted=deleted)
        if version == LATEST and found:
            return found[-1]
        for dek in found:
            if dek.version == version:
                return dek
        raise KeyNotFound(f"Key '{subject}' not found")

    def create_dek(self, kek_name: str, body: Mapping[str, Any]) -> DekRecord:
        kek = self.kek(kek_name)
        subject = _text(body, "subject", required=True) or ""
        version = body.get("version", 1)
        if isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= MAX_ID:
            raise InvalidKey(f"Invalid version {version!r}; a DEK version is 1 to 2^31-1")
        algorithm = algorithm_of(_text(body, "algorithm", required=False))
        material = _text(body, "encryptedKeyMaterial", required=False)
        if not material:
            why = "a shared KEK" if kek.shared else "this KEK"
            raise InvalidKey(
                f"encryptedKeyMaterial is required: Charter's DEK registry holds no KMS "
                f"credentials to generate the DEK of {why} ('{kek_name}'); encrypt it client-side"
            )
        try:
            base64.b64decode(material, validate=True)
        except (binascii.Error, ValueError):
            raise InvalidKey("encryptedKeyMaterial must be base64") from None
        wanted = DekRecord(kek_name, subject, version, algorithm, material, False, 0)
        if not self.store.insert_dek(wanted):
            existing = self.dek(kek_name, subject, version, algorithm, deleted=True)
            if existing.encrypted_key_material != material:
                raise KeyAlreadyExists(f"Key '{subject}' already exists; use a different value")
            return existing
        return self.dek(kek_name, subject, version, algorithm)


def _same_kek(existing: KekRecord, wanted: KekRecord) -> bool:
    return (
        existing.kms_type == wanted.kms_type
        and existing.kms_key_id == wanted.kms_key_id
        and existing.kms_props == wanted.kms_props
        and existing.doc == wanted.doc
        and existing.shared == wanted.shared
    )
