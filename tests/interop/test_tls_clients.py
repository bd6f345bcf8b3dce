"""Unmodified clients over TLS: SSL and SASL_SSL listeners, mTLS principals, OAUTHBEARER.

One broker (in-process, ``tests.security.test_broker.SecuredBroker``) with three
listeners: PLAINTEXT (ANONYMOUS), SASL_SSL (PLAIN, SCRAM, OAUTHBEARER) and SSL
with client certificates mapped to principals by
``RULE:^CN=(.*?),.*$/$1/``. Users and role bindings: ``tests.security.stack``
(alice owns ``orders-*``, dave writes, bob reads, mallory has nothing).
Certificates and the JWKS are made for the run (``tests.tls.certs``, joserfc).
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from kio.index import load_request_schema

from charter.compose import open_migrated_database
from charter.config import Settings
from charter.security import security_service
from tests.charter.kafka_wire import RawClient
from tests.interop.roundtrip import (
    VALUES,
    aiokafka_round_trip,
    confluent_consume,
    confluent_produce,
    kafka_python_round_trip,
)
from tests.security.stack import PASSWORDS
from tests.security.test_broker import SecuredBroker
from tests.tls.certs import Pki, make_pki

ISSUER = "https://idp.test"
AUDIENCE = "charter"


class Stack:
    def __init__(self, root: Path, **overrides: Any) -> None:
        self.pki: Pki = make_pki(root / "pki")
        self.rsa = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
        self.ec = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
        jwks = root / "jwks.json"
        jwks.write_text(
            json.dumps({"keys": [k.as_dict(private=False) for k in (self.rsa, self.ec)]})
        )
        settings: dict[str, Any] = {
            "listeners": "PLAINTEXT://127.0.0.1:0,SASL_SSL://127.0.0.1:0,SSL://127.0.0.1:0",
            "tls_cert": str(self.pki.server_cert),
            "tls_key": str(self.pki.server_key),
            "tls_ca": str(self.pki.ca),
            "tls_client_auth": "requested",
            "ssl_principal_mapping_rules": "RULE:^CN=(.*?),.*$/$1/,DEFAULT",
            "oauth_jwks": str(jwks),
            "oauth_issuer": ISSUER,
            "oauth_audience": AUDIENCE,
            "sasl_session_lifetime_ms": 600_000,
            "value_schema_validation": "none",  # these tests are about transport, not the gate
        }
        self._bind_anonymous(root / "data")
        self.broker = SecuredBroker(root / "data", **{**settings, **overrides})

    @staticmethod
    def _bind_anonymous(data_dir: Path) -> None:
        """Clients without credentials (PLAINTEXT, SSL without a certificate) may write
        ``public-*``: a binding on User:ANONYMOUS, as a Kafka ACL would say."""
        settings = Settings(data_dir=data_dir, auth=True)
        database = open_migrated_database(settings)
        service = security_service(settings, database)
        try:
            for resource in ("Topic:public-*", "Group:public-*"):
                service.create_binding("User:ANONYMOUS", "ResourceOwner", resource, actor="test")
        finally:
            service.audit.stop()
            service.authorizer.stop()
            database.close()

    def port(self, name: str) -> int:
        return self.broker.app.port_of(name)

    def bootstrap(self, name: str) -> str:
        return f"127.0.0.1:{self.port(name)}"

    def token(self, key: Any = None, alg: str = "RS256", **claims: Any) -> str:
        key = key or self.rsa
        body = {"sub": "dave", "iss": ISSUER, "aud": AUDIENCE, "exp": int(time.time()) + 600}
        body.update(claims)
        return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = Stack(tmp_path_factory.mktemp("tls"))
    try:
        yield running
    finally:
        running.broker.stop()


def _sasl_ssl(stack: Stack, user: str, mechanism: str = "PLAIN") -> dict[str, Any]:
    return {
        "bootstrap.servers": stack.bootstrap("SASL_SSL"),
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(stack.pki.ca),
        "sasl.mechanism": mechanism,
        "sasl.username": user,
        "sasl.password": PASSWORDS[user],
    }


def _mtls(stack: Stack, user: str) -> dict[str, Any]:
    cert, key = stack.pki.client(user)
    return {
        "bootstrap.servers": stack.bootstrap("SSL"),
        "security.protocol": "SSL",
        "ssl.ca.location": str(stack.pki.ca),
        "ssl.certificate.location": str(cert),
        "ssl.key.location": str(key),
    }


def _produce(config: dict[str, Any], topic: str, count: int) -> list[Any]:
    return confluent_produce(config, topic, count)


def _consume(config: dict[str, Any], topic: str, count: int, group: str = "bob-tls") -> list[Any]:
    return confluent_consume(config, topic, count, group)


def _topic(stack: Stack, prefix: str) -> str:
    name = f"orders-{prefix}-{uuid.uuid4().hex[:6]}"
    stack.broker.create_topic(name)
    return name


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_confluent_kafka_over_sasl_ssl(stack: Stack, mechanism: str) -> None:
    topic = _topic(stack, "confluent")
    assert _produce(_sasl_ssl(stack, "dave", mechanism), topic, 3) == [None] * 3
    assert _consume(_sasl_ssl(stack, "bob", mechanism), topic, 3) == [b"v0", b"v1", b"v2"]


def test_each_listener_advertises_itself(stack: Stack) -> None:
    for name, config in (("SASL_SSL", _sasl_ssl(stack, "bob")), ("SSL", _mtls(stack, "bob"))):
        metadata = AdminClient(config).list_topics(timeout=20)
        assert [(b.host, b.port) for b in metadata.brokers.values()] == [
            ("127.0.0.1", stack.port(name))
        ]
    with RawClient(stack.port("PLAINTEXT")) as client:
        request = load_request_schema(3, 9)(
            topics=None,
            allow_auto_topic_creation=False,
            include_cluster_authorized_operations=False,
            include_topic_authorized_operations=False,
        )
        [broker] = client.call(request).brokers
        assert (broker.host, broker.port) == ("127.0.0.1", stack.port("PLAINTEXT"))


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"])
def test_kafka_python_over_sasl_ssl(stack: Stack, mechanism: str) -> None:
    topic = _topic(stack, "kafka-python")

    def config(user: str) -> dict[str, Any]:
        return {
            "bootstrap_servers": stack.bootstrap("SASL_SSL"),
            "security_protocol": "SASL_SSL",
            "ssl_cafile": str(stack.pki.ca),
            "sasl_mechanism": mechanism,
            "sasl_plain_username": user,
            "sasl_plain_password": PASSWORDS[user],
        }

    assert kafka_python_round_trip(topic, config("dave"), config("bob")) == VALUES


@pytest.mark.parametrize("mechanism", ["PLAIN", "SCRAM-SHA-512"])
def test_aiokafka_over_sasl_ssl(stack: Stack, mechanism: str) -> None:
    from aiokafka.helpers import create_ssl_context

    topic = _topic(stack, "aiokafka")

    def config(user: str) -> dict[str, Any]:
        return {
            "bootstrap_servers": stack.bootstrap("SASL_SSL"),
            "security_protocol": "SASL_SSL",
            "ssl_context": create_ssl_context(cafile=str(stack.pki.ca)),
            "sasl_mechanism": mechanism,
            "sasl_plain_username": user,
            "sasl_plain_password": PASSWORDS[user],
        }

    assert aiokafka_round_trip(topic, config("dave"), config("bob")) == VALUES


def test_mtls_principal_follows_role_bindings(stack: Stack) -> None:
    topic = _topic(stack, "mtls")
    assert _produce(_mtls(stack, "alice"), topic, 2) == [None, None]  # alice owns orders-*
    assert _consume(_mtls(stack, "bob"), topic, 2) == [b"v0", b"v1"]  # bob reads, group bob-*
    [denied] = _produce(_mtls(stack, "mallory"), topic, 1)  # no bindings
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    [denied] = _produce(_mtls(stack, "bob"), topic, 1)  # DeveloperRead may not write
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


def test_kafka_python_over_ssl_with_client_certificates(stack: Stack) -> None:
    from kafka import KafkaProducer
    from kafka.errors import TopicAuthorizationFailedError

    topic = _topic(stack, "kafka-python-mtls")

    def config(user: str) -> dict[str, Any]:
        cert, key = stack.pki.client(user)
        return {
            "bootstrap_servers": stack.bootstrap("SSL"),
            "security_protocol": "SSL",
            "ssl_cafile": str(stack.pki.ca),
            "ssl_certfile": str(cert),
            "ssl_keyfile": str(key),
        }

    assert kafka_python_round_trip(topic, config("alice"), config("bob")) == VALUES
    denied = KafkaProducer(**config("mallory"), max_block_ms=10000)
    with pytest.raises(TopicAuthorizationFailedError):
        denied.send(topic, b"x").get(timeout=30)
    denied.close()


def test_aiokafka_over_ssl_with_client_certificates(stack: Stack) -> None:
    from aiokafka.helpers import create_ssl_context

    topic = _topic(stack, "aiokafka-mtls")

    def config(user: str) -> dict[str, Any]:
        cert, key = stack.pki.client(user)
        context = create_ssl_context(cafile=str(stack.pki.ca), certfile=str(cert), keyfile=str(key))
        return {
            "bootstrap_servers": stack.bootstrap("SSL"),
            "security_protocol": "SSL",
            "ssl_context": context,
        }

    assert aiokafka_round_trip(topic, config("alice"), config("bob")) == VALUES


def _tls_socket(stack: Stack, cert: Path | None = None, key: Path | None = None) -> ssl.SSLSocket:
    context = ssl.create_default_context(cafile=str(stack.pki.ca))
    if cert is not None:
        context.load_cert_chain(str(cert), str(key))
    raw = socket.create_connection(("127.0.0.1", stack.port("SSL")), timeout=15)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def test_untrusted_client_certificate_is_refused(stack: Stack) -> None:
    directory = stack.pki.directory
    rogue = {
        **_mtls(stack, "alice"),
        "ssl.certificate.location": str(directory / "rogue-alice.pem"),
        "ssl.key.location": str(directory / "rogue-alice-key.pem"),
    }
    with pytest.raises(KafkaException):
        AdminClient(rogue).list_topics(timeout=5)
    assert AdminClient(_mtls(stack, "alice")).list_topics(timeout=20).brokers  # the control


def test_no_client_certificate_is_anonymous(stack: Stack) -> None:
    topic = _topic(stack, "anonymous")
    config = _mtls(stack, "bob")
    del config["ssl.certificate.location"], config["ssl.key.location"]
    [denied] = _produce(config, topic, 1)
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    public = f"public-{uuid.uuid4().hex[:6]}"
    stack.broker.create_topic(public)
    assert _produce(config, public, 1) == [None]  # what User:ANONYMOUS is bound to


def test_plaintext_listener_clients_are_anonymous(stack: Stack) -> None:
    plaintext = {"bootstrap.servers": stack.bootstrap("PLAINTEXT")}
    [denied] = _produce(plaintext, _topic(stack, "plaintext"), 1)
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED
    public = f"public-{uuid.uuid4().hex[:6]}"
    stack.broker.create_topic(public)
    assert _produce(plaintext, public, 2) == [None, None]
    assert _consume(plaintext, public, 2, group="public-readers") == [b"v0", b"v1"]


@pytest.mark.parametrize("listener", ["SSL", "SASL_SSL"])
def test_garbage_tls_handshakes_never_hurt_the_listener(stack: Stack, listener: str) -> None:
    port = stack.port(listener)
    for garbage in (
        b"\x00" * 64,
        b"\x16\x03\x01\x00\x05hello",
        b"\x16\x03\x03\xff\xff" + b"\x01" * 300,
        bytes(range(256)) * 4,
        b"GET / HTTP/1.1\r\n\r\n",
    ):
        with socket.create_connection(("127.0.0.1", port), timeout=15) as raw:
            raw.sendall(garbage)
            raw.shutdown(socket.SHUT_WR)
            while raw.recv(4096):  # the server answers an alert at most, then closes
                pass
    with _tls_socket(stack) as sock:  # a plain TLS client still gets in after all of that
        assert sock.version() is not None
    topic = _topic(stack, "after-garbage")
    assert _produce(_sasl_ssl(stack, "dave"), topic, 1) == [None]


# -- OAUTHBEARER -----------------------------------------------------------------------------


def _oauth(stack: Stack, token: str, errors: list[Any]) -> dict[str, Any]:
    def token_callback(_config: str) -> tuple[str, float]:
        return token, time.time() + 600

    return {
        "bootstrap.servers": stack.bootstrap("SASL_SSL"),
        "security.protocol": "SASL_SSL",
        "ssl.ca.location": str(stack.pki.ca),
        "sasl.mechanism": "OAUTHBEARER",
        "oauth_cb": token_callback,
        "error_cb": errors.append,
    }


@pytest.mark.parametrize("alg", ["RS256", "ES256"])
def test_oauthbearer_good_token_produces(stack: Stack, alg: str) -> None:
    topic = _topic(stack, "oauth")
    key = stack.rsa if alg == "RS256" else stack.ec
    errors: list[Any] = []
    assert _produce(_oauth(stack, stack.token(key, alg), errors), topic, 2) == [None, None]
    assert errors == []


def _authentication_error(stack: Stack, token: str) -> str:
    errors: list[Any] = []
    producer = Producer({**_oauth(stack, token, errors), "message.timeout.ms": 3000})
    deadline = time.monotonic() + 30
    while not errors and time.monotonic() < deadline:
        producer.poll(0.2)
    producer.flush(0)
    assert errors, "no authentication error reported"
    assert errors[0].code() == KafkaError._AUTHENTICATION
    return errors[0].str()


def test_oauthbearer_bad_tokens_fail_with_a_clear_message(stack: Stack) -> None:
    stranger = RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})
    assert "signature does not verify" in _authentication_error(stack, stack.token(stranger))
    expired = stack.token(exp=int(time.time()) - 3600)
    assert "expired" in _authentication_error(stack, expired)
    assert "'aud'" in _authentication_error(stack, stack.token(aud="another-service"))


def test_oauthbearer_principal_follows_role_bindings(stack: Stack) -> None:
    topic = _topic(stack, "oauth-denied")
    errors: list[Any] = []
    [denied] = _produce(_oauth(stack, stack.token(sub="mallory"), errors), topic, 1)
    assert denied is not None and denied.code() == KafkaError.TOPIC_AUTHORIZATION_FAILED


# -- KIP-368 re-authentication ---------------------------------------------------------------


@pytest.fixture
def short_sessions(tmp_path: Path) -> Iterator[Stack]:
    """A second broker whose sessions last 2 s (connections.max.reauth.ms)."""
    running = Stack(tmp_path, sasl_session_lifetime_ms=2000)
    try:
        yield running
    finally:
        running.broker.stop()


@pytest.mark.parametrize("mechanism", ["SCRAM-SHA-256", "OAUTHBEARER"])
def test_clients_reauthenticate_before_the_session_ends(
    short_sessions: Stack, mechanism: str, caplog: pytest.LogCaptureFixture
) -> None:
    stack = short_sessions
    topic = _topic(stack, "reauth")
    errors: list[Any] = []
    if mechanism == "OAUTHBEARER":
        config = _oauth(stack, stack.token(), errors)
    else:
        config = {**_sasl_ssl(stack, "dave", mechanism), "error_cb": errors.append}
    producer = Producer({**config, "linger.ms": 0})
    delivered: list[Any] = []
    deadline = time.monotonic() + 7  # three session lifetimes
    while time.monotonic() < deadline:
        producer.produce(topic, value=b"x", on_delivery=lambda e, m: delivered.append(e))
        producer.flush(10)
        time.sleep(0.25)
    assert delivered and all(error is None for error in delivered)
    assert errors == []
    closed = [r for r in caplog.records if "session expired" in r.getMessage()]
    assert closed == []  # the client re-authenticated on its connection; none was cut


def test_kafka_python_and_aiokafka_with_oauthbearer(stack: Stack) -> None:
    from aiokafka import AIOKafkaProducer
    from aiokafka.abc import AbstractTokenProvider as AsyncTokenProvider
    from aiokafka.helpers import create_ssl_context
    from kafka import KafkaProducer
    from kafka.net.sasl.oauth import AbstractTokenProvider

    token = stack.token(stack.ec, "ES256")
    topic = _topic(stack, "oauth-python")

    class Tokens(AbstractTokenProvider):
        def token(self) -> str:
            return token

    producer = KafkaProducer(
        bootstrap_servers=stack.bootstrap("SASL_SSL"),
        security_protocol="SASL_SSL",
        ssl_cafile=str(stack.pki.ca),
        sasl_mechanism="OAUTHBEARER",
        sasl_oauth_token_provider=Tokens(),
    )
    producer.send(topic, b"kafka-python").get(timeout=30)
    producer.close()

    class AsyncTokens(AsyncTokenProvider):
        async def token(self) -> str:
            return token

    async def run() -> None:
        producer = AIOKafkaProducer(
            bootstrap_servers=stack.bootstrap("SASL_SSL"),
            security_protocol="SASL_SSL",
            ssl_context=create_ssl_context(cafile=str(stack.pki.ca)),
            sasl_mechanism="OAUTHBEARER",
            sasl_oauth_token_provider=AsyncTokens(),
        )
        await producer.start()
        try:
            await producer.send_and_wait(topic, b"aiokafka")
        finally:
            await producer.stop()

    asyncio.run(run())
    assert _consume(_sasl_ssl(stack, "bob"), topic, 2) == [b"kafka-python", b"aiokafka"]
