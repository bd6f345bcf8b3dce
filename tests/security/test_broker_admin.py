"""Group and transactional-id authorization on every API, the ACL and SCRAM APIs and request
throttling, over raw frames against an in-process broker with auth on (``tests.security.stack``:
admin SystemAdmin, alice ResourceOwner on orders-*, dave DeveloperWrite on orders-*, bob
DeveloperRead on orders-* and Group:bob-*, mallory nothing)."""

from __future__ import annotations

import datetime
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from governance.security.audit import security_entries
from tests.charter.kafka_wire import RawClient
from tests.security.broker import SecuredBroker
from tests.security.kafka_requests import (
    acl,
    acl_filter,
    create_acls,
    delete_acls,
    describe_acls,
    init_producer_id,
    nested,
    offset_commit,
    request,
)
from tests.security.raw import plain_client
from tests.security.stack import PASSWORDS

GROUP_AUTHORIZATION_FAILED = 30
CLUSTER_AUTHORIZATION_FAILED = 31
TXN_ID_AUTHORIZATION_FAILED = 53


def _as(broker: SecuredBroker, user: str) -> RawClient:
    return plain_client(broker.port, user, PASSWORDS[user])


def _audit(broker: SecuredBroker) -> list[tuple[str, str, str, str]]:
    service = broker.app._security_admin.service
    broker.app._authorizer.audit.flush()
    service.audit.flush()
    return [
        (r.actor, r.action, r.resource, r.outcome)
        for r in security_entries(service.store.database, limit=1000)
    ]


@pytest.fixture
def broker(secured) -> SecuredBroker:
    broker = secured()
    broker.create_topic("orders-1")
    broker.create_topic("secret")
    with _as(broker, "admin") as admin:
        for group in ("bob-g", "other-g"):
            [topic] = admin.call(offset_commit(group, "orders-1")).topics
            assert topic.partitions[0].error_code == 0
    return broker


def test_every_group_api_checks_the_group(broker: SecuredBroker) -> None:
    with _as(broker, "bob") as bob:  # DeveloperRead on Group:bob-*
        listed = {g.group_id for g in bob.call(request(16, 4, states_filter=())).groups}
        assert listed == {"bob-g"}  # ListGroups shows only what bob may describe
        described = bob.call(
            request(15, 5, groups=("bob-g", "other-g"), include_authorized_operations=False)
        )
        assert [g.error_code for g in described.groups] == [0, GROUP_AUTHORIZATION_FAILED]
        leave = request(
            13,
            4,
            group_id="other-g",
            members=(nested(13, 4, "MemberIdentity", member_id="m", group_instance_id=None),),
        )
        assert bob.call(leave).error_code == GROUP_AUTHORIZATION_FAILED
        deleted = bob.call(request(42, 2, groups_names=("bob-g", "other-g")))
        assert [r.error_code for r in deleted.results] == [GROUP_AUTHORIZATION_FAILED] * 2
        topic = nested(
            47,
            0,
            "OffsetDeleteRequestTopic",
            name="orders-1",
            partitions=(nested(47, 0, "OffsetDeleteRequestPartition", partition_index=0),),
        )
        offset_delete = bob.call(request(47, 0, group_id="bob-g", topics=(topic,)))
        assert offset_delete.error_code == GROUP_AUTHORIZATION_FAILED  # needs delete
        cgd = bob.call(request(69, 0, group_ids=("other-g",), include_authorized_operations=False))
        assert cgd.groups[0].error_code == GROUP_AUTHORIZATION_FAILED
        cgd = bob.call(request(69, 0, group_ids=("bob-g",), include_authorized_operations=False))
        assert cgd.groups[0].error_code == 69  # allowed: a classic group is not a consumer group
        [secret] = bob.call(offset_commit("bob-g", "secret")).topics
        assert secret.partitions[0].error_code == 29  # the topic is checked too
        [mine] = bob.call(offset_commit("bob-g", "orders-1", 7)).topics
        assert mine.partitions[0].error_code == 0
        asked = request(
            9,
            7,
            group_id="bob-g",
            topics=(
                nested(9, 7, "OffsetFetchRequestTopic", name="secret", partition_indexes=(0,)),
                nested(9, 7, "OffsetFetchRequestTopic", name="orders-1", partition_indexes=(0,)),
            ),
            require_stable=False,
        )
        fetched = {t.name: t.partitions[0] for t in bob.call(asked).topics}
        assert fetched["secret"].error_code == 29
        assert (fetched["orders-1"].error_code, fetched["orders-1"].committed_offset) == (0, 7)
    with _as(broker, "admin") as admin:
        [secret] = admin.call(offset_commit("bob-g", "secret")).topics
        assert secret.partitions[0].error_code == 0
    with _as(broker, "bob") as bob:
        everything = request(9, 7, group_id="bob-g", topics=None, require_stable=False)
        assert {t.name for t in bob.call(everything).topics} == {"orders-1"}
    with _as(broker, "mallory") as mallory:
        assert mallory.call(request(16, 4, states_filter=())).groups == ()
    with _as(broker, "admin") as admin:
        assert len(admin.call(request(16, 4, states_filter=())).groups) == 2
        deleted = admin.call(request(42, 2, groups_names=("other-g",)))
        assert deleted.results[0].error_code == 0
    denied = [e for e in _audit(broker) if e[3] == "denied"]
    assert ("User:bob", "group.delete", "Group:other-g", "denied") in denied
    assert ("User:bob", "group.describe", "Group:other-g", "denied") in denied


