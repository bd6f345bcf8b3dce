"""The Kafka door's security administration: ACLs (role bindings and ACL entries), SCRAM (KIP-554).

The broker's handlers call these after authorizing the request (Cluster
describe/alter); every change goes through ``SecurityService`` so it is audited
(``rolebinding.create|delete`` or ``acl.create|delete`` with ``via Kafka
CreateAcls|DeleteAcls``, ``scram.upsert|delete``) and the authorizer reloads at once. Errors are
``SecurityError``s; the broker maps them to Kafka codes in one table.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence

from governance.security.acl_entries import AclEntry
from governance.security.acls import Acl, AclFilter, binding_to_acls, entry_to_acl, place_acl
from governance.security.credentials import (
    SCRAM_ALGORITHMS,
    SCRAM_ITERATIONS,
    ScramCredential,
    scram_from_salted_password,
)
from governance.security.errors import (
    CredentialNotFound,
    DuplicateAlteration,
    SecurityError,
    UnacceptableCredential,
    UnsupportedMechanism,
)
from governance.security.model import check_user_name
from governance.security.service import SecurityService

__all__ = [
    "MAX_SCRAM_ITERATIONS",
    "SCRAM_MECHANISM_CODES",
    "KafkaSecurityAdmin",
    "ScramDeletion",
    "ScramDescription",
    "ScramUpsertion",
]

SCRAM_MECHANISM_CODES = {1: "SCRAM-SHA-256", 2: "SCRAM-SHA-512"}
"""Kafka's ``ScramMechanism`` codes (0 is UNKNOWN)."""
_CODES = {name: code for code, name in SCRAM_MECHANISM_CODES.items()}
MAX_SCRAM_ITERATIONS = 16384  # Kafka's bound


@dataclasses.dataclass(frozen=True, slots=True)
class ScramDeletion:
    user: str
    mechanism: int


@dataclasses.dataclass(frozen=True, slots=True)
class ScramUpsertion:
    user: str
    mechanism: int
    iterations: int
    salt: bytes
    salted_password: bytes


@dataclasses.dataclass(frozen=True, slots=True)
class ScramDescription:
    """One user's answer: its ``(mechanism code, iterations)`` or the error."""

    user: str
    credentials: tuple[tuple[int, int], ...] = ()
    error: SecurityError | None = None


