"""Kafka ACL entries in the authorizer: Kafka's implication rules, DENY over every grant (role
bindings included), ``User:*``, hosts, literal/prefixed/wildcard names, topic creation by
CREATE on the cluster, and "on some resource" (authorizeByResourceType)."""

from __future__ import annotations

import dataclasses
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.security.acl_entries import (
    AclEntry,
    AclOperation,
    AclPermission,
    PatternType,
    client_address,
    normalize_host,
)
from governance.security.acls import Acl, acl_to_entry, entry_to_acl, place_acl
from governance.security.authorizer import EVERYTHING, RoleBindingAuthorizer
from governance.security.errors import InvalidSecurityRequest
from governance.security.model import (
    CLUSTER_NAME,
    Action,
    ResourcePattern,
    ResourceType,
    Role,
    role_allows,
)
from governance.security.store import Binding

T, C, G = ResourceType.TOPIC, ResourceType.CLUSTER, ResourceType.GROUP
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
ALLOW, DENY = AclPermission.ALLOW, AclPermission.DENY
_ids = itertools.count(1)


@dataclasses.dataclass
class _Store:
    """The two queries and the generation the authorizer reads."""

    binding_list: list[Binding] = dataclasses.field(default_factory=list)
    entry_list: list[AclEntry] = dataclasses.field(default_factory=list)
    version: int = 0

    def bindings(self) -> list[Binding]:
        return list(self.binding_list)

    def acl_entries(self) -> list[AclEntry]:
        return list(self.entry_list)

    def generation(self) -> int:
        return self.version


def _entry(op, permission=ALLOW, kind=T, name="orders", pattern=LIT, **kw) -> AclEntry:
    return AclEntry(
        next(_ids),
        kw.get("principal", "User:alice"),
        kw.get("host", "*"),
        kind,
        name,
        pattern,
        AclOperation(op),
        permission,
    )


def _authorizer(*entries: AclEntry, bindings: tuple[Binding, ...] = ()) -> RoleBindingAuthorizer:
    authorizer = RoleBindingAuthorizer(_Store(list(bindings), list(entries)))  # type: ignore[arg-type]
    authorizer._thread = object()  # type: ignore[assignment]  # no reload thread in unit tests
    return authorizer


KAFKA_ACTIONS = [
    Action.READ,
    Action.WRITE,
    Action.CREATE,
    Action.DELETE,
    Action.ALTER,
    Action.DESCRIBE,
    Action.CLUSTER_ACTION,
    Action.DESCRIBE_CONFIGS,
    Action.ALTER_CONFIGS,
    Action.IDEMPOTENT_WRITE,
]
# Kafka's AclAuthorizer/StandardAuthorizer: what an ALLOW of each operation also allows
IMPLIED = {
    AclOperation.READ: {Action.DESCRIBE},
    AclOperation.WRITE: {Action.DESCRIBE},
    AclOperation.DELETE: {Action.DESCRIBE},
    AclOperation.ALTER: {Action.DESCRIBE},
    AclOperation.ALTER_CONFIGS: {Action.DESCRIBE_CONFIGS},
}
OPERATIONS = [op for op in AclOperation if 3 <= op <= 12]


@pytest.mark.parametrize("op", OPERATIONS)
def test_an_allow_grants_its_operation_and_what_kafka_implies_only(op) -> None:
    authorizer = _authorizer(_entry(op))
    own = Action(op.name.lower())
    allowed = {a for a in KAFKA_ACTIONS if authorizer.allows("User:alice", a, T, "orders")}
    assert allowed == {own} | IMPLIED.get(op, set())
    # a DENY of the operation denies just it (not what an ALLOW of it would imply)
    denied = _authorizer(_entry(op, DENY), _entry(AclOperation.ALL))
    refused = {a for a in KAFKA_ACTIONS if not denied.allows("User:alice", a, T, "orders")}
    assert refused == {own}


def test_all_grants_and_denies_every_action_on_its_resource_type_only() -> None:
    authorizer = _authorizer(_entry(AclOperation.ALL))
    assert all(authorizer.allows("User:alice", a, T, "orders") for a in Action)
    assert not authorizer.allows("User:alice", Action.READ, G, "orders")
    assert not authorizer.allows("User:alice", Action.READ, T, "orders-1")
    owner = Binding(1, "User:alice", Role.RESOURCE_OWNER, ResourcePattern(T, "orders"))
    denied = _authorizer(_entry(AclOperation.ALL, DENY), bindings=(owner,))
    assert not any(denied.allows("User:alice", a, T, "orders") for a in Action)