def test_transactional_ids_need_write_and_idempotence_some_topic_write(
    broker: SecuredBroker,
) -> None:
    with _as(broker, "dave") as dave:  # DeveloperWrite on Topic:orders-*
        assert dave.call(init_producer_id(None)).error_code == 0  # idempotent: a topic write
        assert dave.call(init_producer_id("dave-tx")).error_code == TXN_ID_AUTHORIZATION_FAILED
        find = dave.call(request(10, 3, key="dave-tx", key_type=1))
        assert find.error_code == TXN_ID_AUTHORIZATION_FAILED
    with _as(broker, "bob") as bob:  # reads only
        assert bob.call(init_producer_id(None)).error_code == CLUSTER_AUTHORIZATION_FAILED
        end = request(26, 3, transactional_id="t", producer_id=1, producer_epoch=0, committed=True)
        assert bob.call(end).error_code == TXN_ID_AUTHORIZATION_FAILED
        offsets = request(
            25, 3, transactional_id="t", producer_id=1, producer_epoch=0, group_id="bob-g"
        )
        assert bob.call(offsets).error_code == TXN_ID_AUTHORIZATION_FAILED
        add = request(
            24,
            3,
            v3_and_below_transactional_id="t",
            v3_and_below_producer_id=1,
            v3_and_below_producer_epoch=0,
            v3_and_below_topics=(
                nested(24, 3, "AddPartitionsToTxnTopic", name="orders-1", partitions=(0,)),
            ),
        )
        [topic] = bob.call(add).results_by_topic_v3_and_below
        assert topic.results_by_partition[0].partition_error_code == TXN_ID_AUTHORIZATION_FAILED
    with _as(broker, "admin") as admin:  # grant dave WRITE on TransactionalId dave-* via an ACL
        created = admin.call(create_acls(acl(5, "dave-", 4, "User:dave", 4)))
        assert created.results[0].error_code == 0
    with _as(broker, "dave") as dave:
        init = dave.call(init_producer_id("dave-tx"))
        assert init.error_code == 0
        add = request(
            24,
            3,
            v3_and_below_transactional_id="dave-tx",
            v3_and_below_producer_id=init.producer_id,
            v3_and_below_producer_epoch=init.producer_epoch,
            v3_and_below_topics=(
                nested(24, 3, "AddPartitionsToTxnTopic", name="orders-1", partitions=(0,)),
                nested(24, 3, "AddPartitionsToTxnTopic", name="secret", partitions=(0,)),
            ),
        )
        results = {
            t.name: t.results_by_partition[0].partition_error_code
            for t in dave.call(add).results_by_topic_v3_and_below
        }
        assert results == {"orders-1": 55, "secret": 29}  # OPERATION_NOT_ATTEMPTED, TOPIC_AUTH
    assert ("User:dave", "transactionalid.write", "TransactionalId:dave-tx", "denied") in _audit(
        broker
    )


