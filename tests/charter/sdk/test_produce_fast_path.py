"""Producer.produce's common case (the native Dispatcher) answers as the Python path does."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

from charter import Producer, ValidationError
from charter.sdk import avro_program
from charter.sdk.registry_client import SchemaRegistryClient

pytest.importorskip("charter.sdk._avro_encode", reason="native extension not built")

SCHEMA = {
    "type": "record",
    "name": "Order",
    "fields": [{"name": "id", "type": "long"}, {"name": "note", "type": "string"}],
}
FRAMED = b"\x00\x00\x00\x00\x07" + b"\x02\x02x"  # schema id 7, id=1, note="x"


class Owner:
    """Stands for a Producer: records what the general path and the waiting send were given."""

    def __init__(self) -> None:
        self.general_calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
        self.waited: list[tuple[Any, ...]] = []

    def general(
        self,
        topic: str,
        value: Any,
        key: Any = None,
        schema: Any = None,
        headers: Any = None,
        on_delivery: Any = None,
        *,
        key_schema: Any = None,
        partition: Any = None,
        timestamp: Any = None,
    ) -> str:
        self.general_calls.append(((topic, value, key, schema, headers, on_delivery), {}))
        return "general"

    def wait(self, topic: str, framed: bytes, key: Any) -> None:
        self.waited.append((topic, framed, key))


def dispatcher(owner: Owner, fast: dict[str, Any], send: Any) -> Any:
    produce = avro_program.produce_dispatcher(fast, send, owner, Owner.general, Owner.wait)
    assert produce is not None
    return produce


def encode_x(value: Any) -> bytes | None:
    return b"framed" if value.get("ok", True) else None


def test_the_common_case_sends_the_encoded_bytes_and_nothing_else() -> None:
    owner, sent = Owner(), []
    produce = dispatcher(owner, {"t": (SCHEMA, encode_x)}, lambda *a: sent.append(a))
    assert produce("t", {"id": 1}, schema=SCHEMA) is None
    produce("t", {"id": 1}, "k", SCHEMA)
    produce("t", {"id": 1}, key=b"k", schema=SCHEMA, headers=None, on_delivery=None)
    produce("t", {"id": 1}, None, SCHEMA, None, None, partition=None, timestamp=None)
    assert sent == [
        ("t", b"framed"),
        ("t", b"framed", b"k"),
        ("t", b"framed", b"k"),
        ("t", b"framed"),
    ]
    assert owner.general_calls == []


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (("t", {"id": 1}), {"schema": dict(SCHEMA)}),  # an equal schema that is another object
        (("t", {"id": 1}), {}),  # schema None: not the cached one
        (("u", {"id": 1}), {"schema": SCHEMA}),  # a topic not cached
        (("t", [1]), {"schema": SCHEMA}),
        (("t", None), {"schema": SCHEMA}),
        (("t", {"ok": False}), {"schema": SCHEMA}),  # the encoder declines
        (("t", {"id": 1}), {"schema": SCHEMA, "headers": {"h": b"1"}}),
        (("t", {"id": 1}), {"schema": SCHEMA, "on_delivery": print}),
        (("t", {"id": 1}), {"schema": SCHEMA, "partition": 0}),
        (("t", {"id": 1}), {"schema": SCHEMA, "timestamp": 5}),
        (("t", {"id": 1}), {"schema": SCHEMA, "key_schema": "string"}),
        (("t", {"id": 1}, None, SCHEMA, [("h", b"1")]), {}),
        (("t", {"id": 1}, "\udc80", SCHEMA), {}),  # a key UTF-8 cannot write
        ((["unhashable"], {"id": 1}), {"schema": SCHEMA}),
    ],
)
def test_everything_else_goes_to_the_general_path(
    args: tuple[Any, ...], kwargs: dict[str, Any]
) -> None:
    owner, sent = Owner(), []
    produce = dispatcher(owner, {"t": (SCHEMA, encode_x)}, lambda *a: sent.append(a))
    assert produce(*args, **kwargs) == "general"
    assert sent == []
    assert len(owner.general_calls) == 1


def test_a_dict_subclass_goes_to_the_general_path() -> None:
    class Record(dict):  # type: ignore[type-arg]
        pass

    owner = Owner()
    produce = dispatcher(owner, {"t": (SCHEMA, encode_x)}, lambda *a: None)
    assert produce("t", Record(id=1), schema=SCHEMA) == "general"


def test_bad_calls_raise_as_the_python_signature_does() -> None:
    owner = Owner()
    produce = dispatcher(owner, {"t": (SCHEMA, encode_x)}, lambda *a: None)
    with pytest.raises(TypeError):
        produce("t", {"id": 1}, b"k", key=b"k")
    with pytest.raises(TypeError):
        produce("t", {"id": 1}, None, SCHEMA, schema=SCHEMA)
    with pytest.raises(TypeError):
        produce("t", {"id": 1}, schema=SCHEMA, colour="red")
    with pytest.raises(TypeError):
        produce("t")


def test_a_full_queue_waits_and_other_errors_propagate() -> None:
    owner = Owner()

    def full(*args: Any) -> None:
        raise BufferError("queue full")

    produce = dispatcher(owner, {"t": (SCHEMA, encode_x)}, full)
    produce("t", {"id": 1}, "k", schema=SCHEMA)
    assert owner.waited == [("t", b"framed", b"k")]

    def broken(*args: Any) -> None:
        raise RuntimeError("librdkafka says no")

    produce = dispatcher(owner, {"t": (SCHEMA, encode_x)}, broken)
    with pytest.raises(RuntimeError, match="says no"):
        produce("t", {"id": 1}, schema=SCHEMA)


def test_the_dispatcher_does_not_keep_its_owner_alive() -> None:
    owner = Owner()
    produce = dispatcher(owner, {}, lambda *a: None)
    del owner
    with pytest.raises(ReferenceError):
        produce("t", {"id": 1})


class FakeRegistry(SchemaRegistryClient):
    """Answers register and lookup for one schema (id 7) without a server."""

    def __init__(self) -> None:
        super().__init__("http://127.0.0.1:1")

    def call(self, method: str, path: str, body: Any = None) -> Any:
        if path.endswith("/versions"):
            return {"id": 7}
        return {"subject": "orders-value", "id": 7, "version": 1, "schema": body["schema"]}


@pytest.fixture()
def producer() -> Any:
    sdk = Producer("127.0.0.1:1", registry=FakeRegistry(), message_timeout_ms=1000)
    yield sdk
    sdk._producer.purge()


def test_a_producer_writes_valid_records_and_refuses_bad_ones(producer: Producer) -> None:
    producer.produce("orders", {"id": 1, "note": "x"}, schema=SCHEMA)  # resolves, caches
    assert producer._value_bytes("orders", {"id": 1, "note": "x"}, SCHEMA) == FRAMED
    producer.produce("orders", {"id": 1, "note": "x"}, "key", SCHEMA)  # the common case
    with pytest.raises(ValidationError) as refused:
        producer.produce("orders", {"id": 2**63, "note": "x"}, schema=SCHEMA)
    assert refused.value.path == "#/id"
    with pytest.raises(ValidationError) as refused:
        producer.produce("orders", {"id": 1, "note": "x", "extra": 1}, schema=SCHEMA)
    assert refused.value.path == "#/extra"
    producer.produce("orders", None, "key", SCHEMA)  # a tombstone


def test_a_dropped_producer_is_freed_at_once() -> None:
    sdk = Producer("127.0.0.1:1", registry=FakeRegistry())
    freed = weakref.ref(sdk)
    gc.disable()
    try:
        del sdk
        assert freed() is None
    finally:
        gc.enable()


def test_a_subclass_overriding_produce_keeps_its_own() -> None:
    class Counting(Producer):
        calls = 0

        def produce(self, *args: Any, **kwargs: Any) -> None:
            type(self).calls += 1

    sdk = Counting("127.0.0.1:1", registry=FakeRegistry())
    sdk.produce("orders", {"id": 1, "note": "x"}, schema=SCHEMA)
    assert Counting.calls == 1
