"""``read_patterns``: the authorizer's bindings as literal names and prefixes per resource type,
agreeing with ``allows`` name by name."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from governance.security.authorizer import AllowEverything, patterns_of
from governance.security.model import Action, ResourcePattern, ResourceType, Role, role_allows
from governance.security.service import SecurityService
from governance.security.store import Binding

KINDS = [ResourceType.TOPIC, ResourceType.SUBJECT, ResourceType.GROUP]
NAMES = st.text(alphabet="ab_%*'", max_size=4)


@st.composite
def bindings(draw: st.DrawFn) -> tuple[Binding, ...]:
    found = []
    for index in range(draw(st.integers(0, 5))):
        kind = draw(st.sampled_from([*KINDS, ResourceType.CLUSTER]))
        prefix = draw(st.booleans())
        name = draw(NAMES) if prefix else draw(NAMES.filter(bool))
        pattern = ResourcePattern(kind, "charter" if kind is ResourceType.CLUSTER else name, prefix)
        found.append(Binding(index, "User:u", draw(st.sampled_from(list(Role))), pattern))
    return tuple(found)


@given(bindings(), st.sampled_from(list(Action)), st.sampled_from(KINDS), NAMES)
def test_patterns_cover_exactly_what_the_bindings_allow(
    held: tuple[Binding, ...], action: Action, kind: ResourceType, name: str
) -> None:
    allowed = any(
        b.resource.matches(kind, name) and role_allows(b.role, kind, action) for b in held
    )
    patterns = patterns_of(held, action)[kind]
    assert patterns.exact
    assert patterns.covers(name) is allowed


def test_the_authorizer_answers_per_principal_and_follows_changes(
    service: SecurityService,
) -> None:
    authorizer = service.authorizer
    service.create_user("dana", "dana-password", actor="x")
    assert (
        authorizer.read_patterns("User:dana")[ResourceType.SUBJECT].covers("orders-value") is False
    )
    binding = service.create_binding("User:dana", "DeveloperRead", "Subject:orders-*", actor="x")
    service.create_binding("User:dana", "DeveloperRead", "Subject:orders-value", actor="x")
    service.create_binding("User:dana", "DeveloperWrite", "Topic:payments", actor="x")
    subjects = authorizer.read_patterns("User:dana")[ResourceType.SUBJECT]
    assert subjects.prefixes == ("orders-",) and subjects.literals == frozenset()  # subsumed
    assert not subjects.everything
    # DeveloperWrite describes a topic but does not read it; describing is another question
    assert authorizer.read_patterns("User:dana")[ResourceType.TOPIC].covers("payments") is False
    assert authorizer.read_patterns("User:dana", Action.DESCRIBE)[ResourceType.TOPIC].literals == {
        "payments"
    }
    service.delete_binding(binding.id, actor="x")
    subjects = authorizer.read_patterns("User:dana")[ResourceType.SUBJECT]
    assert subjects.prefixes == () and subjects.literals == {"orders-value"}
    service.create_binding("User:root", "SystemAdmin", "Cluster:charter", actor="x")
    assert all(p.everything for p in authorizer.read_patterns("User:root").values())
    service.create_binding("User:dana", "DeveloperRead", "Subject:*", actor="x")
    assert authorizer.read_patterns("User:dana")[ResourceType.SUBJECT].everything
    assert all(p.everything for p in AllowEverything().read_patterns("User:x").values())