def test_acl_apis_need_the_cluster_and_map_onto_role_bindings(broker: SecuredBroker) -> None:
    with _as(broker, "bob") as bob:
        assert bob.call(describe_acls()).error_code == CLUSTER_AUTHORIZATION_FAILED
        created = bob.call(create_acls(acl(2, "secret", 3, "User:bob", 3)))
        assert created.results[0].error_code == CLUSTER_AUTHORIZATION_FAILED
        deleted = bob.call(delete_acls(acl_filter(31)))
        assert deleted.filter_results[0].error_code == CLUSTER_AUTHORIZATION_FAILED
        assert bob.fetch("secret", 0, 0).error_code == 29
    with _as(broker, "admin") as admin:
        created = admin.call(
            create_acls(
                acl(2, "secret", 3, "User:bob", 3),  # READ topic secret: DeveloperRead
                acl(2, "secret", 3, "User:bob", 3, host="db-host"),  # not an IP address
                acl(2, "secret", 3, "Group:ops", 3),  # not a User principal
                acl(7, "bob", 3, "User:bob", 7),  # USER resources
            )
        )
        codes = [r.error_code for r in created.results]
        assert codes == [0, 42, 42, 42]
        assert "IP address" in created.results[1].error_message
        found = admin.call(describe_acls(resource_type_filter=2, principal_filter="User:bob"))
        assert found.error_code == 0
        shown = {
            (r.resource_name, r.pattern_type, a.operation) for r in found.resources for a in r.acls
        }
        assert shown == {("orders-", 4, 3), ("secret", 3, 3)}
    with _as(broker, "bob") as bob:
        assert bob.fetch("secret", 0, 0).error_code == 0  # the binding is in force at once
    with _as(broker, "admin") as admin:
        matched = admin.call(
            describe_acls(
                resource_type_filter=2, resource_name_filter="secret", pattern_type_filter=2
            )
        )
        assert [r.resource_name for r in matched.resources] == ["secret"]
        bad = admin.call(describe_acls(resource_type_filter=0))
        assert bad.error_code == 42
        deleted = admin.call(
            delete_acls(acl_filter(31, resource_name_filter="secret", principal_filter="User:bob"))
        )
        [result] = deleted.filter_results
        assert result.error_code == 0
        assert [
            (a.resource_name, a.operation, a.permission_type) for a in result.matching_acls
        ] == [("secret", 3, 3)]
    with _as(broker, "bob") as bob:
        assert bob.fetch("secret", 0, 0).error_code == 29
    changes = [e for e in _audit(broker) if e[3] == "success" and e[0] == "User:admin"]
    assert ("User:admin", "rolebinding.create", "Topic:secret", "success") in changes
    assert ("User:admin", "rolebinding.delete", "Topic:secret", "success") in changes


def test_without_auth_acls_are_disabled_and_scram_administration_works(secured) -> None:
    broker = secured(auth=False)
    with RawClient(broker.port) as client:
        assert client.call(describe_acls()).error_code == 54
        assert client.call(create_acls(acl(2, "t", 3, "User:a", 3))).results[0].error_code == 54
        assert client.call(delete_acls(acl_filter(31))).filter_results[0].error_code == 54
        # SCRAM administration works without auth, as in Kafka (credentials made in advance)
        upsert = nested(
            51,
            0,
            "ScramCredentialUpsertion",
            name="early",
            mechanism=2,
            iterations=4096,
            salt=b"s",
            salted_password=b"x" * 64,
        )
        altered = client.call(request(51, 0, deletions=(), upsertions=(upsert,)))
        assert [(r.user, r.error_code) for r in altered.results] == [("early", 0)]
        described = client.call(request(50, 0, users=(nested(50, 0, "UserName", name="early"),)))
        assert [(c.mechanism, c.iterations) for c in described.results[0].credential_infos] == [
            (2, 4096)
        ]


