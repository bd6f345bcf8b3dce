"""Kafka ACLs as a view of role bindings: the mapping both ways, filters, and what is refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from governance.security.acls import (
    Acl,
    AclFilter,
    AclNotSupported,
    AclOperation,
    AclPermission,
    AclResourceType,
    PatternType,
    acl_to_binding,
    binding_to_acls,
)
from governance.security.errors import InvalidSecurityRequest
from governance.security.model import CLUSTER, ResourcePattern, ResourceType, Role
from governance.security.store import Binding

T, G, X = AclResourceType.TOPIC, AclResourceType.GROUP, AclResourceType.TRANSACTIONAL_ID
LIT, PRE = PatternType.LITERAL, PatternType.PREFIXED
ALLOW = AclPermission.ALLOW


def _acl(kind=T, name="orders-", pattern=PRE, op=AclOperation.READ, **kw) -> Acl:
    return Acl(
        kind,
        name,
        pattern,
        kw.get("principal", "User:alice"),
        kw.get("host", "*"),
        op,
        kw.get("permission", ALLOW),
    )


@pytest.mark.parametrize(
    ("acl", "role", "pattern"),
    [
        (_acl(), Role.DEVELOPER_READ, ResourcePattern(ResourceType.TOPIC, "orders-", True)),
        (
            _acl(name="orders", pattern=LIT, op=AclOperation.WRITE),
            Role.DEVELOPER_WRITE,
            ResourcePattern(ResourceType.TOPIC, "orders"),
        ),
        (
            _acl(kind=G, name="*", pattern=LIT, op=AclOperation.READ),
            Role.DEVELOPER_READ,
            ResourcePattern(ResourceType.GROUP, "", True),
        ),
        (
            _acl(kind=X, name="tx-", op=AclOperation.WRITE),
            Role.DEVELOPER_WRITE,
            ResourcePattern(ResourceType.TRANSACTIONAL_ID, "tx-", True),
        ),
        (
            _acl(kind=T, name="orders", pattern=LIT, op=AclOperation.ALL),
            Role.RESOURCE_OWNER,
            ResourcePattern(ResourceType.TOPIC, "orders"),
        ),
        (
            _acl(kind=AclResourceType.CLUSTER, name="kafka-cluster", pattern=LIT, op=2),
            Role.SYSTEM_ADMIN,
            CLUSTER,
        ),
    ],
)
def test_acls_map_to_the_binding_that_grants_exactly_them(acl, role, pattern) -> None:
    assert acl_to_binding(acl) == ("User:alice", role, pattern)
    assert binding_to_acls(Binding(1, "User:alice", role, pattern)) == [acl]


@pytest.mark.parametrize(
    ("acl", "message"),
    [
        (_acl(permission=AclPermission.DENY), "DENY"),
        (_acl(host="10.0.0.1"), "per-host"),
        (_acl(principal="Group:ops"), "User:NAME"),
        (_acl(op=AclOperation.CREATE), "CREATE on TOPIC has no role binding"),
        (_acl(op=AclOperation.IDEMPOTENT_WRITE), "no role binding"),
        (_acl(kind=AclResourceType.USER), "USER"),
        (_acl(kind=AclResourceType.DELEGATION_TOKEN), "DELEGATION_TOKEN"),
    ],
)
def test_acls_without_a_binding_form_are_refused_with_the_reason(acl, message) -> None:
    with pytest.raises(AclNotSupported, match=message):
        acl_to_binding(acl)


@pytest.mark.parametrize(
    "acl",
    [
        _acl(kind=0),
        _acl(kind=1),
        _acl(kind=99),
        _acl(name=""),
        _acl(name="x" * 300),
        _acl(pattern=PatternType.MATCH),
        _acl(pattern=PatternType.ANY),
        _acl(op=AclOperation.ANY),
        _acl(op=-5),
        _acl(permission=AclPermission.ANY),
        _acl(kind=AclResourceType.CLUSTER, name="other", pattern=LIT, op=2),
        _acl(name="a\x00b"),
    ],
)
def test_malformed_acls_are_invalid(acl) -> None:
    with pytest.raises(InvalidSecurityRequest):
        acl_to_binding(acl)


def test_bindings_without_an_acl_form_are_not_shown() -> None:
    subject = ResourcePattern(ResourceType.SUBJECT, "orders-", True)
    assert binding_to_acls(Binding(1, "User:a", Role.DEVELOPER_WRITE, subject)) == []
    assert binding_to_acls(Binding(2, "User:a", Role.DATA_STEWARD, CLUSTER)) == []


def _filter(**kw) -> AclFilter:
    values = {
        "resource_type": AclResourceType.ANY,
        "resource_name": None,
        "pattern_type": PatternType.ANY,
        "principal": None,
        "host": None,
        "operation": AclOperation.ANY,
        "permission": AclPermission.ANY,
    }
    values.update(kw)
    return AclFilter(**values)


def test_filters_as_kafka_defines_them() -> None:
    prefixed = _acl()  # Topic orders- PREFIXED READ
    literal = _acl(name="orders-1", pattern=LIT)
    wildcard = _acl(name="*", pattern=LIT)
    everything = [prefixed, literal, wildcard]

    def matching(acl_filter: AclFilter) -> list[Acl]:
        return [acl for acl in everything if acl_filter.matches(acl)]

    assert matching(_filter()) == everything
    assert matching(_filter(pattern_type=PatternType.MATCH, resource_name="orders-1")) == everything
    assert matching(_filter(pattern_type=PatternType.MATCH, resource_name="other")) == [wildcard]
    assert matching(_filter(pattern_type=LIT)) == [literal, wildcard]
    assert matching(_filter(pattern_type=PRE, resource_name="orders-")) == [prefixed]
    assert matching(_filter(resource_name="orders-1")) == [literal]
    assert matching(_filter(resource_type=G)) == []
    assert matching(_filter(operation=AclOperation.WRITE)) == []
    assert matching(_filter(permission=AclPermission.DENY)) == []
    assert matching(_filter(principal="User:bob")) == []
    assert matching(_filter(host="*", principal="User:alice")) == everything
    for bad in (
        _filter(resource_type=0),
        _filter(pattern_type=0),
        _filter(operation=0),
        _filter(permission=0),
        _filter(operation=77),
    ):
        with pytest.raises(InvalidSecurityRequest):
            bad.check()


@settings(max_examples=300, deadline=None)
@given(
    kind=st.integers(-2, 9),
    name=st.text(max_size=20),
    pattern=st.integers(-1, 5),
    principal=st.sampled_from(["User:alice", "User:", "alice", "User:a b", ""]),
    host=st.sampled_from(["*", "", "127.0.0.1"]),
    op=st.integers(-1, 15),
    permission=st.integers(-1, 4),
)
def test_any_acl_maps_and_reads_back_or_is_refused(
    kind, name, pattern, principal, host, op, permission
) -> None:
    acl = Acl(kind, name, pattern, principal, host, op, permission)
    try:
        principal_, role, resource = acl_to_binding(acl)
    except InvalidSecurityRequest:
        return
    assert binding_to_acls(Binding(7, principal_, role, resource)) == [acl]