@settings(max_examples=200, deadline=None)
@given(
    role=st.sampled_from(list(Role)),
    action=st.sampled_from(KAFKA_ACTIONS),
    deny_op=st.sampled_from([AclOperation.ALL, *OPERATIONS]),
    principal=st.sampled_from(["User:alice", "User:*"]),
    pattern=st.sampled_from([("orders-1", LIT), ("*", LIT), ("ord", PRE), ("orders-1", PRE)]),
)
def test_a_deny_beats_every_grant_role_bindings_included(
    role, action, deny_op, principal, pattern
) -> None:
    binding = Binding(1, "User:alice", role, ResourcePattern(C, CLUSTER_NAME))
    allow = _entry(AclOperation.ALL, name="*")
    deny = _entry(deny_op, DENY, name=pattern[0], pattern=pattern[1], principal=principal)
    authorizer = _authorizer(allow, deny, bindings=(binding,))
    answer = authorizer.allows("User:alice", action, T, "orders-1")
    if not deny.denies(action):
        assert answer  # the ALLOW ALL on every topic
    elif action is Action.CREATE:
        # topic creation's second way in: CREATE on the cluster (here: the role binding's)
        assert answer is role_allows(role, C, Action.CREATE)
    else:
        assert not answer


def test_names_literal_prefixed_wildcard_and_principal_wildcard() -> None:
    authorizer = _authorizer(
        _entry(AclOperation.READ, name="orders-", pattern=PRE),
        _entry(AclOperation.WRITE, name="*", principal="User:*"),
        _entry(AclOperation.DELETE, name="orders*"),  # a literal name ending in *
    )
    allows = authorizer.allows
    assert allows("User:alice", Action.READ, T, "orders-1")
    assert not allows("User:alice", Action.READ, T, "order")
    assert allows("User:bob", Action.WRITE, T, "anything")  # User:* and the * name
    assert allows("User:ANONYMOUS", Action.WRITE, T, "x")
    assert not allows("User:bob", Action.READ, T, "orders-1")
    assert allows("User:alice", Action.DELETE, T, "orders*")
    assert not allows("User:alice", Action.DELETE, T, "orders-1")


def test_hosts_match_the_clients_address_only() -> None:
    authorizer = _authorizer(
        _entry(AclOperation.READ, host="10.0.0.1"),
        _entry(AclOperation.READ, DENY, name="*", host="10.0.0.9"),
        bindings=(Binding(1, "User:alice", Role.DEVELOPER_READ, ResourcePattern(T, "b")),),
    )
    assert authorizer.allows("User:alice", Action.READ, T, "orders", host="10.0.0.1")
    assert not authorizer.allows("User:alice", Action.READ, T, "orders", host="10.0.0.2")
    assert not authorizer.allows("User:alice", Action.READ, T, "orders")  # unknown host
    assert authorizer.allows("User:alice", Action.READ, T, "b", host="10.0.0.1")
    assert not authorizer.allows("User:alice", Action.READ, T, "b", host="10.0.0.9")
    assert normalize_host("::ffff:10.0.0.1") == "10.0.0.1"
    assert client_address("0:0::1") == "::1" and client_address("host") is None


def test_topic_creation_by_create_on_the_cluster_or_on_the_topic() -> None:
    on_cluster = _authorizer(_entry(AclOperation.CREATE, kind=C, name="kafka-cluster"))
    assert on_cluster.allows("User:alice", Action.CREATE, T, "any-topic")
    assert on_cluster.allows("User:alice", Action.CREATE, C, CLUSTER_NAME)
    assert not on_cluster.allows("User:alice", Action.CREATE, G, "g")
    # as Kafka: a DENY on the cluster fails the cluster check only, a topic ALLOW still creates
    mixed = _authorizer(
        _entry(AclOperation.CREATE, DENY, kind=C, name="kafka-cluster"),
        _entry(AclOperation.CREATE, name="mine-", pattern=PRE),
    )
    assert mixed.allows("User:alice", Action.CREATE, T, "mine-1")
    assert not mixed.allows("User:alice", Action.CREATE, T, "other")


def test_some_resource_as_kafkas_authorize_by_resource_type() -> None:
    def some(*entries: AclEntry, bindings=()) -> bool:
        return _authorizer(*entries, bindings=bindings).allows_some("User:alice", Action.WRITE, T)

    write = AclOperation.WRITE
    assert some(_entry(write))
    assert not some(_entry(write), _entry(write, DENY))
    assert not some(_entry(write), _entry(write, DENY, name="*", principal="User:*"))
    assert not some(
        _entry(write, name="ab", pattern=PRE), _entry(write, DENY, name="a", pattern=PRE)
    )
    assert some(_entry(write, name="a", pattern=PRE), _entry(write, DENY, name="ab", pattern=PRE))
    assert some(_entry(write, name="a", pattern=PRE), _entry(write, DENY, name="a"))
    developer = Binding(1, "User:alice", Role.DEVELOPER_WRITE, ResourcePattern(T, "orders-", True))
    assert some(bindings=(developer,))
    assert not some(
        _entry(AclOperation.ALL, DENY, name="orders", pattern=PRE), bindings=(developer,)
    )