def test_scram_apis_need_the_cluster(broker: SecuredBroker) -> None:
    with _as(broker, "bob") as bob:
        described = bob.call(request(50, 0, users=None))
        assert described.error_code == CLUSTER_AUTHORIZATION_FAILED
        upsert = nested(
            51,
            0,
            "ScramCredentialUpsertion",
            name="bob",
            mechanism=1,
            iterations=4096,
            salt=b"s",
            salted_password=b"x" * 32,
        )
        altered = bob.call(request(51, 0, deletions=(), upsertions=(upsert,)))
        assert [(r.user, r.error_code) for r in altered.results] == [
            ("bob", CLUSTER_AUTHORIZATION_FAILED)
        ]
    with _as(broker, "admin") as admin:
        users = (nested(50, 0, "UserName", name="bob"), nested(50, 0, "UserName", name="nobody"))
        described = admin.call(request(50, 0, users=users))
        assert described.error_code == 0
        assert [(r.user, r.error_code) for r in described.results] == [("bob", 0), ("nobody", 91)]
        assert {(c.mechanism, c.iterations) for c in described.results[0].credential_infos} == {
            (1, 4096),
            (2, 4096),
        }
        deletion = nested(51, 0, "ScramCredentialDeletion", name="nobody", mechanism=1)
        bad = nested(
            51,
            0,
            "ScramCredentialUpsertion",
            name="few",
            mechanism=1,
            iterations=10,
            salt=b"s",
            salted_password=b"x" * 32,
        )
        weird = nested(
            51,
            0,
            "ScramCredentialUpsertion",
            name="weird",
            mechanism=9,
            iterations=4096,
            salt=b"s",
            salted_password=b"x" * 32,
        )
        altered = admin.call(request(51, 0, deletions=(deletion,), upsertions=(bad, weird)))
        assert [(r.user, r.error_code) for r in altered.results] == [
            ("nobody", 91),
            ("few", 93),
            ("weird", 33),
        ]


def test_over_the_rate_responses_carry_throttle_time_and_the_connection_stays(secured) -> None:
    broker = secured(kafka_request_rate=1, kafka_request_burst=1)
    with _as(broker, "bob") as bob:
        throttles = []
        for _ in range(3):
            answer = bob.call(request(16, 4, states_filter=()))
            throttles.append(answer.throttle_time)
        assert throttles[0] == datetime.timedelta(0)
        assert max(throttles) > datetime.timedelta(0)
        assert bob.api_versions().error_code == 0  # never a dropped connection


_I8 = st.integers(-128, 127)
_NAME = st.one_of(st.none(), st.text(max_size=40), st.just("*"), st.just(""))


@settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    fields=st.fixed_dictionaries(
        {
            "resource_type_filter": _I8,
            "resource_name_filter": _NAME,
            "pattern_type_filter": _I8,
            "principal_filter": _NAME,
            "host_filter": _NAME,
            "operation": _I8,
            "permission_type": _I8,
        }
    ),
    creation=st.fixed_dictionaries(
        {
            "resource_type": _I8,
            "resource_name": st.text(max_size=300),
            "resource_pattern_type": _I8,
            "principal": st.one_of(st.text(max_size=30), st.just("User:fuzz")),
            "host": st.sampled_from(["*", "", "h"]),
            "operation": _I8,
            "permission_type": _I8,
        }
    ),
)
def test_fuzzed_acl_requests_never_crash_the_broker(
    admin_fuzz_client: RawClient, fields: dict, creation: dict
) -> None:
    assert admin_fuzz_client.call(request(29, 3, **fields)).error_code in (0, 42)
    [created] = admin_fuzz_client.call(create_acls(creation)).results
    assert created.error_code in (0, 42)
    [deleted] = admin_fuzz_client.call(delete_acls(fields)).filter_results
    assert deleted.error_code in (0, 42)


