"""Field-level encryption (Confluent's ``ENCRYPT`` rules) in the SDK: PII-tagged fields encrypted
before sending and decrypted on consume, interoperable with confluent-kafka's
``FieldEncryptionExecutor``.

An ``ENCRYPT`` rule (kind TRANSFORM) names tags (``["PII"]``) and, in its
params, a KEK (``encrypt.kek.name``, ``encrypt.kms.type``,
``encrypt.kms.key.id``) and a DEK algorithm (``encrypt.dek.algorithm``,
AES256_GCM by default). Every string or bytes field of an Avro record (through
nested records and nullable unions) whose tags meet the rule's is encrypted
with the subject's DEK: AES-GCM with a random 12-byte IV, written as
``IV || ciphertext || tag`` (Tink's RAW AES-GCM), or with ``AES256_SIV``
deterministically (Tink's RAW AES-SIV), strings as base64 text.
The DEK lives in the DEK registry (``/dek-registry/v1``) encrypted by the
KEK; the SDK creates the KEK and DEK on first use as Confluent's executor
does, and keeps raw keys in memory only. The DEK's plaintext is Tink's
``AesGcmKey``/``AesSivKey`` (a proto tag, the length, the key bytes), so
either side reads the other's.

KMS: ``local-kms`` (a key derived from a secret with HKDF-SHA256, as
Confluent's ``LocalKmsClient``), the secret from ``rule_config={"secret": …}``
or ``LOCAL_SECRET``. Other KMS types and DEK expiry (versioned ciphertexts)
are refused when the rule is compiled, so the SDK fails closed rather than
send plaintext.
"""

from __future__ import annotations

import base64
import dataclasses
import os
import threading
import urllib.parse
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from charter.sdk.errors import RegistryClientError, ValidationError
from charter.sdk.rest import RestClient

__all__ = ["FieldEncryption", "compile_encryption", "is_encrypt_rule"]

_KEY_SIZES = {"AES128_GCM": 16, "AES256_GCM": 32, "AES256_SIV": 64}
# The field number of ``key_value`` in Tink's AesGcmKey (3) and AesSivKey (2), as a proto tag.
_KEY_VALUE_TAG = {"AES128_GCM": 0x1A, "AES256_GCM": 0x1A, "AES256_SIV": 0x12}
_IV_BYTES = 12
_NOT_FOUND = 404
_CONFLICT = 409


def is_encrypt_rule(rule: Mapping[str, Any]) -> bool:
    return (
        str(rule.get("kind", "TRANSFORM")).upper() == "TRANSFORM"
        and str(rule.get("type", "")).upper() == "ENCRYPT"
        and not rule.get("disabled")
    )


# -- keys ----------------------------------------------------------------------------------


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


def _tink_key(raw: bytes, algorithm: str = "AES256_GCM") -> bytes:
    """Tink's serialized ``AesGcmKey``/``AesSivKey`` (version 0 omitted, then the key bytes)."""
    return bytes([_KEY_VALUE_TAG[algorithm], len(raw)]) + raw


def _raw_key(tink_key: bytes, algorithm: str = "AES256_GCM") -> bytes:
    tag = _KEY_VALUE_TAG[algorithm]
    if len(tink_key) < 2 or tink_key[0] != tag or tink_key[1] != len(tink_key) - 2:
        raise ValueError(f"the DEK is not a Tink key for {algorithm}")
    return tink_key[2:]


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