def test_a_change_is_seen_when_the_generation_moves() -> None:
    store = _Store()
    authorizer = RoleBindingAuthorizer(store)  # type: ignore[arg-type]
    authorizer._thread = object()  # type: ignore[assignment]
    assert not authorizer.allows("User:alice", Action.READ, T, "orders")
    store.entry_list.append(_entry(AclOperation.READ))
    authorizer.refresh()
    assert not authorizer.allows("User:alice", Action.READ, T, "orders")  # same generation
    store.version += 1
    authorizer.refresh()
    assert authorizer.allows("User:alice", Action.READ, T, "orders")
    store.entry_list.append(_entry(AclOperation.READ, DENY, host="10.0.0.1"))
    store.version += 1
    authorizer.refresh()
    assert authorizer.allows("User:alice", Action.READ, T, "orders", host="10.0.0.2")
    assert not authorizer.allows("User:alice", Action.READ, T, "orders", host="10.0.0.1")


@pytest.mark.parametrize(
    ("acl", "kept"),
    [
        (Acl(2, "t", 3, "User:a", "*", 3, 3), "binding"),
        (Acl(2, "t", 3, "User:a", "*", 3, 2), "entry"),  # DENY
        (Acl(2, "t", 3, "User:*", "*", 3, 3), "entry"),  # User:*
        (Acl(2, "t", 3, "User:a", "10.0.0.1", 3, 3), "entry"),  # a host
        (Acl(2, "t", 3, "User:a", "*", 10, 3), "entry"),  # DESCRIBE_CONFIGS
        (Acl(4, "kafka-cluster", 3, "User:a", "*", 12, 3), "entry"),  # IDEMPOTENT_WRITE
        (Acl(4, "kafka-cluster", 3, "User:a", "*", 2, 3), "binding"),  # ALL: SystemAdmin
        (Acl(2, "t*", 3, "User:a", "*", 3, 3), "entry"),  # a literal ending in *
    ],
)
def test_where_an_acl_is_kept(acl, kept) -> None:
    placed = place_acl(acl)
    assert ("entry" if isinstance(placed, AclEntry) else "binding") == kept
    if isinstance(placed, AclEntry):
        assert entry_to_acl(placed) == acl


@settings(max_examples=300, deadline=None)
@given(
    kind=st.integers(-1, 8),
    name=st.text(max_size=12),
    pattern=st.integers(0, 5),
    principal=st.sampled_from(["User:a", "User:*", "User:", "Group:x", "*"]),
    host=st.sampled_from(["*", "", "10.0.0.1", "::1", "example.com"]),
    op=st.integers(-1, 15),
    permission=st.integers(-1, 4),
)
def test_any_acl_reads_back_as_it_was_given_or_is_refused(
    kind, name, pattern, principal, host, op, permission
) -> None:
    acl = Acl(kind, name, pattern, principal, host, op, permission)
    try:
        entry = acl_to_entry(acl)
    except InvalidSecurityRequest:
        return
    assert entry_to_acl(entry) == acl


def test_read_patterns_are_only_an_upper_bound_once_acl_entries_apply() -> None:
    """A DENY takes names away and an operation-level ALLOW adds some, so the catalog must ask
    ``allows`` per name: the patterns say "everything, not exact" for such principals."""
    reader = Binding(1, "User:alice", Role.DEVELOPER_READ, ResourcePattern(T, "orders", True))
    denied = _entry(AclOperation.READ, DENY, name="orders-secret")
    authorizer = _authorizer(denied, bindings=(reader,))
    topics = authorizer.read_patterns("User:alice")[T]
    assert topics.everything and not topics.exact
    assert not authorizer.allows("User:alice", Action.READ, T, "orders-secret")
    assert authorizer.allows("User:alice", Action.READ, T, "orders-public")
    assert authorizer.read_patterns("User:bob")[T].exact  # no entry applies to bob
    everyone = _entry(AclOperation.READ, name="news", principal="User:*")
    assert not _authorizer(everyone).read_patterns("User:bob")[T].exact


def test_super_users_may_do_everything_a_deny_all_included() -> None:
    deny_everyone = _entry(AclOperation.ALL, DENY, name="*", principal="User:*")
    authorizer = RoleBindingAuthorizer(
        _Store([], [deny_everyone]),  # type: ignore[arg-type]
        super_users=frozenset({"User:root"}),
    )
    authorizer._thread = object()  # type: ignore[assignment]
    for action in KAFKA_ACTIONS:
        assert authorizer.allows("User:root", action, T, "orders-1")
        assert authorizer.allows_some("User:root", action, T)
        assert not authorizer.allows("User:alice", action, T, "orders-1")
    assert authorizer.read_patterns("User:root")[T] == EVERYTHING
    assert not authorizer.read_patterns("User:alice")[T].exact


@pytest.mark.parametrize(
    ("value", "problem"),
    [("User:a;User:b", None), (" User:a ; ", None), ("", None), ("alice", "User:NAME"),
     ("Group:ops", "User:NAME"), ("User:", "User:NAME")],
)  # fmt: skip
def test_super_users_setting_names_user_principals(value: str, problem: str | None) -> None:
    from charter.config import ConfigError, load_settings

    if problem is None:
        load_settings(environ={"CHARTER_SUPER_USERS": value})
    else:
        with pytest.raises(ConfigError, match=problem):
            load_settings(environ={"CHARTER_SUPER_USERS": value})