@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    alterations=st.lists(
        st.tuples(
            st.sampled_from(["fuzz", "", "a" * 300, "bad name", "x\x00y"]),
            _I8,
            st.integers(-(2**31), 2**31 - 1),
            st.binary(max_size=80),
            st.booleans(),
        ),
        max_size=6,
    ),
    described=st.one_of(st.none(), st.lists(st.text(max_size=20), max_size=5)),
)
def test_fuzzed_scram_requests_never_crash_the_broker(
    admin_fuzz_client: RawClient, alterations: list, described: list | None
) -> None:
    deletions, upsertions = [], []
    for name, mechanism, iterations, salted, delete in alterations:
        if delete:
            deletions.append(
                nested(51, 0, "ScramCredentialDeletion", name=name, mechanism=mechanism)
            )
        else:
            upsertions.append(
                nested(
                    51,
                    0,
                    "ScramCredentialUpsertion",
                    name=name,
                    mechanism=mechanism,
                    iterations=iterations,
                    salt=salted[:8],
                    salted_password=salted,
                )
            )
    answer = admin_fuzz_client.call(
        request(51, 0, deletions=tuple(deletions), upsertions=tuple(upsertions))
    )
    assert {r.error_code for r in answer.results} <= {0, 33, 42, 91, 92, 93}
    users = (
        None if described is None else tuple(nested(50, 0, "UserName", name=n) for n in described)
    )
    answer = admin_fuzz_client.call(request(50, 0, users=users))
    assert answer.error_code == 0
    assert {r.error_code for r in answer.results} <= {0, 91, 92}


def test_huge_acl_requests_are_answered(admin_fuzz_client: RawClient) -> None:
    filters = [acl_filter(31, resource_name_filter=f"t{i}") for i in range(1500)]
    results = admin_fuzz_client.call(delete_acls(*filters)).filter_results
    assert len(results) == 1500
    assert {r.error_code for r in results[:1000]} == {0} and {
        r.error_code for r in results[1000:]
    } == {42}
    creations = [acl(2, f"huge-{i}", 3, "User:fuzz", 3) for i in range(1100)]
    created = admin_fuzz_client.call(create_acls(*creations)).results
    assert [r.error_code for r in created].count(42) == 100
    assert admin_fuzz_client.call(describe_acls(principal_filter="User:fuzz")).error_code == 0


@pytest.fixture(scope="module")
def admin_fuzz_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RawClient]:
    broker = SecuredBroker(tmp_path_factory.mktemp("aclfuzz"))
    client = plain_client(broker.port, "admin", PASSWORDS["admin"])
    yield client
    client.close()
    broker.stop()


def test_authorized_operations_when_asked_kip_430(broker: SecuredBroker) -> None:
    read, describe, describe_configs, delete = 1 << 3, 1 << 8, 1 << 10, 1 << 6
    with _as(broker, "bob") as bob:
        asked = request(15, 5, groups=("bob-g",), include_authorized_operations=True)
        assert bob.call(asked).groups[0].authorized_operations == read | describe
        quiet = request(15, 5, groups=("bob-g",), include_authorized_operations=False)
        assert bob.call(quiet).groups[0].authorized_operations == -(2**31)
        metadata = request(
            3,
            12,
            topics=(nested(3, 12, "MetadataRequestTopic", name="orders-1", topic_id=None),),
            allow_auto_topic_creation=False,
            include_topic_authorized_operations=True,
        )
        [topic] = bob.call(metadata).topics
        assert topic.topic_authorized_operations == read | describe | describe_configs
        cluster = bob.call(request(60, 0, include_cluster_authorized_operations=True))
        assert cluster.cluster_authorized_operations == 0
    with _as(broker, "admin") as admin:
        asked = request(15, 5, groups=("bob-g",), include_authorized_operations=True)
        assert admin.call(asked).groups[0].authorized_operations == read | describe | delete
        cluster = admin.call(request(60, 0, include_cluster_authorized_operations=True))
        assert cluster.cluster_authorized_operations == sum(
            1 << op for op in (5, 7, 8, 9, 10, 11, 12)
        )


