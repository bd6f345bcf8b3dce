"""Keys for field encryption: the local KMS, DEKs from the DEK registry, and the field cipher.

A DEK is kept in the DEK registry (``/dek-registry/v1``) encrypted by its KEK;
``KeyRing`` creates the KEK and DEK on first use as confluent-kafka's
``FieldEncryptionExecutor`` does and keeps raw keys in memory only. The DEK's
plaintext is Tink's ``AesGcmKey``/``AesSivKey`` (a proto tag, the length, the
key bytes), so either side reads the other's.

Rotation (``encrypt.dek.expiry.days`` > 0), as Confluent's executor: a writer
uses the subject's latest DEK version and registers the next version when the
latest is older than the expiry (its ``ts``); each ciphertext then starts with
a zero byte and the 4-byte big-endian DEK version, so a reader fetches the
version it needs and old versions stay readable. Without expiry every
ciphertext uses version 1 and has no prefix.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import struct
import threading
import time
import urllib.parse
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charter.sdk.errors import RegistryClientError
from charter.sdk.rest import RestClient

__all__ = [
    "KEY_SIZES",
    "EncryptRule",
    "FieldCipher",
    "KeyRing",
    "LocalKms",
    "split_version",
    "with_version",
]

KEY_SIZES = {"AES128_GCM": 16, "AES256_GCM": 32, "AES256_SIV": 64}
# The field number of ``key_value`` in Tink's AesGcmKey (3) and AesSivKey (2), as a proto tag.
_KEY_VALUE_TAG = {"AES128_GCM": 0x1A, "AES256_GCM": 0x1A, "AES256_SIV": 0x12}
_IV_BYTES = 12
_NOT_FOUND = 404
_CONFLICT = 409
_DAY_MS = 24 * 60 * 60 * 1000
_VERSION_PREFIX = struct.Struct(">bI")  # magic byte 0, DEK version


@dataclasses.dataclass(frozen=True)
class EncryptRule:
    """An ENCRYPT rule's parameters; ``expiry_days`` 0 means no rotation."""

    name: str
    tags: frozenset[str]
    kek_name: str
    kms_type: str
    kms_key_id: str
    algorithm: str
    expiry_days: int = 0


def with_version(version: int, ciphertext: bytes) -> bytes:
    return _VERSION_PREFIX.pack(0, version) + ciphertext


def split_version(data: bytes) -> tuple[int, bytes]:
    """``(dek_version, ciphertext)`` of a rotated rule's field; ``ValueError`` when too short."""
    if len(data) < _VERSION_PREFIX.size:
        raise ValueError("no DEK version in the ciphertext")
    _, version = _VERSION_PREFIX.unpack_from(data)
    return version, data[_VERSION_PREFIX.size :]


class LocalKms:
    """Confluent's ``local-kms``: AES-128-GCM with a key derived from a secret (HKDF-SHA256)."""

    def __init__(self, secret: str) -> None:
        key = HKDF(algorithm=hashes.SHA256(), length=16, salt=None, info=b"").derive(
            secret.encode("utf-8")
        )
        self._aead = AESGCM(key)

    def encrypt(self, plaintext: bytes) -> bytes:
        iv = os.urandom(_IV_BYTES)
        return iv + self._aead.encrypt(iv, plaintext, b"")

    def decrypt(self, ciphertext: bytes) -> bytes:
        return self._aead.decrypt(ciphertext[:_IV_BYTES], ciphertext[_IV_BYTES:], b"")


def tink_key(raw: bytes, algorithm: str = "AES256_GCM") -> bytes:
    """Tink's serialized ``AesGcmKey``/``AesSivKey`` (version 0 omitted, then the key bytes)."""
    return bytes([_KEY_VALUE_TAG[algorithm], len(raw)]) + raw


def raw_key(tink_bytes: bytes, algorithm: str = "AES256_GCM") -> bytes:
    tag = _KEY_VALUE_TAG[algorithm]
    if len(tink_bytes) < 2 or tink_bytes[0] != tag or tink_bytes[1] != len(tink_bytes) - 2:
        raise ValueError(f"the DEK is not a Tink key for {algorithm}")
    return tink_bytes[2:]


class FieldCipher:
    """A DEK as Tink's RAW primitives use it: AES-GCM (random IV ‖ ciphertext ‖ tag) or
    AES-SIV (deterministic, SIV ‖ ciphertext), with empty associated data."""

    def __init__(self, raw: bytes, algorithm: str) -> None:
        self.deterministic = algorithm == "AES256_SIV"
        self._siv = AESSIV(raw) if self.deterministic else None
        self._gcm = None if self.deterministic else AESGCM(raw)

    def encrypt(self, plaintext: bytes) -> bytes:
        if self._siv is not None:
            return self._siv.encrypt(plaintext, [b""])
        iv = os.urandom(_IV_BYTES)
        return iv + self._gcm.encrypt(iv, plaintext, b"")  # type: ignore[union-attr]

    def decrypt(self, ciphertext: bytes) -> bytes:
        if self._siv is not None:
            return self._siv.decrypt(ciphertext, [b""])
        return self._gcm.decrypt(  # type: ignore[union-attr]
            ciphertext[:_IV_BYTES], ciphertext[_IV_BYTES:], b""
        )