class KeyRing:
    """KEKs and DEKs from the DEK registry, raw DEKs cached in memory per (kek, subject, algorithm)."""

    def __init__(self, rest: RestClient, secret: str) -> None:
        self.rest = rest
        self.kms = LocalKms(secret)
        self._keys: dict[tuple[str, str, str], FieldCipher] = {}
        self._lock = threading.Lock()

    def cipher(self, rule: EncryptRule, subject: str) -> FieldCipher:
        key = (rule.kek_name, subject, rule.algorithm)
        found = self._keys.get(key)
        if found is None:
            with self._lock:
                found = self._keys.get(key) or FieldCipher(self._dek(rule, subject), rule.algorithm)
                self._keys[key] = found
        return found

    def _dek(self, rule: EncryptRule, subject: str) -> bytes:
        self._kek(rule)
        kek = urllib.parse.quote(rule.kek_name, safe="")
        path = f"/dek-registry/v1/keks/{kek}/deks/{urllib.parse.quote(subject, safe='')}"
        query = f"?algorithm={rule.algorithm}"
        try:
            dek = self.rest.call("GET", f"{path}/versions/1{query}")
        except RegistryClientError as error:
            if error.status != _NOT_FOUND:
                raise
            raw = os.urandom(_KEY_SIZES[rule.algorithm])
            tink_key = _tink_key(raw, rule.algorithm)
            material = base64.b64encode(self.kms.encrypt(tink_key)).decode()
            body = {"version": 1, "algorithm": rule.algorithm, "encryptedKeyMaterial": material}
            try:
                dek = self.rest.call("POST", path, body)
            except RegistryClientError as conflict:  # another producer registered it first
                if conflict.status != _CONFLICT:
                    raise
                dek = self.rest.call("GET", f"{path}/versions/1{query}")
        encrypted = base64.b64decode(dek["encryptedKeyMaterial"])
        return _raw_key(self.kms.decrypt(encrypted), rule.algorithm)

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


# -- rules and fields ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class EncryptRule:
    name: str
    tags: frozenset[str]
    kek_name: str
    kms_type: str
    kms_key_id: str
    algorithm: str


def _rule_of(raw: Mapping[str, Any]) -> EncryptRule:
    name = str(raw.get("name") or "unnamed")
    params = raw.get("params") or {}

    def refuse(why: str) -> ValidationError:
        return ValidationError(f"#: ENCRYPT rule {name!r}: {why}", "#", rule=name)

    kek_name, kms_type = params.get("encrypt.kek.name"), params.get("encrypt.kms.type")
    if not kek_name:
        raise refuse("params need encrypt.kek.name")
    if kms_type != "local-kms":
        raise refuse(f"KMS type {kms_type!r}: the SDK supports local-kms only (planned: others)")
    algorithm = str(params.get("encrypt.dek.algorithm") or "AES256_GCM").upper()
    if algorithm not in _KEY_SIZES:
        raise refuse(f"DEK algorithm {algorithm}: use one of {', '.join(_KEY_SIZES)}")
    if not raw.get("tags"):
        raise refuse("no tags: the SDK encrypts the fields whose tags the rule names")
    if str(params.get("encrypt.dek.expiry.days") or "0").strip() not in ("0", "-1"):
        raise refuse("encrypt.dek.expiry.days (DEK rotation) is not supported by the SDK yet")
    return EncryptRule(
        name,
        frozenset(raw.get("tags") or ()),
        str(kek_name),
        str(kms_type),
        str(params.get("encrypt.kms.key.id") or ""),
        algorithm,
    )


def _metadata_tags(metadata: Mapping[str, Any] | None) -> Mapping[str, Any]:
    tags = (metadata or {}).get("tags") or {}
    return tags if isinstance(tags, Mapping) else {}


def _tags(full_name: str, field: Mapping[str, Any], metadata: Mapping[str, Any] | None) -> set[str]:
    import fnmatch

    tags = set(field.get("confluent:tags") or ())
    for pattern, extra in _metadata_tags(metadata).items():
        if fnmatch.fnmatchcase(full_name, pattern):
            tags.update(str(tag) for tag in extra)
    return tags


# A field plan: ("crypt", name, kind, rule) encrypts the field's value (kind string|bytes);
# ("record", name, plans) descends into a nested record value.
_Plan = tuple[Any, ...]


