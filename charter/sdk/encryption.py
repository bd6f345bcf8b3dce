"""Field-level encryption (Confluent's ``ENCRYPT`` rules) in the SDK: PII-tagged fields encrypted
before sending and decrypted on consume, interoperable with confluent-kafka's
``FieldEncryptionExecutor``.

An ``ENCRYPT`` rule (kind TRANSFORM) names tags (``["PII"]``) and, in its
params, a KEK (``encrypt.kek.name``, ``encrypt.kms.type``,
``encrypt.kms.key.id``) and a DEK algorithm (``encrypt.dek.algorithm``,
AES256_GCM by default). Every string or bytes field of an Avro record (through
nested records and nullable unions), and every string of a JSON Schema value
under a property whose tags meet the rule's (``charter.sdk.encryption_json``),
is encrypted with the subject's DEK: AES-GCM with a random 12-byte IV, written as
``IV || ciphertext || tag`` (Tink's RAW AES-GCM), or with ``AES256_SIV``
deterministically (Tink's RAW AES-SIV), strings as base64 text.
Keys, and DEK rotation (``encrypt.dek.expiry.days``: the DEK version in
front of each ciphertext), are ``charter.sdk.encryption_keys``.

KMS: ``local-kms`` (a key derived from a secret with HKDF-SHA256, as
Confluent's ``LocalKmsClient``), the secret from ``rule_config={"secret": …}``
or ``LOCAL_SECRET``. Other KMS types and Protobuf are refused when the rule is
compiled, so the SDK fails closed rather than send plaintext.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag

from charter.sdk.encryption_json import JsonFieldWalker
from charter.sdk.encryption_keys import (
    KEY_SIZES,
    EncryptRule,
    KeyRing,
    split_version,
    with_version,
)
from charter.sdk.errors import ValidationError
from charter.sdk.rest import RestClient

__all__ = ["FieldEncryption", "compile_encryption", "is_encrypt_rule"]


def is_encrypt_rule(rule: Mapping[str, Any]) -> bool:
    return (
        str(rule.get("kind", "TRANSFORM")).upper() == "TRANSFORM"
        and str(rule.get("type", "")).upper() == "ENCRYPT"
        and not rule.get("disabled")
    )


# -- rules and fields ----------------------------------------------------------------------


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
    if algorithm not in KEY_SIZES:
        raise refuse(f"DEK algorithm {algorithm}: use one of {', '.join(KEY_SIZES)}")
    if not raw.get("tags"):
        raise refuse("no tags: the SDK encrypts the fields whose tags the rule names")
    expiry = str(params.get("encrypt.dek.expiry.days") or "0").strip()
    if not expiry.isdigit():  # Confluent's executor refuses negative and non-integer days too
        raise refuse(f"encrypt.dek.expiry.days must be a whole number of days, got {expiry!r}")
    return EncryptRule(
        name,
        frozenset(raw.get("tags") or ()),
        str(kek_name),
        str(kms_type),
        str(params.get("encrypt.kms.key.id") or ""),
        algorithm,
        int(expiry),
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
    """The ENCRYPT rules of one schema version, bound to a key ring and a subject.

    Avro values follow the planner's field plans; JSON values the ``JsonFieldWalker``.
    """

    def __init__(
        self,
        plans: list[_Plan],
        keys: KeyRing,
        subject: str,
        json_walker: JsonFieldWalker | None = None,
    ) -> None:
        self.plans = plans
        self.keys = keys
        self.subject = subject
        self.json_walker = json_walker

    def encrypt(self, value: Any) -> Any:
        if self.json_walker is not None:
            return self.json_walker.walk(value, self._encrypt_text)
        return self._walk(value, self.plans, self._encrypt_one)

    def decrypt(self, value: Any) -> Any:
        if self.json_walker is not None:
            return self.json_walker.walk(value, self._decrypt_text)
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

    def _encrypt_text(self, value: str, rule: EncryptRule) -> str:
        return str(self._encrypt_one(value, "string", rule))

    def _decrypt_text(self, value: str, rule: EncryptRule) -> str:
        return str(self._decrypt_one(value, "string", rule))

    def _encrypt_one(self, value: Any, kind: str, rule: EncryptRule) -> Any:
        plaintext = value.encode("utf-8") if kind == "string" else bytes(value)
        version, cipher = self.keys.for_write(rule, self.subject)
        ciphertext = cipher.encrypt(plaintext)
        if rule.expiry_days > 0:  # rotated DEKs: the version travels with the ciphertext
            ciphertext = with_version(version, ciphertext)
        return base64.b64encode(ciphertext).decode() if kind == "string" else ciphertext

    def _decrypt_one(self, value: Any, kind: str, rule: EncryptRule) -> Any:
        try:
            ciphertext = base64.b64decode(value) if kind == "string" else bytes(value)
            version = 1
            if rule.expiry_days > 0:
                version, ciphertext = split_version(ciphertext)
            plaintext = self.keys.for_read(rule, self.subject, version).decrypt(ciphertext)
            return plaintext.decode("utf-8") if kind == "string" else plaintext
        except (InvalidTag, ValueError, binascii.Error) as error:
            raise ValidationError(
                f"#: ENCRYPT rule {rule.name!r}: a field does not decrypt with the subject's "
                f"DEK ({type(error).__name__}: {error})",
                "#",
                rule=rule.name,
            ) from None


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
    kind = schema_type.upper()
    if kind not in ("AVRO", "JSON") or (kind == "AVRO" and not isinstance(document, Mapping)):
        raise ValidationError(
            f"#: ENCRYPT rule {first!r}: the SDK encrypts fields of Avro records and JSON "
            f"Schema values, not {kind} (planned)",
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
    keys = KeyRing(rest, secret)
    if kind == "JSON":
        return FieldEncryption([], keys, subject, JsonFieldWalker(document, rules, metadata))
    plans = _Planner(rules, metadata).record(document, None, frozenset())
    return FieldEncryption(plans, keys, subject)