def _create_topic(name: str):
    creatable = nested(
        19,
        7,
        "CreatableTopic",
        name=name,
        num_partitions=1,
        replication_factor=1,
        assignments=(),
        configs=(),
    )
    return request(
        19, 7, topics=(creatable,), timeout=datetime.timedelta(seconds=10), validate_only=False
    )


def _describe_configs(topic: str):
    resource = nested(
        32,
        4,
        "DescribeConfigsResource",
        resource_type=2,
        resource_name=topic,
        configuration_keys=("retention.ms",),
    )
    return request(
        32, 4, resources=(resource,), include_synonyms=False, include_documentation=False
    )


def test_acls_no_role_expresses_are_in_force_deny_first(broker: SecuredBroker) -> None:
    """DENY over a role binding, CREATE on the cluster, DESCRIBE_CONFIGS, IDEMPOTENT_WRITE,
    ``User:*`` and hosts, through the broker's own checks (the client connects from 127.0.0.1)."""
    with _as(broker, "bob") as bob:  # DeveloperRead on orders-*
        assert bob.fetch("orders-1", 0, 0).error_code == 0
    with _as(broker, "mallory") as mallory:  # nothing
        [topic] = mallory.call(_create_topic("m-1")).topics
        assert topic.error_code == 29
        assert mallory.call(init_producer_id(None)).error_code == CLUSTER_AUTHORIZATION_FAILED
        [result] = mallory.call(_describe_configs("secret")).results
        assert result.error_code == 29
    with _as(broker, "admin") as admin:
        created = admin.call(
            create_acls(
                acl(2, "orders-1", 3, "User:bob", 3, permission=2),  # DENY READ orders-1
                acl(4, "kafka-cluster", 3, "User:mallory", 5),  # ALLOW CREATE on the cluster
                acl(4, "kafka-cluster", 3, "User:mallory", 12),  # ALLOW IDEMPOTENT_WRITE
                acl(2, "*", 3, "User:*", 10),  # everyone may DESCRIBE_CONFIGS every topic
                acl(2, "secret", 3, "User:mallory", 3, host="127.0.0.1"),  # READ from here
                acl(2, "secret", 3, "User:mallory", 4, host="10.9.9.9"),  # WRITE from elsewhere
            )
        )
        assert [r.error_code for r in created.results] == [0] * 6
        shown = admin.call(describe_acls(permission_type=2))
        assert [(r.resource_name, [a.principal for a in r.acls]) for r in shown.resources] == [
            ("orders-1", ["User:bob"])
        ]
    with _as(broker, "bob") as bob:
        assert bob.fetch("orders-1", 0, 0).error_code == 29  # DENY beats DeveloperRead
        [result] = bob.call(_describe_configs("secret")).results
        assert result.error_code == 0  # User:* DESCRIBE_CONFIGS
    with _as(broker, "mallory") as mallory:
        [topic] = mallory.call(_create_topic("m-1")).topics
        assert topic.error_code == 0
        assert mallory.call(init_producer_id(None)).error_code == 0
        assert mallory.fetch("secret", 0, 0).error_code == 0  # the host matches
        assert mallory.produce("secret", 0, b"").error_code == 29  # that WRITE is another host's
    with _as(broker, "admin") as admin:
        deleted = admin.call(delete_acls(acl_filter(31, permission_type=2)))
        [result] = deleted.filter_results
        assert [(a.resource_name, a.permission_type) for a in result.matching_acls] == [
            ("orders-1", 2)
        ]
    with _as(broker, "bob") as bob:
        assert bob.fetch("orders-1", 0, 0).error_code == 0  # the DENY is gone at once
    audit = _audit(broker)
    assert ("User:admin", "acl.create", "Topic:orders-1", "success") in audit
    assert ("User:admin", "acl.delete", "Topic:orders-1", "success") in audit
    assert ("User:bob", "topic.read", "Topic:orders-1", "denied") in audit