class KafkaSecurityAdmin:
    def __init__(self, service: SecurityService) -> None:
        self.service = service

    # -- ACLs ---------------------------------------------------------------------------------

    def describe_acls(self, acl_filter: AclFilter) -> list[Acl]:
        """The ACLs (role bindings with an ACL form, then ACL entries) matching ``acl_filter``."""
        acl_filter.check()
        store = self.service.store
        found = [acl for binding in store.bindings() for acl in binding_to_acls(binding)]
        found += [entry_to_acl(entry) for entry in store.acl_entries()]
        return [acl for acl in found if acl_filter.matches(acl)]

    def create_acls(self, acls: Sequence[Acl], *, actor: str) -> list[SecurityError | None]:
        """Keep each ACL as the role binding that is exactly it or as an ACL entry, all in one
        transaction; per ACL None or why it was refused (``InvalidSecurityRequest``)."""
        outcomes: list[SecurityError | None] = []
        bindings = []
        entries: list[AclEntry] = []
        for acl in acls:
            try:
                placed = place_acl(acl)
            except SecurityError as exc:
                outcomes.append(exc)
                continue
            outcomes.append(None)
            if isinstance(placed, AclEntry):
                entries.append(placed)
            else:
                bindings.append(placed)
        if bindings or entries:
            self.service.change_acls(
                new_bindings=bindings, new_entries=entries, actor=actor, via="Kafka CreateAcls"
            )
            self._audit_written()
        return outcomes

    def delete_acls(
        self, filters: Sequence[AclFilter], *, actor: str
    ) -> list[list[Acl] | SecurityError]:
        """Delete the bindings and entries whose ACL matches each filter, in one transaction; per
        filter the ACLs it deleted (each once, under the first filter matching it) or why the
        filter is invalid."""
        store = self.service.store
        candidates: list[tuple[tuple[str, int], list[Acl]]] = [
            (("binding", binding.id), binding_to_acls(binding)) for binding in store.bindings()
        ]
        candidates += [
            (("entry", entry.id), [entry_to_acl(entry)]) for entry in store.acl_entries()
        ]
        doomed: dict[tuple[str, int], None] = {}
        outcomes: list[list[Acl] | SecurityError] = []
        for acl_filter in filters:
            try:
                acl_filter.check()
            except SecurityError as exc:
                outcomes.append(exc)
                continue
            matched = []
            for key, forms in candidates:
                if key in doomed:
                    continue
                acls = [acl for acl in forms if acl_filter.matches(acl)]
                if acls:
                    doomed[key] = None
                    matched.extend(acls)
            outcomes.append(matched)
        if doomed:
            self.service.change_acls(
                doomed_bindings=[key[1] for key in doomed if key[0] == "binding"],
                doomed_entries=[key[1] for key in doomed if key[0] == "entry"],
                actor=actor,
                via="Kafka DeleteAcls",
            )
            self._audit_written()
        return outcomes

    # -- SCRAM credentials (KIP-554) ----------------------------------------------------------

    def describe_scram(self, users: Sequence[str] | None) -> list[ScramDescription]:
        """Each named user's mechanisms and iterations (every user with credentials when
        ``users`` is empty or None); RESOURCE_NOT_FOUND / DUPLICATE_RESOURCE per user."""
        if not users:
            found = self.service.store.scram_mechanisms()
            return [_description(user, found[user]) for user in sorted(found)]
        counts: dict[str, int] = {}
        for user in users:
            counts[user] = counts.get(user, 0) + 1
        found = self.service.store.scram_mechanisms(counts)
        answers = []
        for user in counts:
            if counts[user] > 1:
                error: SecurityError = DuplicateAlteration(
                    "Cannot describe SCRAM credentials for the same user twice in a single request"
                )
                answers.append(ScramDescription(user, error=error))
            elif user not in found:
                error = CredentialNotFound(
                    "Attempt to describe a user credential that does not exist"
                )
                answers.append(ScramDescription(user, error=error))
            else:
                answers.append(_description(user, found[user]))
        return answers

    def alter_scram(
        self,
        deletions: Sequence[ScramDeletion],
        upsertions: Sequence[ScramUpsertion],
        *,
        actor: str,
    ) -> dict[str, SecurityError | None]:
        """Apply each user's alterations all or nothing; the outcome per user, in order."""
        users = list(dict.fromkeys([d.user for d in deletions] + [u.user for u in upsertions]))
        errors: dict[str, SecurityError] = {}
        seen: set[tuple[str, int]] = set()
        for alteration in [*deletions, *upsertions]:
            try:
                _check_alteration(alteration)
            except SecurityError as exc:
                errors.setdefault(alteration.user, exc)
            key = (alteration.user, alteration.mechanism)
            if key in seen:
                errors.setdefault(
                    alteration.user,
                    DuplicateAlteration(
                        "A user credential cannot be altered twice in the same request"
                    ),
                )
            seen.add(key)
        outcomes: dict[str, SecurityError | None] = {}
        for user in users:
            if user in errors:
                outcomes[user] = errors[user]
                continue
            removed = [SCRAM_MECHANISM_CODES[d.mechanism] for d in deletions if d.user == user]
            added = [_credential(u) for u in upsertions if u.user == user]
            if not self.service.store.alter_scram(user, removed, added):
                outcomes[user] = CredentialNotFound(
                    "Attempt to delete a user credential that does not exist"
                )
                continue
            for mechanism in removed:
                self.service.changed(actor, "scram.delete", f"User:{user}", mechanism)
            for credential in added:
                self.service.changed(
                    actor,
                    "scram.upsert",
                    f"User:{user}",
                    f"{credential.mechanism} iterations {credential.iterations}",
                )
            outcomes[user] = None
        self._audit_written()
        return outcomes

    def _audit_written(self) -> None:
        """Write the audit entries of a change before answering (these calls run off the event
        loop), so a broker stopped right after a permission change does not lose them."""
        flush = getattr(self.service.audit, "flush", None)
        if callable(flush):
            flush()


def _description(user: str, mechanisms: list[tuple[str, int]]) -> ScramDescription:
    return ScramDescription(
        user,
        tuple((_CODES[name], iterations) for name, iterations in mechanisms if name in _CODES),
    )


def _check_alteration(alteration: ScramDeletion | ScramUpsertion) -> None:
    if not alteration.user:
        raise UnacceptableCredential("Username must not be empty")
    if alteration.mechanism not in SCRAM_MECHANISM_CODES:
        raise UnsupportedMechanism(f"Unknown SCRAM mechanism {alteration.mechanism}")
    try:
        check_user_name(alteration.user)
    except SecurityError as exc:
        raise UnacceptableCredential(exc.message) from None
    if not isinstance(alteration, ScramUpsertion):
        return
    if alteration.iterations < SCRAM_ITERATIONS:
        raise UnacceptableCredential(
            f"Too few iterations: {alteration.iterations} (at least {SCRAM_ITERATIONS})"
        )
    if alteration.iterations > MAX_SCRAM_ITERATIONS:
        raise UnacceptableCredential(
            f"Too many iterations: {alteration.iterations} (at most {MAX_SCRAM_ITERATIONS})"
        )
    if not alteration.salt:
        raise UnacceptableCredential("The salt must not be empty")
    algorithm = SCRAM_ALGORITHMS[SCRAM_MECHANISM_CODES[alteration.mechanism]]
    if len(alteration.salted_password) != hashlib.new(algorithm).digest_size:
        raise UnacceptableCredential(
            f"The salted password must be {hashlib.new(algorithm).digest_size} bytes"
        )


def _credential(upsertion: ScramUpsertion) -> ScramCredential:
    return scram_from_salted_password(
        SCRAM_MECHANISM_CODES[upsertion.mechanism],
        bytes(upsertion.salt),
        bytes(upsertion.salted_password),
        upsertion.iterations,
    )
