"""The DEK registry's tables and queries (their own migration series, ``registry.deks``).

- ``registry_kek``: one row per KEK name: KMS type and key id, KMS properties
  (JSON), doc, ``shared``, soft ``deleted``, ``ts`` (ms of the last change).
- ``registry_dek``: one row per (KEK, subject, version, algorithm): the key
  material encrypted by the KEK (base64 text, as clients send it), soft
  ``deleted``, ``ts``. Unique on the four, so concurrent creators converge.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from typing import Any

import peewee

__all__ = ["MIGRATIONS", "MIGRATION_KEY", "DekRecord", "DekStore", "KekRecord"]

MIGRATION_KEY = "registry.deks"


@dataclasses.dataclass(frozen=True)
class KekRecord:
    name: str
    kms_type: str
    kms_key_id: str
    kms_props: dict[str, str]
    doc: str | None
    shared: bool
    deleted: bool
    ts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kmsType": self.kms_type,
            "kmsKeyId": self.kms_key_id,
            "kmsProps": self.kms_props,
            "doc": self.doc,
            "shared": self.shared,
            "ts": self.ts,
            "deleted": self.deleted,
        }


@dataclasses.dataclass(frozen=True)
class DekRecord:
    kek_name: str
    subject: str
    version: int
    algorithm: str
    encrypted_key_material: str
    deleted: bool
    ts: int

    def to_json(self) -> dict[str, Any]:
        return {
            "kekName": self.kek_name,
            "subject": self.subject,
            "version": self.version,
            "algorithm": self.algorithm,
            "encryptedKeyMaterial": self.encrypted_key_material,
            "ts": self.ts,
            "deleted": self.deleted,
        }


def _models(database: peewee.Database) -> tuple[type[peewee.Model], type[peewee.Model]]:
    bound_database = database

    class _Base(peewee.Model):
        class Meta:
            database = bound_database
            legacy_table_names = False

    class KekRow(_Base):
        name = peewee.CharField(max_length=255, primary_key=True)
        kms_type = peewee.CharField(max_length=64)
        kms_key_id = peewee.TextField()
        kms_props_json = peewee.TextField(default="{}")
        doc = peewee.TextField(null=True)
        shared = peewee.BooleanField(default=False)
        deleted = peewee.BooleanField(default=False)
        ts = peewee.BigIntegerField()

        class Meta:
            table_name = "registry_kek"

    class DekRow(_Base):
        kek_name = peewee.CharField(max_length=255)
        subject = peewee.TextField()
        version = peewee.IntegerField()
        algorithm = peewee.CharField(max_length=32)
        encrypted_key_material = peewee.TextField()
        deleted = peewee.BooleanField(default=False)
        ts = peewee.BigIntegerField()

        class Meta:
            table_name = "registry_dek"
            indexes = ((("kek_name", "subject", "version", "algorithm"), True),)

    return KekRow, DekRow


def _create_tables(database: peewee.Database) -> None:
    database.create_tables(list(_models(database)), safe=True)


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_tables]


def _now_ms() -> int:
    return int(time.time() * 1000)


class DekStore:
    """Queries over the two tables; every write in one ``atomic()``."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        self.Kek, self.Dek = _models(database)

    @staticmethod
    def _kek(row: Any) -> KekRecord:
        return KekRecord(
            row.name,
            row.kms_type,
            row.kms_key_id,
            json.loads(row.kms_props_json or "{}"),
            row.doc,
            bool(row.shared),
            bool(row.deleted),
            int(row.ts),
        )

    @staticmethod
    def _dek(row: Any) -> DekRecord:
        return DekRecord(
            row.kek_name,
            row.subject,
            int(row.version),
            row.algorithm,
            row.encrypted_key_material,
            bool(row.deleted),
            int(row.ts),
        )

    def kek(self, name: str) -> KekRecord | None:
        row = self.Kek.get_or_none(self.Kek.name == name)
        return None if row is None else self._kek(row)

    def kek_names(self, *, deleted: bool) -> list[str]:
        query = self.Kek.select(self.Kek.name).order_by(self.Kek.name)
        if not deleted:
            query = query.where(~self.Kek.deleted)
        return [row.name for row in query]

    def insert_kek(self, kek: KekRecord) -> bool:
        """Insert ``kek``; False when a KEK of that name exists (a concurrent creator won)."""
        try:
            with self.database.atomic():
                self.Kek.create(
                    name=kek.name,
                    kms_type=kek.kms_type,
                    kms_key_id=kek.kms_key_id,
                    kms_props_json=json.dumps(kek.kms_props, sort_keys=True),
                    doc=kek.doc,
                    shared=kek.shared,
                    deleted=False,
                    ts=_now_ms(),
                )
        except peewee.IntegrityError:
            return False
        return True

    def update_kek(
        self, name: str, kms_props: dict[str, str], doc: str | None, shared: bool
    ) -> None:
        with self.database.atomic():
            self.Kek.update(
                kms_props_json=json.dumps(kms_props, sort_keys=True),
                doc=doc,
                shared=shared,
                ts=_now_ms(),
            ).where(self.Kek.name == name).execute()

    def deks(
        self, kek_name: str, subject: str, algorithm: str, *, deleted: bool
    ) -> list[DekRecord]:
        """The DEKs of (KEK, subject, algorithm), oldest version first."""
        query = (
            self.Dek.select()
            .where(
                (self.Dek.kek_name == kek_name)
                & (self.Dek.subject == subject)
                & (self.Dek.algorithm == algorithm)
            )
            .order_by(self.Dek.version)
        )
        if not deleted:
            query = query.where(~self.Dek.deleted)
        return [self._dek(row) for row in query]

    def dek_subjects(self, kek_name: str, *, deleted: bool) -> list[str]:
        query = (
            self.Dek.select(self.Dek.subject)
            .where(self.Dek.kek_name == kek_name)
            .distinct()
            .order_by(self.Dek.subject)
        )
        if not deleted:
            query = query.where(~self.Dek.deleted)
        return [row.subject for row in query]

    def insert_dek(self, dek: DekRecord) -> bool:
        """Insert ``dek``; False when that (KEK, subject, version, algorithm) exists."""
        try:
            with self.database.atomic():
                self.Dek.create(
                    kek_name=dek.kek_name,
                    subject=dek.subject,
                    version=dek.version,
                    algorithm=dek.algorithm,
                    encrypted_key_material=dek.encrypted_key_material,
                    deleted=False,
                    ts=_now_ms(),
                )
        except peewee.IntegrityError:
            return False
        return True
