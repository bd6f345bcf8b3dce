"""Security decisions: managing users, API keys, role bindings and ACL entries; checking credentials.

Every change is audited (outcome ``success``) with the actor who made it, and
refreshes the authorizer at once. Credential checks are constant-time
(``credentials``), rate-limited per user and address (``ratelimit``), and each
failure is audited (outcome ``denied``) without the secret. HTTP credentials
that verified are remembered for ``cache_ttl_s`` (``remember``/``remembered``,
keyed by a MAC of the whole ``Authorization`` value under a per-process random
key: keyed BLAKE2b, so the secret is neither kept nor compared), so HTTP
requests do not pay scrypt, a parse or a database read each time. An entry
(``VerifiedCredentials``) also holds what its principal was allowed, so a
repeated request does not ask the authorizer again. An entry is forgotten at
once on this process's changes, and is void as soon as the authorizer's
snapshot generation moves: another process's change (password, user, API key,
role binding, ACL entry) takes effect here within the authorizer's
``refresh_interval_s``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import logging
import secrets
import threading
import time
from collections.abc import Hashable, Sequence
from typing import NoReturn

import peewee

from governance.security import credentials
from governance.security.acl_entries import AclEntry
from governance.security.audit import AuditSink
from governance.security.authorizer import RoleBindingAuthorizer
from governance.security.errors import (
    AuthenticationFailed,
    BindingNotFound,
    InvalidSecurityRequest,
    TooManyFailures,
    UserExists,
    UserNotFound,
)
from governance.security.model import (
    CLUSTER,
    ResourcePattern,
    Role,
    check_user_name,
    parse_principal,
    parse_resource,
    parse_role,
)
from governance.security.ratelimit import FailureLimiter
from governance.security.store import Binding, SecurityStore

__all__ = ["ADMIN_USER", "SecurityService", "VerifiedCredentials"]

log = logging.getLogger(__name__)

ADMIN_USER = "admin"
_MIN_PASSWORD = 8
_MAX_PASSWORD = 1024
_GRANTS_LIMIT = 256


@dataclasses.dataclass(slots=True, eq=False)
class VerifiedCredentials:
    """One remembered ``Authorization`` value that verified: its principal, valid at the
    authorizer's ``generation`` until ``expires_at`` (``time.monotonic``).

    ``grants`` holds what the principal was allowed meanwhile, in the caller's terms (the HTTP
    door's route need, resource name, client address), so a repeated request skips the
    authorizer. It lives and dies with the entry: the same generation means the same bindings
    and ACL entries, hence the same answers; a denial is never kept (it is asked, and
    audited, each time)."""

    principal: str
    user: str
    expires_at: float
    generation: int
    grants: set[Hashable] = dataclasses.field(default_factory=set)

    def grant(self, key: Hashable) -> None:
        """Remember that ``key`` was allowed (a bounded set: cleared when full)."""
        if len(self.grants) >= _GRANTS_LIMIT:
            self.grants.clear()
        self.grants.add(key)


class SecurityService:
    def __init__(
        self,
        store: SecurityStore,
        audit: AuditSink,
        *,
        authorizer: RoleBindingAuthorizer | None = None,
        limiter: FailureLimiter | None = None,
        cache_ttl_s: float = 60.0,
    ) -> None:
        self.store = store
        self.audit = audit
        self.authorizer = authorizer or RoleBindingAuthorizer(store, audit)
        self.limiter = limiter or FailureLimiter()
        self.cache_ttl_s = cache_ttl_s
        self._cache_key = secrets.token_bytes(32)
        # keyed once; each MAC starts from a copy (cheaper than keying anew: a full block)
        self._verified_mac = hashlib.blake2b(key=self._cache_key, person=b"charter-verified")
        self._verified: dict[bytes, VerifiedCredentials] = {}  # by the MAC of the header
        self._lock = threading.Lock()

    # -- users --------------------------------------------------------------------------------

    def create_user(self, name: str, password: str, *, actor: str) -> None:
        check_user_name(name)
        if not isinstance(password, str) or not _MIN_PASSWORD <= len(password) <= _MAX_PASSWORD:
            raise InvalidSecurityRequest(
                f"password must be {_MIN_PASSWORD} to {_MAX_PASSWORD} characters"
            )
        scram = [credentials.derive_scram(password, m) for m in credentials.SCRAM_ALGORITHMS]
        try:
            self.store.create_user(name, credentials.hash_password(password), scram)
        except peewee.IntegrityError:
            raise UserExists(f"user {name!r} already exists") from None
        self._changed(actor, "user.create", f"User:{name}")

    def users(self) -> list[dict[str, object]]:
        return [{"name": row.name, "createdAtMs": row.created_at_ms} for row in self.store.users()]

    def delete_user(self, name: str, *, actor: str) -> None:
        if not self.store.delete_user(name):
            raise UserNotFound(f"user {name!r} not found")
        self._changed(actor, "user.delete", f"User:{name}")

    def bootstrap_admin(self, password: str | None) -> str | None:
        """Create ``admin`` (SystemAdmin) when there are no users yet.

        Returns the generated password when none was given (to be shown once),
        else None; nothing happens when users exist already.
        """
        if self.store.user_count():
            return None
        generated = None if password else secrets.token_urlsafe(18)
        try:
            self.create_user(ADMIN_USER, password or generated or "", actor="charter")
        except UserExists:
            return None  # another process bootstrapped first
        self.create_binding(f"User:{ADMIN_USER}", "SystemAdmin", str(CLUSTER), actor="charter")
        return generated

    # -- API keys -----------------------------------------------------------------------------

    def create_api_key(self, user: str, description: str = "", *, actor: str) -> dict[str, str]:
        if self.store.user(user) is None:
            raise UserNotFound(f"user {user!r} not found")
        key = credentials.new_api_key()
        self.store.create_api_key(key.key_id, user, key.digest, str(description)[:200])
        self._changed(actor, "apikey.create", f"User:{user}", f"key {key.key_id}")
        return {"key": key.key_id, "secret": key.token, "user": user}

    def api_keys(self, user: str | None = None) -> list[dict[str, object]]:
        return self.store.api_keys(user)

    def delete_api_key(self, key_id: str, *, actor: str) -> None:
        if not self.store.delete_api_key(key_id):
            raise InvalidSecurityRequest(f"API key {key_id!r} not found")
        self._changed(actor, "apikey.delete", f"ApiKey:{key_id}")

    # -- role bindings ------------------------------------------------------------------------

    def create_binding(
        self, principal: str, role: str, resource: str | None, *, actor: str, via: str = ""
    ) -> Binding:
        """Create (or answer the existing) binding; ``via`` says through what, for the audit."""
        principal = parse_principal(principal)
        parsed_role = parse_role(role)
        if resource is None or resource == "":
            if parsed_role not in (Role.SYSTEM_ADMIN, Role.DATA_STEWARD):
                raise InvalidSecurityRequest(f"role {parsed_role} needs a resource")
            pattern = CLUSTER
        else:
            pattern = parse_resource(resource)
        try:
            binding = self.store.create_binding(principal, parsed_role, pattern, actor)
        except peewee.IntegrityError:
            existing = self.store.find_binding(principal, parsed_role, pattern)
            if existing is None:
                raise
            return existing  # idempotent, as Confluent's RBAC API is
        detail = f"{principal} {parsed_role}" + (f" (via {via})" if via else "")
        self._changed(actor, "rolebinding.create", str(pattern), detail)
        return binding

    def create_bindings(
        self, wanted: list[tuple[str, Role, ResourcePattern]], *, actor: str, via: str
    ) -> list[Binding]:
        """Create many parsed bindings in one transaction (existing ones are left); each new one
        is audited, and the authorizer reloads once."""
        try:
            created = self.store.create_bindings(wanted, actor)
        except peewee.IntegrityError:  # another process created one meanwhile: skip it now
            created = self.store.create_bindings(wanted, actor)
        for binding in created:
            self._record(
                actor,
                "rolebinding.create",
                str(binding.resource),
                f"{binding.principal} {binding.role} (via {via})",
            )
        self._apply()
        return created

    def delete_bindings(self, binding_ids: list[int], *, actor: str, via: str) -> list[Binding]:
        """Delete many bindings in one transaction (missing ones are skipped); each deletion is
        audited, and the authorizer reloads once."""
        deleted = self.store.delete_bindings(binding_ids)
        for binding in deleted:
            self._record(
                actor,
                "rolebinding.delete",
                str(binding.resource),
                f"{binding.principal} {binding.role} (via {via})",
            )
        self._apply()
        return deleted

    def bindings(self, principal: str | None = None) -> list[Binding]:
        return self.store.bindings(parse_principal(principal) if principal else None)

    def delete_binding(self, binding_id: int, *, actor: str, via: str = "") -> None:
        binding = self.store.delete_binding(binding_id)
        if binding is None:
            raise BindingNotFound(f"role binding {binding_id} not found")
        self._changed(
            actor,
            "rolebinding.delete",
            str(binding.resource),
            f"{binding.principal} {binding.role}" + (f" (via {via})" if via else ""),
        )

    # -- ACL entries (Kafka ACLs no role expresses) -------------------------------------------

    def change_acls(
        self,
        *,
        new_bindings: Sequence[tuple[str, Role, ResourcePattern]] = (),
        new_entries: Sequence[AclEntry] = (),
        doomed_bindings: Sequence[int] = (),
        doomed_entries: Sequence[int] = (),
        actor: str,
        via: str,
    ) -> None:
        """Create and delete role bindings and ACL entries in one transaction (existing ones
        are left, missing ones skipped); each change is audited, and the authorizer reloads
        once."""
        store = self.store
        for attempt in range(2):
            try:
                with store.database.atomic():
                    created = store.create_bindings(new_bindings, actor)
                    created_entries = store.create_acl_entries(new_entries, actor)
                    deleted = store.delete_bindings(doomed_bindings)
                    deleted_entries = store.delete_acl_entries(doomed_entries)
                break
            except peewee.IntegrityError:  # another process created one meanwhile: skip it now
                if attempt:
                    raise
        suffix = f" (via {via})"
        for action, bindings in (("create", created), ("delete", deleted)):
            for binding in bindings:
                self._record(
                    actor,
                    f"rolebinding.{action}",
                    str(binding.resource),
                    f"{binding.principal} {binding.role}{suffix}",
                )
        for action, entries in (("create", created_entries), ("delete", deleted_entries)):
            for entry in entries:
                self._record(
                    actor, f"acl.{action}", _entry_resource(entry), _entry_detail(entry) + suffix
                )
        self._apply()

    def acl_entries(self, principal: str | None = None) -> list[AclEntry]:
        if principal and principal != "User:*":
            principal = parse_principal(principal)
        return self.store.acl_entries(principal or None)

    def delete_acl_entry(self, entry_id: int, *, actor: str, via: str = "") -> None:
        deleted = self.store.delete_acl_entries([entry_id])
        if not deleted:
            raise BindingNotFound(f"ACL entry {entry_id} not found")
        entry = deleted[0]
        detail = _entry_detail(entry) + (f" (via {via})" if via else "")
        self._changed(actor, "acl.delete", _entry_resource(entry), detail)

    def changed(self, actor: str, action: str, resource: str, detail: str = "") -> None:
        """Audit a permission or credential change (outcome ``success``) and apply it at once."""
        self._changed(actor, action, resource, detail)

    def _changed(self, actor: str, action: str, resource: str, detail: str = "") -> None:
        self._record(actor, action, resource, detail)
        self._apply()

    def _record(self, actor: str, action: str, resource: str, detail: str) -> None:
        self.audit.record(actor, action, resource, "success", detail)

    def _apply(self) -> None:
        with self._lock:
            self._verified = {}
        self.authorizer.refresh()

    # -- authentication -----------------------------------------------------------------------

    def authenticate_password(self, name: str, password: str, address: str | None) -> str:
        """The principal ``User:name``; ``AuthenticationFailed``/``TooManyFailures`` otherwise."""
        self.refuse_if_blocked(name, address, "password")
        row = self.store.user(name)
        if not credentials.check_password(password, row.password_hash if row else None):
            self.failed(name, address, "password")
        principal = f"User:{name}"
        self.limiter.succeeded(name, address)
        return principal

    def _verified_id(self, credentials_text: str) -> bytes:
        """The cache key of an ``Authorization`` value: keyed BLAKE2b (a MAC, like HMAC, at a
        third of its cost) under the per-process key."""
        mac = self._verified_mac.copy()
        mac.update(credentials_text.encode())
        return mac.digest()

    def verified(self, credentials_text: str, address: str | None) -> VerifiedCredentials | None:
        """The entry of credentials that verified recently (an HTTP ``Authorization`` value)
        and are still valid (same authorizer generation, not expired), or None; the failure
        rate limit still applies (``TooManyFailures``)."""
        if not self._verified:
            return None
        entry = self._verified.get(self._verified_id(credentials_text))
        if (
            entry is None
            or entry.generation != self.authorizer.generation
            or entry.expires_at <= time.monotonic()
        ):
            return None
        if self.limiter.active():
            self.refuse_if_blocked(entry.user, address, "cached credentials")
        return entry

    def remembered(self, credentials_text: str, address: str | None) -> str | None:
        """The principal of credentials that verified recently, or None (see ``verified``)."""
        entry = self.verified(credentials_text, address)
        return None if entry is None else entry.principal

    def remember(
        self, credentials_text: str, principal: str, generation: int | None = None
    ) -> VerifiedCredentials:
        """Remember verified credentials; ``generation`` is the authorizer's generation read
        *before* they were checked (default: now), so a change that lands between the check and
        this call still voids the entry."""
        key = self._verified_id(credentials_text)
        entry = VerifiedCredentials(
            principal,
            principal.partition(":")[2],
            time.monotonic() + self.cache_ttl_s,
            self.authorizer.generation if generation is None else generation,
        )
        with self._lock:
            if len(self._verified) > 10_000:
                self._verified = {}
            self._verified[key] = entry
        return entry

    def authenticate_api_key(self, token: str, address: str | None) -> str:
        parsed = credentials.parse_api_key(token)
        self.refuse_if_blocked(None, address, "api key")
        found = self.store.api_key(parsed[0]) if parsed else None
        presented = credentials.api_key_digest(parsed[1] if parsed else token)
        if not hmac.compare_digest(presented, found[1] if found else "0" * 64) or not found:
            self.failed(None, address, "api key")
        return f"User:{found[0]}"

    def scram_credential(self, name: str, mechanism: str) -> credentials.ScramCredential | None:
        return self.store.scram_credential(name, mechanism)

    def decoy_salt(self, name: str) -> bytes:
        """A stable salt for a user that does not exist, so SCRAM does not reveal that."""
        return hmac.digest(self._cache_key, b"salt:" + name.encode(), hashlib.sha256)[:16]

    def authorizer_generation(self) -> int:
        return self.authorizer.generation

    def refuse_if_blocked(self, name: str | None, address: str | None, method: str) -> None:
        if self.limiter.blocked(name, address):
            self.audit.record(
                f"User:{name}" if name else "User:ANONYMOUS",
                "authenticate",
                f"Address:{address or 'unknown'}",
                "denied",
                f"{method}: too many failed attempts",
            )
            raise TooManyFailures("too many failed authentication attempts; try again later")

    def blocked(self, name: str | None, address: str | None) -> bool:
        return self.limiter.blocked(name, address)

    def failed(self, name: str | None, address: str | None, method: str) -> NoReturn:
        """Count, audit and raise one failed authentication."""
        self.record_failure(name, address, method, "invalid credentials")
        raise AuthenticationFailed("invalid credentials")

    def record_failure(
        self, name: str | None, address: str | None, method: str, reason: str
    ) -> None:
        """Count and audit one failed authentication; ``reason`` never holds a secret."""
        self.limiter.failed(name, address)
        self.audit.record(
            f"User:{name}" if name else "User:ANONYMOUS",
            "authenticate",
            f"Address:{address or 'unknown'}",
            "denied",
            f"{method}: {reason}",
        )


def _entry_resource(entry: AclEntry) -> str:
    prefixed = entry.pattern_type.name == "PREFIXED"
    return f"{entry.kind}:{entry.name}{'*' if prefixed else ''}"


def _entry_detail(entry: AclEntry) -> str:
    return (
        f"{entry.permission.name} {entry.operation.name} for {entry.principal} "
        f"from host {entry.host} ({entry.pattern_type.name})"
    )