class _Planner:
    """Walks an Avro record schema once and plans which fields to encrypt.

    Records are followed through fields and nullable unions. A matching tagged
    field the SDK cannot reach — inside an array, a map, a union of several
    types, or a recursive record — is refused, so nothing tagged leaves
    unencrypted.
    """

    def __init__(self, rules: list[EncryptRule], metadata: Mapping[str, Any] | None) -> None:
        self.rules = rules
        self.metadata = metadata
        self.named: dict[str, Mapping[str, Any]] = {}

    def refuse(self, rule: EncryptRule, where: str, why: str) -> ValidationError:
        return ValidationError(
            f"#: ENCRYPT rule {rule.name!r}: field {where} {why}", "#", rule=rule.name
        )

    def record(
        self, schema: Mapping[str, Any], namespace: str | None, stack: frozenset[str]
    ) -> list[_Plan]:
        name = str(schema.get("name", ""))
        namespace = schema.get("namespace", namespace)
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        self.named[full] = schema
        self.named.setdefault(name, schema)
        stack = stack | {full}
        plans: list[_Plan] = []
        for field in schema.get("fields", ()):
            where = f"{full}.{field['name']}"
            field_type = field["type"]
            branches = field_type if isinstance(field_type, list) else [field_type]
            concrete = [self._resolve(branch) for branch in branches if branch != "null"]
            if len(concrete) == 1 and _is_record(concrete[0]):
                inner = self._nested(concrete[0], namespace, stack, where, "recursive")
                if inner:
                    plans.append(("record", field["name"], inner))
                continue
            for branch in concrete:  # records the SDK does not descend into
                self._unreachable(branch, namespace, stack, where)
            matching = [
                rule for rule in self.rules if rule.tags & _tags(where, field, self.metadata)
            ]
            if not matching:
                continue
            target = concrete[0] if len(concrete) == 1 else None
            kind = target if isinstance(target, str) else (target or {}).get("type")
            if kind not in ("string", "bytes"):
                raise self.refuse(
                    matching[0], where, f"is {kind or 'a union'}; only string and bytes fields "
                    "can be encrypted",
                )  # fmt: skip
            plans.append(("crypt", field["name"], kind, matching[0]))
        return plans

    def _resolve(self, schema: Any) -> Any:
        return self.named.get(schema, schema) if isinstance(schema, str) else schema

    def _nested(
        self,
        schema: Mapping[str, Any],
        namespace: str | None,
        stack: frozenset[str],
        where: str,
        how: str,
    ) -> list[_Plan]:
        name = str(schema.get("name", ""))
        full = name if "." in name or not schema.get("namespace", namespace) else (
            f"{schema.get('namespace', namespace)}.{name}"
        )  # fmt: skip
        if full in stack or len(stack) > 64:
            if self._has_tagged(schema, namespace):
                raise self.refuse(self.rules[0], where, f"is {how}: not supported by the SDK yet")
            return []
        plans = self.record(schema, namespace, stack)
        if plans and how != "recursive":
            raise self.refuse(self.rules[0], where, f"holds tagged fields {how}: not supported yet")
        return plans

    def _unreachable(
        self, schema: Any, namespace: str | None, stack: frozenset[str], where: str
    ) -> None:
        schema = self._resolve(schema)
        if _is_record(schema):
            self._nested(schema, namespace, stack, where, "in a union of several types")
        elif isinstance(schema, Mapping) and schema.get("type") in ("array", "map"):
            inner = schema.get("items") if schema["type"] == "array" else schema.get("values")
            for branch in inner if isinstance(inner, list) else [inner]:
                if branch != "null":
                    resolved = self._resolve(branch)
                    if _is_record(resolved):
                        how = f"inside {'an array' if schema['type'] == 'array' else 'a map'}"
                        self._nested(resolved, namespace, stack, where, how)

    def _has_tagged(self, schema: Mapping[str, Any], namespace: str | None) -> bool:
        name = str(schema.get("name", ""))
        full = name if "." in name or not namespace else f"{namespace}.{name}"
        return any(
            rule.tags & _tags(f"{full}.{field['name']}", field, self.metadata)
            for field in schema.get("fields", ())
            for rule in self.rules
        )