@dataclasses.dataclass(frozen=True)
class _WriteKey:
    version: int
    cipher: FieldCipher
    expires_ms: float  # when a rotated rule must look for (or make) a newer version


class KeyRing:
    """KEKs and DEKs from the DEK registry; raw DEKs cached in memory.

    ``clock`` answers milliseconds since the epoch (tests move it to expire DEKs).
    """

    def __init__(
        self, rest: RestClient, secret: str, clock: Callable[[], float] | None = None
    ) -> None:
        self.rest = rest
        self.kms = LocalKms(secret)
        self._clock = clock or (lambda: time.time() * 1000)
        self._read: dict[tuple[str, str, str, int], FieldCipher] = {}
        self._write: dict[tuple[str, str, str], _WriteKey] = {}
        self._lock = threading.Lock()

    def for_write(self, rule: EncryptRule, subject: str) -> tuple[int, FieldCipher]:
        """``(version, cipher)`` to encrypt with: version 1, or the latest unexpired one."""
        key = (rule.kek_name, subject, rule.algorithm)
        found = self._write.get(key)
        if found is None or self._clock() > found.expires_ms:
            with self._lock:
                found = self._write.get(key)
                if found is None or self._clock() > found.expires_ms:
                    found = self._write_key(rule, subject)
                    self._write[key] = found
        return found.version, found.cipher

    def for_read(self, rule: EncryptRule, subject: str, version: int = 1) -> FieldCipher:
        key = (rule.kek_name, subject, rule.algorithm, version)
        found = self._read.get(key)
        if found is None:
            with self._lock:
                found = self._read.get(key)
                if found is None:
                    dek = self._get_dek(rule, subject, str(version))
                    if dek is None:
                        raise ValueError(f"DEK version {version} of {subject} does not exist")
                    found = self._read[key] = self._cipher(dek, rule)
        return found

    def _write_key(self, rule: EncryptRule, subject: str) -> _WriteKey:
        self._kek(rule)
        rotated = rule.expiry_days > 0
        dek = self._get_dek(rule, subject, "latest" if rotated else "1")
        if dek is None:
            dek = self._create_dek(rule, subject, 1)
        elif rotated and self._expired(dek, rule):
            dek = self._create_dek(rule, subject, int(dek["version"]) + 1)
        expires = (
            float(dek.get("ts") or 0) + rule.expiry_days * _DAY_MS if rotated else float("inf")
        )
        return _WriteKey(int(dek.get("version") or 1), self._cipher(dek, rule), expires)

    def _expired(self, dek: dict, rule: EncryptRule) -> bool:
        return (self._clock() - float(dek.get("ts") or 0)) / _DAY_MS > rule.expiry_days

    def _cipher(self, dek: dict, rule: EncryptRule) -> FieldCipher:
        encrypted = base64.b64decode(dek["encryptedKeyMaterial"])
        return FieldCipher(raw_key(self.kms.decrypt(encrypted), rule.algorithm), rule.algorithm)

    def _dek_path(self, rule: EncryptRule, subject: str) -> str:
        kek = urllib.parse.quote(rule.kek_name, safe="")
        return f"/dek-registry/v1/keks/{kek}/deks/{urllib.parse.quote(subject, safe='')}"

    def _get_dek(self, rule: EncryptRule, subject: str, version: str) -> dict | None:
        path = f"{self._dek_path(rule, subject)}/versions/{version}?algorithm={rule.algorithm}"
        try:
            return self.rest.call("GET", path)  # type: ignore[no-any-return]
        except RegistryClientError as error:
            if error.status != _NOT_FOUND:
                raise
            return None

    def _create_dek(self, rule: EncryptRule, subject: str, version: int) -> dict:
        material = self.kms.encrypt(tink_key(os.urandom(KEY_SIZES[rule.algorithm]), rule.algorithm))
        body = {
            "version": version,
            "algorithm": rule.algorithm,
            "encryptedKeyMaterial": base64.b64encode(material).decode(),
        }
        try:
            return self.rest.call("POST", self._dek_path(rule, subject), body)  # type: ignore[no-any-return]
        except RegistryClientError as conflict:  # another producer registered it first
            if conflict.status != _CONFLICT:
                raise
        dek = self._get_dek(rule, subject, str(version))
        if dek is None:
            raise RegistryClientError(f"DEK version {version} of {subject} vanished", _NOT_FOUND)
        return dek

    def _kek(self, rule: EncryptRule) -> None:
        """Make sure the KEK exists (created with the rule's KMS type and key id when absent)."""
        path = f"/dek-registry/v1/keks/{urllib.parse.quote(rule.kek_name, safe='')}"
        try:
            self.rest.call("GET", path)
        except RegistryClientError as error:
            if error.status != _NOT_FOUND:
                raise
            body = {
                "name": rule.kek_name,
                "kmsType": rule.kms_type,
                "kmsKeyId": rule.kms_key_id,
                "shared": False,
            }
            try:
                self.rest.call("POST", "/dek-registry/v1/keks", body)
            except RegistryClientError as conflict:
                if conflict.status != _CONFLICT:
                    raise
