"""Unmodified admin clients against ``charter up --auth``: the Kafka ACL APIs over role bindings,
SCRAM credentials made with AlterUserScramCredentials then used to log in, group filtering and
transactional-id authorization. confluent-kafka and kafka-python have these admin APIs; aiokafka
0.14 has none of them (its admin client stops at topics, configs and groups)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest
from confluent_kafka import (
    OFFSET_BEGINNING,
    Consumer,
    KafkaError,
    KafkaException,
    Producer,
    TopicPartition,
)
from confluent_kafka.admin import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
    AdminClient,
    NewTopic,
    ResourcePatternType,
    ResourceType,
    ScramCredentialInfo,
    ScramMechanism,
    UserScramCredentialDeletion,
    UserScramCredentialUpsertion,
)

from tests.charter.processes import CharterProcess, launch
from tests.security.stack import PASSWORDS, secured_up


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with secured_up(tmp_path_factory.mktemp("secured-admin") / "data") as running:
        yield running


def _sasl(user: str, password: str | None = None, mechanism: str = "PLAIN") -> dict[str, str]:
    return {
        "security.protocol": "SASL_PLAINTEXT",
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": password if password is not None else PASSWORDS[user],
    }


def _admin(charter: CharterProcess, user: str) -> AdminClient:
    return AdminClient({"bootstrap.servers": charter.bootstrap, **_sasl(user)})


def _kafka_python_admin(charter: CharterProcess, user: str):
    from kafka.admin import KafkaAdminClient

    return KafkaAdminClient(
        bootstrap_servers=charter.bootstrap,
        security_protocol="SASL_PLAINTEXT",
        sasl_mechanism="PLAIN",
        sasl_plain_username=user,
        sasl_plain_password=PASSWORDS[user],
    )


def _error_code(future) -> int | None:
    try:
        future.result(30)
    except KafkaException as exc:
        return exc.args[0].code()
    return None


def _produce_one(charter: CharterProcess, topic: str, config: dict) -> KafkaError | None:
    """The delivery error of one record (None when delivered), or the authentication error
    librdkafka reports (it would retry until ``message.timeout.ms`` otherwise)."""
    reported: list[KafkaError] = []
    producer = Producer(
        {
            "bootstrap.servers": charter.bootstrap,
            "message.timeout.ms": 15000,
            "error_cb": reported.append,
            **config,
        }
    )
    outcome: list = []
    producer.produce(topic, b"v", on_delivery=lambda error, message: outcome.append(error))
    deadline = time.monotonic() + 30
    while not outcome and time.monotonic() < deadline:
        producer.poll(0.05)
        refused = [error for error in reported if error.code() == KafkaError._AUTHENTICATION]
        if refused:
            return refused[0]
    return outcome[0] if outcome else KafkaError(KafkaError._MSG_TIMED_OUT)


def test_confluent_acls_create_describe_delete_and_they_are_in_force(
    charter: CharterProcess,
) -> None:
    admin = _admin(charter, "admin")
    topic = f"acl-{uuid.uuid4().hex[:6]}"
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    assert (
        _produce_one(charter, topic, _sasl("mallory")).code()
        == KafkaError.TOPIC_AUTHORIZATION_FAILED
    )

    grant = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        "User:mallory",
        "*",
        AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )
    deny = AclBinding(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.LITERAL,
        "User:mallory",
        "*",
        AclOperation.READ,
        AclPermissionType.DENY,
    )
    results = admin.create_acls([grant, deny])
    assert results[grant].result(30) is None
    assert results[deny].result(30) is None  # kept as an ACL entry (no role is a DENY)

    described = admin.describe_acls(
        AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            "User:mallory",
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
    ).result(30)
    assert [(b.name, b.operation, b.permission_type) for b in described] == [
        (topic, AclOperation.WRITE, AclPermissionType.ALLOW),
        (topic, AclOperation.READ, AclPermissionType.DENY),
    ]
    assert _produce_one(charter, topic, _sasl("mallory")) is None  # granted at once

    matching = AclBindingFilter(
        ResourceType.TOPIC,
        topic,
        ResourcePatternType.MATCH,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    deleted = admin.delete_acls([matching])[matching].result(30)
    assert {(d.principal, d.name, d.permission_type) for d in deleted} == {
        ("User:mallory", topic, AclPermissionType.ALLOW),
        ("User:mallory", topic, AclPermissionType.DENY),
    }
    assert (
        _produce_one(charter, topic, _sasl("mallory")).code()
        == KafkaError.TOPIC_AUTHORIZATION_FAILED
    )


def _consume_one(charter: CharterProcess, user: str, topic: str) -> bytes | KafkaError:
    """The first record of ``topic`` (or the error the consumer got), assigned, no commits."""
    consumer = Consumer(
        {
            "bootstrap.servers": charter.bootstrap,
            "group.id": f"{user}-acl",
            "enable.auto.commit": False,
            **_sasl(user),
        }
    )
    consumer.assign([TopicPartition(topic, 0, OFFSET_BEGINNING)])
    try:
        for _ in range(60):  # at most ~30 s
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    continue
                return message.error()
            return message.value()
        return KafkaError(KafkaError._TIMED_OUT)
    finally:
        consumer.close()


def _acl(topic_or_cluster: str, principal: str, operation, permission) -> AclBinding:
    cluster = topic_or_cluster == "kafka-cluster"
    return AclBinding(
        ResourceType.BROKER if cluster else ResourceType.TOPIC,
        topic_or_cluster,
        ResourcePatternType.LITERAL,
        principal,
        "*",
        operation,
        permission,
    )


def test_confluent_deny_create_on_cluster_and_user_wildcard_in_force_end_to_end(
    charter: CharterProcess,
) -> None:
    """DENY READ stops a DeveloperRead consumer; CREATE on the cluster lets a principal with no
    role create topics; ``User:*`` WRITE lets anyone's idempotent producer write; DENY WRITE for
    one principal beats it."""
    admin = _admin(charter, "admin")
    suffix = uuid.uuid4().hex[:6]
    watched, shared, made = f"orders-deny-{suffix}", f"shared-{suffix}", f"made-{suffix}"
    for topic in (watched, shared):
        admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    assert _produce_one(charter, watched, _sasl("admin")) is None
    assert _consume_one(charter, "bob", watched) == b"v"  # DeveloperRead on orders-*
    mallory = _admin(charter, "mallory")
    assert _error_code(mallory.create_topics([NewTopic(made, 1, 1)])[made]) == (
        KafkaError.TOPIC_AUTHORIZATION_FAILED
    )
    idempotent = {"enable.idempotence": True, **_sasl("mallory")}
    assert _produce_one(charter, shared, idempotent).code() in (
        KafkaError.TOPIC_AUTHORIZATION_FAILED,
        KafkaError.CLUSTER_AUTHORIZATION_FAILED,
    )

    allow, deny = AclPermissionType.ALLOW, AclPermissionType.DENY
    acls = [
        _acl(watched, "User:bob", AclOperation.READ, deny),
        _acl("kafka-cluster", "User:mallory", AclOperation.CREATE, allow),
        _acl(shared, "User:*", AclOperation.WRITE, allow),
    ]
    for future in admin.create_acls(acls).values():
        assert future.result(30) is None
    try:
        denied = _consume_one(charter, "bob", watched)
        assert isinstance(denied, KafkaError)
        assert denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
        assert mallory.create_topics([NewTopic(made, 1, 1)])[made].result(30) is None
        assert _produce_one(charter, shared, idempotent) is None  # User:* WRITE
        assert _produce_one(charter, shared, _sasl("dave")) is None
        no_write = _acl(shared, "User:dave", AclOperation.WRITE, deny)
        admin.create_acls([no_write])[no_write].result(30)
        acls.append(no_write)
        assert (
            _produce_one(charter, shared, _sasl("dave")).code()
            == KafkaError.TOPIC_AUTHORIZATION_FAILED
        )
    finally:
        filters = [
            AclBindingFilter(
                acl.restype,
                acl.name,
                ResourcePatternType.LITERAL,
                acl.principal,
                "*",
                acl.operation,
                acl.permission_type,
            )
            for acl in acls
        ]
        for future in admin.delete_acls(filters).values():
            future.result(30)
    assert _consume_one(charter, "bob", watched) == b"v"  # in force again at once


def test_confluent_acl_apis_are_systemadmins_only(charter: CharterProcess) -> None:
    bob = _admin(charter, "bob")
    anything = AclBindingFilter(
        ResourceType.ANY,
        None,
        ResourcePatternType.ANY,
        None,
        None,
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    # librdkafka drops DescribeAcls' top-level error (against Apache Kafka too): an empty
    # answer; kafka-python raises it (test_kafka_python_acls_and_scram)
    assert bob.describe_acls(anything).result(30) == []
    grant = AclBinding(
        ResourceType.GROUP,
        "x",
        ResourcePatternType.PREFIXED,
        "User:bob",
        "*",
        AclOperation.READ,
        AclPermissionType.ALLOW,
    )
    assert _error_code(bob.create_acls([grant])[grant]) == KafkaError.CLUSTER_AUTHORIZATION_FAILED


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_confluent_scram_credentials_upsert_login_describe_delete(
    charter: CharterProcess, mechanism: str
) -> None:
    admin = _admin(charter, "admin")
    user = f"erin{mechanism[-3:]}"
    scram = (
        ScramMechanism.SCRAM_SHA_256 if mechanism.endswith("256") else ScramMechanism.SCRAM_SHA_512
    )
    upsert = UserScramCredentialUpsertion(user, ScramCredentialInfo(scram, 8192), b"erin-secret-1")
    assert admin.alter_user_scram_credentials([upsert])[user].result(30) is None
    # a binding for the new user, through the Kafka ACL API too
    topic = f"orders-scram-{user}"
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    grant = AclBinding(
        ResourceType.TOPIC,
        "orders-",
        ResourcePatternType.PREFIXED,
        f"User:{user}",
        "*",
        AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )
    admin.create_acls([grant])[grant].result(30)
    assert _produce_one(charter, topic, _sasl(user, "erin-secret-1", mechanism)) is None

    description = admin.describe_user_scram_credentials([user])[user].result(30)
    assert [(i.mechanism, i.iterations) for i in description.scram_credential_infos] == [
        (scram, 8192)
    ]
    few = UserScramCredentialUpsertion("few", ScramCredentialInfo(scram, 1000), b"pw")
    assert (
        _error_code(admin.alter_user_scram_credentials([few])["few"])
        == KafkaError.UNACCEPTABLE_CREDENTIAL
    )

    deletion = UserScramCredentialDeletion(user, scram)
    assert admin.alter_user_scram_credentials([deletion])[user].result(30) is None
    assert (
        _error_code(admin.describe_user_scram_credentials([user])[user])
        == KafkaError.RESOURCE_NOT_FOUND
    )
    assert (
        _error_code(admin.alter_user_scram_credentials([deletion])[user])
        == KafkaError.RESOURCE_NOT_FOUND
    )
    failed = _produce_one(charter, topic, _sasl(user, "erin-secret-1", mechanism))
    assert failed is not None and failed.code() == KafkaError._AUTHENTICATION  # it is gone


def test_kafka_python_acls_and_scram(charter: CharterProcess) -> None:
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePattern,
        ResourcePatternFilter,
    )
    from kafka.admin import ResourceType as KResourceType
    from kafka.admin._users import ScramMechanism as KScram
    from kafka.admin._users import UserScramCredentialUpsertion as KUpsertion
    from kafka.errors import ClusterAuthorizationFailedError

    admin = _kafka_python_admin(charter, "admin")
    try:
        pattern = ResourcePattern(KResourceType.GROUP, "kp-", ACLResourcePatternType.PREFIXED)
        acl = ACL("User:dave", "*", ACLOperation.READ, ACLPermissionType.ALLOW, pattern)
        deny = ACL("User:dave", "127.0.0.1", ACLOperation.DELETE, ACLPermissionType.DENY, pattern)
        created = admin.create_acls([acl, deny])
        assert created["succeeded"] == [acl, deny] and created["failed"] == []
        acls, _error = admin.describe_acls(
            ACLFilter(
                "User:dave",
                None,
                ACLOperation.ANY,
                ACLPermissionType.ANY,
                ResourcePatternFilter(KResourceType.GROUP, None, ACLResourcePatternType.ANY),
            )
        )
        assert [(a.resource_pattern.resource_name, a.operation, a.host) for a in acls] == [
            ("kp-", ACLOperation.READ, "*"),
            ("kp-", ACLOperation.DELETE, "127.0.0.1"),
        ]
        [(_, deleted, error)] = admin.delete_acls(
            [
                ACLFilter(
                    "User:dave",
                    None,
                    ACLOperation.ANY,
                    ACLPermissionType.ANY,
                    ResourcePatternFilter(KResourceType.GROUP, None, ACLResourcePatternType.ANY),
                )
            ]
        )
        assert [(a.resource_pattern.resource_name, a.permission_type) for a in deleted] == [
            ("kp-", ACLPermissionType.ALLOW),
            ("kp-", ACLPermissionType.DENY),
        ]
        outcome = admin.alter_user_scram_credentials(
            [KUpsertion("kpuser", KScram.SCRAM_SHA_256, "kp-secret-1", iterations=4096)]
        )
        assert outcome == {"kpuser": None}
        described = admin.describe_user_scram_credentials(["kpuser"])
        assert described["kpuser"]["credential_infos"] == [
            {"mechanism": KScram.SCRAM_SHA_256, "iterations": 4096}
        ]
    finally:
        admin.close()
    bob = _kafka_python_admin(charter, "bob")
    try:
        with pytest.raises(ClusterAuthorizationFailedError):
            bob.describe_acls(
                ACLFilter(
                    None,
                    None,
                    ACLOperation.ANY,
                    ACLPermissionType.ANY,
                    ResourcePatternFilter(KResourceType.ANY, None, ACLResourcePatternType.ANY),
                )
            )
    finally:
        bob.close()


def _commit_groups(charter: CharterProcess, topic: str, groups: tuple[str, ...]) -> None:
    """Groups with a committed offset (made by admin), for the listing tests."""
    admin = _admin(charter, "admin")
    admin.create_topics([NewTopic(topic, 1, 1)])[topic].result(30)
    for group in groups:
        consumer = Consumer(
            {"bootstrap.servers": charter.bootstrap, "group.id": group, **_sasl("admin")}
        )
        [committed] = consumer.commit(offsets=[TopicPartition(topic, 0, 1)], asynchronous=False)
        assert committed.error is None
        consumer.close()


def test_listed_groups_are_those_the_principal_may_describe(charter: CharterProcess) -> None:
    _commit_groups(charter, "orders-groups", ("bob-listed", "hidden-listed"))
    admin = _admin(charter, "admin")
    bob = _admin(charter, "bob")
    bob_groups = {g.group_id for g in bob.list_consumer_groups().result(30).valid}
    admin_groups = {g.group_id for g in admin.list_consumer_groups().result(30).valid}
    assert "bob-listed" in bob_groups and "hidden-listed" not in bob_groups
    assert {"bob-listed", "hidden-listed"} <= admin_groups
    [(_, future)] = bob.describe_consumer_groups(["hidden-listed"]).items()
    assert _error_code(future) == KafkaError.GROUP_AUTHORIZATION_FAILED
    [(_, future)] = bob.describe_consumer_groups(
        ["bob-listed"], include_authorized_operations=True
    ).items()
    described = future.result(30)
    assert described.group_id == "bob-listed"
    assert set(described.authorized_operations) == {AclOperation.READ, AclOperation.DESCRIBE}


def test_transactional_producer_needs_write_on_its_transactional_id(
    charter: CharterProcess,
) -> None:
    admin = _admin(charter, "admin")
    admin.create_topics([NewTopic("orders-txn", 1, 1)])["orders-txn"].result(30)

    def init(transactional_id: str) -> int | None:
        producer = Producer(
            {
                "bootstrap.servers": charter.bootstrap,
                "transactional.id": transactional_id,
                **_sasl("dave"),
            }
        )
        try:
            producer.init_transactions(30)
        except KafkaException as exc:
            return exc.args[0].code()
        producer.begin_transaction()
        producer.produce("orders-txn", b"in a transaction")
        producer.commit_transaction(30)
        return None

    assert init("dave-app") == KafkaError.TRANSACTIONAL_ID_AUTHORIZATION_FAILED
    grant = AclBinding(
        ResourceType.TRANSACTIONAL_ID,
        "dave-",
        ResourcePatternType.PREFIXED,
        "User:dave",
        "*",
        AclOperation.WRITE,
        AclPermissionType.ALLOW,
    )
    admin.create_acls([grant])[grant].result(30)
    assert init("dave-app") is None


def test_without_auth_acls_are_disabled_and_rate_limits_throttle(tmp_path) -> None:
    broker = launch(
        "serve broker",
        tmp_path / "plain",
        environment={"CHARTER_KAFKA_REQUEST_RATE": "2", "CHARTER_KAFKA_REQUEST_BURST": "1"},
    )
    try:
        broker.wait_ready()
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        anything = AclBindingFilter(
            ResourceType.ANY,
            None,
            ResourcePatternType.ANY,
            None,
            None,
            AclOperation.ANY,
            AclPermissionType.ANY,
        )
        grant = AclBinding(
            ResourceType.TOPIC,
            "t",
            ResourcePatternType.LITERAL,
            "User:a",
            "*",
            AclOperation.READ,
            AclPermissionType.ALLOW,
        )
        assert _error_code(admin.create_acls([grant])[grant]) == KafkaError.SECURITY_DISABLED
        assert _error_code(admin.delete_acls([anything])[anything]) == KafkaError.SECURITY_DISABLED
        # over 2 requests a second the principal is throttled (throttle_time_ms), not dropped
        throttled: list = []
        producer = Producer(
            {
                "bootstrap.servers": broker.bootstrap,
                "linger.ms": 0,
                "throttle_cb": throttled.append,
            }
        )
        delivered: list = []
        for index in range(5):
            producer.produce(
                "throttled", b"v%d" % index, on_delivery=lambda e, m: delivered.append(e)
            )
            producer.flush(30)
        producer.poll(0)
        assert delivered == [None] * 5
        assert throttled and max(event.throttle_time for event in throttled) > 0
    finally:
        broker.stop()


def test_aiokafka_group_listing_and_transactional_id_denial(charter: CharterProcess) -> None:
    import asyncio

    from aiokafka import AIOKafkaProducer
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import GroupAuthorizationFailedError, TransactionalIdAuthorizationFailed

    _commit_groups(charter, "orders-aio", ("bob-aio", "hidden-aio"))

    def config(user: str) -> dict:
        return {
            "bootstrap_servers": charter.bootstrap,
            "security_protocol": "SASL_PLAINTEXT",
            "sasl_mechanism": "PLAIN",
            "sasl_plain_username": user,
            "sasl_plain_password": PASSWORDS[user],
        }

    async def run() -> None:
        bob = AIOKafkaAdminClient(**config("bob"))
        await bob.start()
        try:
            listed = {group[0] for group in await bob.list_consumer_groups()}
            assert "bob-aio" in listed and "hidden-aio" not in listed
            with pytest.raises(GroupAuthorizationFailedError):
                await bob.describe_consumer_groups(["hidden-aio"])
        finally:
            await bob.close()
        producer = AIOKafkaProducer(**config("bob"), transactional_id="bob-app")
        with pytest.raises(TransactionalIdAuthorizationFailed):
            await producer.start()
        await producer.stop()

    asyncio.run(run())
