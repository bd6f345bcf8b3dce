"""The Kafka listener with auth on, over raw frames: before authentication, SASL, denials, fuzz."""

from __future__ import annotations

import struct
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.index import load_request_schema

from tests.charter.kafka_wire import RawClient
from tests.security.broker import SecuredBroker
from tests.security.raw import handshake, plain_client, sasl_authenticate
from tests.security.stack import PASSWORDS


def _metadata(topics: list[str] | None = None) -> Any:
    cls = load_request_schema(3, 12)
    module = __import__(cls.__module__, fromlist=["MetadataRequestTopic"])
    wanted = (
        None
        if topics is None
        else tuple(module.MetadataRequestTopic(name=name, topic_id=None) for name in topics)
    )
    return cls(
        topics=wanted,
        allow_auto_topic_creation=True,
        include_topic_authorized_operations=False,
    )


def _create_topics(name: str) -> Any:
    cls = load_request_schema(19, 7)
    module = __import__(cls.__module__, fromlist=["CreatableTopic"])
    import datetime

    return cls(
        topics=(
            module.CreatableTopic(
                name=name, num_partitions=1, replication_factor=1, assignments=(), configs=()
            ),
        ),
        timeout=datetime.timedelta(seconds=10),
        validate_only=False,
    )


def test_only_api_versions_and_sasl_before_authentication(secured) -> None:
    broker = secured()
    with RawClient(broker.port) as client:
        assert client.api_versions().error_code == 0
        answer = handshake(client, "GSSAPI")
        assert answer.error_code == 33 and "SCRAM-SHA-512" in answer.mechanisms
        client.send_raw(client.frame(_metadata()))
        assert client.is_closed_by_peer()


def test_wrong_credentials_then_nothing_else(secured) -> None:
    broker = secured()
    with RawClient(broker.port) as client:
        assert handshake(client, "PLAIN").error_code == 0
        answer = sasl_authenticate(client, b"\0dave\0not-his-password")
        assert answer.error_code == 58  # SASL_AUTHENTICATION_FAILED
        assert "not-his-password" not in (answer.error_message or "")
        client.send_raw(client.frame(_metadata()))
        assert client.is_closed_by_peer()


def test_a_large_frame_before_authentication_closes_the_connection(secured) -> None:
    broker = secured()
    with RawClient(broker.port) as client:
        client.send_raw(struct.pack(">i", 600 * 1024) + b"\0" * 64)
        assert client.is_closed_by_peer()


def test_denials_per_kafka_door(secured) -> None:
    broker = secured()
    broker.create_topic("orders-1")
    broker.create_topic("secret")
    with plain_client(broker.port, "bob", PASSWORDS["bob"]) as bob:  # DeveloperRead orders-*
        listed = {t.name for t in bob.call(_metadata()).topics}
        assert listed == {"orders-1"}
        [secret] = bob.call(_metadata(["secret"])).topics
        assert secret.error_code == 29
        assert bob.produce("orders-1", 0, b"").error_code == 29
        assert bob.fetch("secret", 0, 0).error_code == 29
        assert bob.fetch("orders-1", 0, 0).error_code == 0
        [created] = bob.call(_create_topics("orders-2")).topics
        assert created.error_code == 29
        [auto] = bob.call(_metadata(["orders-auto"])).topics
        assert auto.error_code == 29  # auto-creation needs create too
        cls = load_request_schema(10, 3)
        assert bob.call(cls(key="bob-group", key_type=0)).error_code == 0
        assert bob.call(cls(key="other-group", key_type=0)).error_code == 30
        heartbeat = load_request_schema(12, 4)
        denied = bob.call(
            heartbeat(
                group_id="other-group", generation_id=1, member_id="m", group_instance_id=None
            )
        )
        assert denied.error_code == 30  # membership APIs check the group too
        allowed = bob.call(
            heartbeat(group_id="bob-group", generation_id=1, member_id="m", group_instance_id=None)
        )
        assert allowed.error_code != 30  # passes authorization (the member is unknown: 25)
    with plain_client(broker.port, "alice", PASSWORDS["alice"]) as alice:  # owner of orders-*
        [created] = alice.call(_create_topics("orders-2")).topics
        assert created.error_code == 0


def test_session_lifetime_kip_368(secured) -> None:
    broker = secured(sasl_session_lifetime_ms=50)
    with RawClient(broker.port) as client:
        assert handshake(client, "PLAIN").error_code == 0
        answer = sasl_authenticate(client, f"\0bob\0{PASSWORDS['bob']}".encode())
        assert answer.error_code == 0
        assert answer.session_lifetime.total_seconds() * 1000 == 50
        # a re-authentication may not change the principal
        assert handshake(client, "PLAIN").error_code == 0
        switched = sasl_authenticate(client, f"\0dave\0{PASSWORDS['dave']}".encode())
        assert switched.error_code == 58
        time.sleep(0.2)  # past the session's end
        client.send_raw(client.frame(_metadata()))
        assert client.is_closed_by_peer()


_API_KEYS = st.sampled_from([17, 36, 18, 3, 0])


@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    mechanism=st.sampled_from(["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512", "BOGUS"]),
    steps=st.lists(st.binary(max_size=200), max_size=3),
    raw_tail=st.tuples(_API_KEYS, st.integers(-1, 5), st.binary(max_size=100)),
)
def test_fuzzed_sasl_exchanges_never_crash_the_broker(
    secured_fuzz_broker, mechanism: str, steps: list[bytes], raw_tail: tuple
) -> None:
    port = secured_fuzz_broker.port
    with RawClient(port, timeout=10) as client:
        try:
            handshake(client, mechanism)
            for step in steps:
                sasl_authenticate(client, step)
            api_key, version, body = raw_tail
            header = struct.pack(">hhih", api_key, version, 99, 4) + b"fuzz"
            client.send_raw(struct.pack(">i", len(header) + len(body)) + header + body)
        except (ConnectionError, OSError, struct.error, ValueError):
            pass  # the broker may close a connection that sent nonsense
    with RawClient(port) as probe:  # still serving
        assert probe.api_versions().error_code == 0


@pytest.fixture(scope="module")
def secured_fuzz_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecuredBroker]:
    broker = SecuredBroker(tmp_path_factory.mktemp("fuzz"), auth_failure_limit=1_000_000)
    yield broker
    broker.stop()