def _is_record(schema: Any) -> bool:
    return isinstance(schema, Mapping) and schema.get("type") == "record"


class FieldEncryption:
    """The ENCRYPT rules of one schema version, bound to a key ring and a subject."""

    def __init__(self, plans: list[_Plan], keys: KeyRing, subject: str) -> None:
        self.plans = plans
        self.keys = keys
        self.subject = subject

    def encrypt(self, value: Any) -> Any:
        return self._walk(value, self.plans, self._encrypt_one)

    def decrypt(self, value: Any) -> Any:
        return self._walk(value, self.plans, self._decrypt_one)

    def _walk(self, value: Any, plans: list[_Plan], change: Callable[..., Any]) -> Any:
        if not isinstance(value, dict):
            return value
        changed = dict(value)
        for plan in plans:
            field_value = changed.get(plan[1])
            if field_value is None:
                continue
            if plan[0] == "record":
                changed[plan[1]] = self._walk(field_value, plan[2], change)
            else:
                changed[plan[1]] = change(field_value, plan[2], plan[3])
        return changed

    def _encrypt_one(self, value: Any, kind: str, rule: EncryptRule) -> Any:
        plaintext = value.encode("utf-8") if kind == "string" else bytes(value)
        ciphertext = self.keys.cipher(rule, self.subject).encrypt(plaintext)
        return base64.b64encode(ciphertext).decode() if kind == "string" else ciphertext

    def _decrypt_one(self, value: Any, kind: str, rule: EncryptRule) -> Any:
        try:
            ciphertext = base64.b64decode(value) if kind == "string" else bytes(value)
            plaintext = self.keys.cipher(rule, self.subject).decrypt(ciphertext)
        except (InvalidTag, ValueError) as error:
            raise ValidationError(
                f"#: ENCRYPT rule {rule.name!r}: a field does not decrypt with the subject's "
                f"DEK ({type(error).__name__})",
                "#",
                rule=rule.name,
            ) from None
        return plaintext.decode("utf-8") if kind == "string" else plaintext


def compile_encryption(
    schema_type: str,
    document: Any,
    rule_set: Mapping[str, Any] | None,
    metadata: Mapping[str, Any] | None,
    *,
    modes: frozenset[str],
    subject: str,
    rest: RestClient,
    rule_config: Mapping[str, str] | None,
) -> FieldEncryption | None:
    """The field encryption of a schema version's ENCRYPT rules in ``modes``; None when it has none.

    ``ValidationError`` when a rule cannot run in the SDK (another KMS, no secret, JSON Schema...).
    """
    raw_rules = [
        rule
        for rule in (rule_set or {}).get("domainRules") or ()
        if is_encrypt_rule(rule) and str(rule.get("mode", "WRITEREAD")).upper() in modes
    ]
    if not raw_rules:
        return None
    first = str(raw_rules[0].get("name") or "unnamed")
    if schema_type.upper() != "AVRO" or not isinstance(document, Mapping):
        raise ValidationError(
            f"#: ENCRYPT rule {first!r}: the SDK encrypts fields of Avro records only (planned)",
            "#",
            rule=first,
        )
    rules = [_rule_of(rule) for rule in raw_rules]
    secret = (rule_config or {}).get("secret") or os.environ.get("LOCAL_SECRET")
    if not secret:
        raise ValidationError(
            f"#: ENCRYPT rule {first!r}: local-kms needs a secret "
            '(rule_config={"secret": ...} or LOCAL_SECRET)',
            "#",
            rule=first,
        )
    plans = _Planner(rules, metadata).record(document, None, frozenset())
    return FieldEncryption(plans, KeyRing(rest, secret), subject)
