"""Security's tables and queries: users, SCRAM credentials, API keys, role bindings.

- ``security_users``: name, scrypt password hash;
- ``security_scram``: per user and mechanism, salt, iterations, StoredKey, ServerKey;
- ``security_api_keys``: key id, owner, SHA-256 of the secret;
- ``security_role_bindings``: principal, role, resource pattern (type, name, prefix);
- ``security_acls``: Kafka ACL entries no role expresses (``acl_entries``): principal,
  host, resource type, name, pattern type, operation and permission (Kafka's codes);
- ``security_generation``: one row, bumped in the same transaction as every
  change above, so each process reloads its cached bindings when it moves.

Security's audit entries are in the governance audit log (``governance.security.audit``).

Uniqueness is the database's (primary keys, unique indexes): a duplicate is an
``IntegrityError`` turned into ``UserExists`` by the service.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import peewee

from governance.security.acl_entries import AclEntry, AclOperation, AclPermission, PatternType
from governance.security.credentials import ScramCredential
from governance.security.model import ResourcePattern, ResourceType, Role

_Row = TypeVar("_Row")

__all__ = [
    "MIGRATIONS",
    "MIGRATION_KEY",
    "NO_PASSWORD",
    "Binding",
    "SecurityStore",
    "UserRow",
]

NO_PASSWORD = "!scram-only"
"""The password hash of a user made by AlterUserScramCredentials: no password matches it, so
only SCRAM logs in (``credentials.check_password`` rejects anything not ``scrypt$...``)."""

MIGRATION_KEY = "security"
"""The name this store's migrations are recorded under (not ``governance``: the governance
store keeps its own numbering)."""

_MAX_ROW_ID = 2**63 - 1
"""The largest id a row can have (SQLite INTEGER, PostgreSQL BIGSERIAL)."""


@dataclasses.dataclass(frozen=True, slots=True)
class UserRow:
    name: str
    password_hash: str
    created_at_ms: int


@dataclasses.dataclass(frozen=True, slots=True)
class Binding:
    id: int
    principal: str
    role: Role
    resource: ResourcePattern

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "principal": self.principal,
            "role": self.role.value,
            "resource": str(self.resource),
        }


def _models(bound: peewee.Database) -> dict[str, type[peewee.Model]]:
    class _Base(peewee.Model):
        class Meta:
            database = bound

    class User(_Base):
        name = peewee.CharField(max_length=128, primary_key=True)
        password_hash = peewee.CharField(max_length=200)
        created_at_ms = peewee.BigIntegerField()

        class Meta:
            table_name = "security_users"

    class Scram(_Base):
        user = peewee.CharField(max_length=128)
        mechanism = peewee.CharField(max_length=20)
        salt = peewee.BlobField()
        iterations = peewee.IntegerField()
        stored_key = peewee.BlobField()
        server_key = peewee.BlobField()

        class Meta:
            table_name = "security_scram"
            primary_key = peewee.CompositeKey("user", "mechanism")

    class ApiKey(_Base):
        key_id = peewee.CharField(max_length=32, primary_key=True)
        user = peewee.CharField(max_length=128, index=True)
        digest = peewee.CharField(max_length=64)
        description = peewee.CharField(max_length=200, default="")
        created_at_ms = peewee.BigIntegerField()

        class Meta:
            table_name = "security_api_keys"

    class RoleBinding(_Base):
        id = peewee.AutoField()
        principal = peewee.CharField(max_length=140, index=True)
        role = peewee.CharField(max_length=40)
        resource_type = peewee.CharField(max_length=20)
        resource_name = peewee.CharField(max_length=255)
        prefix = peewee.BooleanField(default=False)
        created_by = peewee.CharField(max_length=140)
        created_at_ms = peewee.BigIntegerField()

        class Meta:
            table_name = "security_role_bindings"
            indexes = ((("principal", "role", "resource_type", "resource_name", "prefix"), True),)

    class AclRow(_Base):
        id = peewee.AutoField()
        principal = peewee.CharField(max_length=140, index=True)
        host = peewee.CharField(max_length=64)
        resource_type = peewee.CharField(max_length=20)
        resource_name = peewee.CharField(max_length=255)
        pattern_type = peewee.SmallIntegerField()
        operation = peewee.SmallIntegerField()
        permission = peewee.SmallIntegerField()
        created_by = peewee.CharField(max_length=140)
        created_at_ms = peewee.BigIntegerField()

        class Meta:
            table_name = "security_acls"
            indexes = (
                (
                    (
                        "principal",
                        "host",
                        "resource_type",
                        "resource_name",
                        "pattern_type",
                        "operation",
                        "permission",
                    ),
                    True,
                ),
            )

    class Generation(_Base):
        id = peewee.IntegerField(primary_key=True)
        generation = peewee.BigIntegerField()

        class Meta:
            table_name = "security_generation"

    return {
        "user": User,
        "scram": Scram,
        "api_key": ApiKey,
        "binding": RoleBinding,
        "acl": AclRow,
        "generation": Generation,
    }


def _create_tables(database: peewee.Database) -> None:
    models = _models(database)
    database.create_tables([model for key, model in models.items() if key != "acl"])
    models["generation"].create(id=1, generation=0)


def _create_acl_table(database: peewee.Database) -> None:
    _models(database)["acl"].create_table()


MIGRATIONS: list[Callable[[peewee.Database], None]] = [_create_tables, _create_acl_table]


def _now_ms() -> int:
    return int(time.time() * 1000)


class SecurityStore:
    """Queries over security's tables (one instance per database, thread-safe)."""

    def __init__(self, database: peewee.Database) -> None:
        self.database = database
        models = _models(database)
        self._user = models["user"]
        self._scram = models["scram"]
        self._api_key = models["api_key"]
        self._binding = models["binding"]
        self._acl = models["acl"]
        self._generation = models["generation"]

    # -- change tracking --------------------------------------------------------------------

    def generation(self) -> int:
        row = self._generation.get_or_none(self._generation.id == 1)
        return 0 if row is None else int(row.generation)

    def _bump(self) -> None:
        self._generation.update(generation=self._generation.generation + 1).where(
            self._generation.id == 1
        ).execute()

    def _insert_new(
        self, model: Any, rows: list[dict[str, Any]], convert: Callable[[Any], _Row]
    ) -> list[_Row]:
        """Insert ``rows`` that do not exist yet, in one transaction; those inserted. Write
        first (INSERT ... ON CONFLICT DO NOTHING RETURNING): a SQLite transaction that reads
        before it writes cannot wait for another writer, it fails as "locked"."""
        with self.database.atomic():
            query = model.insert_many(rows).on_conflict_ignore().returning(model).objects()
            created = [convert(row) for row in query.execute()]
            if created:
                self._bump()
        return created

    def _delete_ids(self, model: Any, ids: list[int], convert: Callable[[Any], _Row]) -> list[_Row]:
        """Delete the rows of ``ids`` that still exist, in one transaction (write first, as
        ``_insert_new``); those deleted."""
        with self.database.atomic():
            query = model.delete().where(model.id.in_(ids)).returning(model).objects()
            deleted = [convert(row) for row in query.execute()]
            if deleted:
                self._bump()
        return deleted

    # -- users --------------------------------------------------------------------------------

    def create_user(
        self, name: str, password_hash: str, scram: Iterable[ScramCredential]
    ) -> UserRow:
        """Raises ``peewee.IntegrityError`` when ``name`` exists."""
        with self.database.atomic():
            row = self._user.create(name=name, password_hash=password_hash, created_at_ms=_now_ms())
            for credential in scram:
                self._scram.create(
                    user=name,
                    mechanism=credential.mechanism,
                    salt=credential.salt,
                    iterations=credential.iterations,
                    stored_key=credential.stored_key,
                    server_key=credential.server_key,
                )
            self._bump()
        return UserRow(row.name, row.password_hash, row.created_at_ms)

    def user(self, name: str) -> UserRow | None:
        row = self._user.get_or_none(self._user.name == name)
        return None if row is None else UserRow(row.name, row.password_hash, row.created_at_ms)

    def users(self) -> list[UserRow]:
        return [
            UserRow(row.name, row.password_hash, row.created_at_ms)
            for row in self._user.select().order_by(self._user.name)
        ]

    def user_count(self) -> int:
        return self._user.select().count()

    def delete_user(self, name: str) -> bool:
        """Delete the user, its credentials, API keys and role bindings."""
        with self.database.atomic():
            deleted = self._user.delete().where(self._user.name == name).execute()
            if not deleted:
                return False
            self._scram.delete().where(self._scram.user == name).execute()
            self._api_key.delete().where(self._api_key.user == name).execute()
            self._binding.delete().where(self._binding.principal == f"User:{name}").execute()
            self._acl.delete().where(self._acl.principal == f"User:{name}").execute()
            self._bump()
        return True

    def scram_credential(self, name: str, mechanism: str) -> ScramCredential | None:
        row = self._scram.get_or_none(
            (self._scram.user == name) & (self._scram.mechanism == mechanism)
        )
        if row is None:
            return None
        return ScramCredential(
            mechanism, bytes(row.salt), row.iterations, bytes(row.stored_key), bytes(row.server_key)
        )

    def scram_mechanisms(
        self, names: Iterable[str] | None = None
    ) -> dict[str, list[tuple[str, int]]]:
        """``{user: [(mechanism, iterations)]}`` of the users with SCRAM credentials."""
        query = self._scram.select().order_by(self._scram.user, self._scram.mechanism)
        if names is not None:
            query = query.where(self._scram.user.in_(list(names)))
        found: dict[str, list[tuple[str, int]]] = {}
        for row in query:
            found.setdefault(row.user, []).append((row.mechanism, int(row.iterations)))
        return found

    def alter_scram(
        self, name: str, deletions: Iterable[str], upsertions: Iterable[ScramCredential]
    ) -> bool:
        """Delete and upsert one user's SCRAM credentials in one transaction; a user that does
        not exist is created with no password (SCRAM only). False, and nothing changed, when a
        deletion names a credential that does not exist."""
        with self.database.atomic() as transaction:
            for mechanism in deletions:
                deleted = (
                    self._scram.delete()
                    .where((self._scram.user == name) & (self._scram.mechanism == mechanism))
                    .execute()
                )
                if not deleted:
                    transaction.rollback()
                    return False
            upserts = list(upsertions)
            if upserts and self._user.get_or_none(self._user.name == name) is None:
                self._user.create(name=name, password_hash=NO_PASSWORD, created_at_ms=_now_ms())
            for credential in upserts:
                self._scram.delete().where(
                    (self._scram.user == name) & (self._scram.mechanism == credential.mechanism)
                ).execute()
                self._scram.create(
                    user=name,
                    mechanism=credential.mechanism,
                    salt=credential.salt,
                    iterations=credential.iterations,
                    stored_key=credential.stored_key,
                    server_key=credential.server_key,
                )
            self._bump()
        return True

    # -- API keys -----------------------------------------------------------------------------

    def create_api_key(self, key_id: str, user: str, digest: str, description: str) -> None:
        with self.database.atomic():
            self._api_key.create(
                key_id=key_id,
                user=user,
                digest=digest,
                description=description,
                created_at_ms=_now_ms(),
            )
            self._bump()

    def api_key(self, key_id: str) -> tuple[str, str] | None:
        """``(owner, digest)`` of an API key."""
        row = self._api_key.get_or_none(self._api_key.key_id == key_id)
        return None if row is None else (row.user, row.digest)

    def api_keys(self, user: str | None = None) -> list[dict[str, Any]]:
        query = self._api_key.select().order_by(self._api_key.created_at_ms)
        if user is not None:
            query = query.where(self._api_key.user == user)
        return [
            {
                "key": row.key_id,
                "user": row.user,
                "description": row.description,
                "createdAtMs": row.created_at_ms,
            }
            for row in query
        ]

    def delete_api_key(self, key_id: str) -> bool:
        with self.database.atomic():
            deleted = self._api_key.delete().where(self._api_key.key_id == key_id).execute()
            if deleted:
                self._bump()
        return bool(deleted)

    # -- role bindings ------------------------------------------------------------------------

    def create_binding(
        self, principal: str, role: Role, resource: ResourcePattern, created_by: str
    ) -> Binding:
        """Raises ``peewee.IntegrityError`` when the same binding exists."""
        with self.database.atomic():
            binding = self._insert_binding(principal, role, resource, created_by)
            self._bump()
        return binding

    def _insert_binding(
        self, principal: str, role: Role, resource: ResourcePattern, created_by: str
    ) -> Binding:
        row = self._binding.create(
            principal=principal,
            role=role.value,
            resource_type=resource.kind.value,
            resource_name=resource.name,
            prefix=resource.prefix,
            created_by=created_by,
            created_at_ms=_now_ms(),
        )
        return Binding(row.id, principal, role, resource)

    def create_bindings(
        self, wanted: Iterable[tuple[str, Role, ResourcePattern]], created_by: str
    ) -> list[Binding]:
        """Create the bindings that do not exist yet, in one transaction; those created."""
        model = self._binding
        now = _now_ms()
        rows = [
            {
                "principal": principal,
                "role": role.value,
                "resource_type": resource.kind.value,
                "resource_name": resource.name,
                "prefix": resource.prefix,
                "created_by": created_by,
                "created_at_ms": now,
            }
            for principal, role, resource in dict.fromkeys(wanted)
        ]
        if not rows:
            return []
        return self._insert_new(model, rows, self._to_binding)

    def delete_bindings(self, binding_ids: Iterable[int]) -> list[Binding]:
        """Delete the bindings that still exist, in one transaction; those deleted."""
        ids = list(binding_ids)
        if not ids:
            return []
        return self._delete_ids(self._binding, ids, self._to_binding)

    def find_binding(self, principal: str, role: Role, resource: ResourcePattern) -> Binding | None:
        model = self._binding
        row = model.get_or_none(
            (model.principal == principal)
            & (model.role == role.value)
            & (model.resource_type == resource.kind.value)
            & (model.resource_name == resource.name)
            & (model.prefix == resource.prefix)
        )
        return None if row is None else self._to_binding(row)

    def bindings(self, principal: str | None = None) -> list[Binding]:
        query = self._binding.select().order_by(self._binding.id)
        if principal is not None:
            query = query.where(self._binding.principal == principal)
        return [self._to_binding(row) for row in query]

    def delete_binding(self, binding_id: int) -> Binding | None:
        if not 0 < binding_id <= _MAX_ROW_ID:  # no such row (and no 64-bit overflow)
            return None
        with self.database.atomic():
            row = self._binding.get_or_none(self._binding.id == binding_id)
            if row is None:
                return None
            row.delete_instance()
            self._bump()
        return self._to_binding(row)

    @staticmethod
    def _to_binding(row: Any) -> Binding:
        pattern = ResourcePattern(ResourceType(row.resource_type), row.resource_name, row.prefix)
        return Binding(row.id, row.principal, Role(row.role), pattern)

    # -- ACL entries --------------------------------------------------------------------------

    def acl_entries(self, principal: str | None = None) -> list[AclEntry]:
        query = self._acl.select().order_by(self._acl.id)
        if principal is not None:
            query = query.where(self._acl.principal == principal)
        return [self._to_entry(row) for row in query]

    def create_acl_entries(self, wanted: Iterable[AclEntry], created_by: str) -> list[AclEntry]:
        """Create the entries that do not exist yet (ids are ignored), in one transaction;
        those created."""
        model = self._acl
        now = _now_ms()
        unique = {entry.key: entry for entry in wanted}
        rows = [
            {
                "principal": entry.principal,
                "host": entry.host,
                "resource_type": entry.kind.value,
                "resource_name": entry.name,
                "pattern_type": int(entry.pattern_type),
                "operation": int(entry.operation),
                "permission": int(entry.permission),
                "created_by": created_by,
                "created_at_ms": now,
            }
            for entry in unique.values()
        ]
        if not rows:
            return []
        return self._insert_new(model, rows, self._to_entry)

    def delete_acl_entries(self, entry_ids: Iterable[int]) -> list[AclEntry]:
        """Delete the entries that still exist, in one transaction; those deleted."""
        ids = list(entry_ids)
        if not ids:
            return []
        return self._delete_ids(self._acl, ids, self._to_entry)

    @staticmethod
    def _to_entry(row: Any) -> AclEntry:
        return AclEntry(
            row.id,
            row.principal,
            row.host,
            ResourceType(row.resource_type),
            row.resource_name,
            PatternType(row.pattern_type),
            AclOperation(row.operation),
            AclPermission(row.permission),
        )
