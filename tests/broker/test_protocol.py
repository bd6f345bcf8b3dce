"""Sans-io codec tests: framing, headers, request/response round trips, and fuzzed frames."""

from __future__ import annotations

import contextlib
import datetime
import struct
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kio.schema.errors import ErrorCode
from kio.serial import entity_reader
from kio.static.primitive import Records, i64Timedelta

from broker.handlers import build_handler_table
from broker.protocol import (
    FrameDecoder,
    FrameTooLarge,
    InvalidFrame,
    MalformedRequest,
    ProtocolError,
    UnknownApiKey,
    UnsupportedApiVersion,
    build,
    decode_request,
    encode_frame,
    encode_request,
    encode_response,
    parse_request_header,
    request_class,
    response_class,
)

TABLE = build_handler_table()
SAMPLED_KEYS = frozenset({0, 1, 2, 3, 17, 18, 22, 36, 60})  # the data-path APIs of this module
ADVERTISED = sorted(
    (handler.api_key, version)
    for handler in TABLE.values()
    for version in range(handler.min_version, handler.max_version + 1)
)
DATA_PATH = [entry for entry in ADVERTISED if entry[0] in SAMPLED_KEYS]


def _decode_response(frame: bytes, api_key: int, api_version: int):
    """Split a size-prefixed response frame into (correlation id, typed body)."""
    (size,) = struct.unpack_from(">i", frame)
    assert size == len(frame) - 4
    (correlation_id,) = struct.unpack_from(">i", frame, 4)
    cls = response_class(api_key, api_version)
    offset = 8
    if cls.__flexible__ and api_key != 18:
        assert frame[offset] == 0  # empty tagged fields of response header v1
        offset += 1
    body, used = entity_reader(cls)(frame, offset)
    assert offset + used == len(frame)
    return correlation_id, body


def test_frame_decoder_splits_and_joins_chunks() -> None:
    frames = [b"a" * 12, b"b" * 30, b"c" * 10]
    stream = b"".join(encode_frame(frame) for frame in frames)
    decoder = FrameDecoder(max_bytes=100)
    received = []
    for index in range(0, len(stream), 7):
        received += decoder.feed(stream[index : index + 7])
    assert received == frames
    assert decoder.buffered == 0


def test_frame_decoder_rejects_oversized_and_negative_sizes() -> None:
    with pytest.raises(FrameTooLarge) as info:
        FrameDecoder(max_bytes=100).feed(struct.pack(">i", 101))
    assert info.value.size == 101 and info.value.limit == 100
    with pytest.raises(InvalidFrame):
        FrameDecoder().feed(struct.pack(">i", -5))
    with pytest.raises(InvalidFrame):
        FrameDecoder().feed(struct.pack(">i", 3))


def test_request_header_v1_and_v2() -> None:
    frame = struct.pack(">hhih", 3, 12, 77, 3) + b"cli" + b"\x01\x05\x02hi" + b"body"
    header, offset = parse_request_header(frame, flexible=True)
    assert (header.api_key, header.api_version, header.correlation_id) == (3, 12, 77)
    assert header.client_id == "cli"
    assert frame[offset:] == b"body"
    header, offset = parse_request_header(struct.pack(">hhih", 0, 3, 1, -1) + b"x", flexible=False)
    assert header.client_id is None and offset == 10


@pytest.mark.parametrize(
    "frame",
    [
        struct.pack(">hhih", 3, 1, 1, 50) + b"short",
        struct.pack(">hhih", 3, 1, 1, -7),
        struct.pack(">hhih", 3, 12, 1, 0) + b"\x01\x01\x7f",
        struct.pack(">hhih", 3, 1, 1, 2) + b"\xff\xfe",
    ],
)
def test_bad_headers_raise_malformed_request(frame: bytes) -> None:
    with pytest.raises(MalformedRequest):
        decode_request(frame)


def test_unknown_api_key_and_unsupported_version() -> None:
    with pytest.raises(UnknownApiKey):
        decode_request(struct.pack(">hhih", 9999, 0, 1, -1))
    with pytest.raises(UnsupportedApiVersion) as info:
        decode_request(struct.pack(">hhih", 18, 99, 5, 1) + b"x")
    assert info.value.header.correlation_id == 5  # type: ignore[attr-defined]


def test_trailing_bytes_are_ignored_as_in_kafka() -> None:
    request = request_class(3, 1)(topics=None)
    frame = encode_request(request, correlation_id=1)[4:] + b"junk"
    assert decode_request(frame).body == request


def test_librdkafka_all_topics_metadata_v12_decodes() -> None:
    # Captured from confluent-kafka 2.16 (librdkafka 2.16) AdminClient.list_topics():
    # header v2, then a null topics array as varint 0 followed by the three stale
    # bytes of librdkafka's four-byte array-count placeholder.
    frame = bytes.fromhex("0003000c00000003000772646b61666b610000000000010000")
    decoded = decode_request(frame)
    assert decoded.header.correlation_id == 3
    assert decoded.header.client_id == "rdkafka"
    assert decoded.body.topics is None


def test_api_versions_response_lists_every_handler_in_header_v0() -> None:
    from broker.handlers.api_versions import api_versions_response

    header = decode_request(
        encode_request(
            request_class(18, 3)(client_software_name="t", client_software_version="1"), 9
        )[4:]
    ).header
    frame = encode_response(header, api_versions_response(TABLE, 3))
    correlation_id, body = _decode_response(frame, 18, 3)
    assert correlation_id == 9
    assert body.error_code == ErrorCode.none
    listed = {entry.api_key: (entry.min_version, entry.max_version) for entry in body.api_keys}
    assert listed == {h.api_key: (h.min_version, h.max_version) for h in TABLE.values()}


def test_advertised_versions_are_within_the_codec() -> None:
    for api_key, version in ADVERTISED:
        request_class(api_key, version)
        response_class(api_key, version)


def _sample_request(api_key: int, version: int):
    """A representative request of every advertised API, built version-tolerantly."""
    module = __import__(request_class(api_key, version).__module__, fromlist=["x"])
    cls = request_class(api_key, version)
    if api_key == 0:
        partition = build(module.PartitionProduceData, index=1, records=b"\x00" * 70)
        topic = build(module.TopicProduceData, name="orders", partition_data=(partition,))
        return build(
            cls,
            transactional_id=None,
            acks=-1,
            timeout=datetime.timedelta(seconds=3),
            topic_data=(topic,),
        )
    if api_key == 1:
        partition = build(
            module.FetchPartition,
            partition=0,
            current_leader_epoch=-1,
            fetch_offset=42,
            last_fetched_epoch=-1,
            log_start_offset=-1,
            partition_max_bytes=1 << 20,
        )
        return build(
            cls,
            replica_id=-1,
            max_wait=datetime.timedelta(milliseconds=500),
            min_bytes=1,
            max_bytes=50 << 20,
            isolation_level=1,
            session_id=0,
            session_epoch=-1,
            topics=(
                build(
                    module.FetchTopic,
                    topic="orders",
                    topic_id=uuid.UUID(int=7),
                    partitions=(partition,),
                ),
            ),
            forgotten_topics_data=(),
            rack_id="",
        )
    if api_key == 2:
        partition = build(
            module.ListOffsetsPartition,
            partition_index=0,
            current_leader_epoch=-1,
            timestamp=-2,
            max_num_offsets=1,
        )
        return build(
            cls,
            replica_id=-1,
            isolation_level=0,
            topics=(build(module.ListOffsetsTopic, name="orders", partitions=(partition,)),),
        )
    if api_key == 3:
        topic = build(
            module.MetadataRequestTopic, topic_id=None, name="orders"
        )  # zero UUID reads as None
        return build(
            cls,
            topics=(topic,),
            allow_auto_topic_creation=True,
            include_cluster_authorized_operations=False,
            include_topic_authorized_operations=False,
        )
    if api_key == 17:
        return build(cls, mechanism="PLAIN")
    if api_key == 18:
        return build(cls, client_software_name="charter-test", client_software_version="1.0")
    if api_key == 22:
        return build(
            cls,
            transactional_id=None,
            transaction_timeout=datetime.timedelta(seconds=60),
            producer_id=-1,
            producer_epoch=-1,
        )
    if api_key == 36:
        return build(cls, auth_bytes=b"\x00user\x00pass")
    if api_key == 60:
        return build(cls, include_cluster_authorized_operations=False, endpoint_type=1)
    raise AssertionError(f"no sample for API key {api_key}")


@pytest.mark.parametrize(("api_key", "version"), DATA_PATH)
def test_sample_request_round_trip(api_key: int, version: int) -> None:
    request = _sample_request(api_key, version)
    frame = encode_request(request, correlation_id=1234, client_id="rt")
    decoded = decode_request(frame[4:])
    assert decoded.header.api_key == api_key
    assert decoded.header.api_version == version
    assert decoded.header.correlation_id == 1234
    assert decoded.header.client_id == "rt"
    assert decoded.body == request


st.register_type_strategy(Records, st.binary(max_size=100).map(Records.parse))
# Durations travel as int64 milliseconds; kio writes any timedelta but reads back only
# those Python can represent, so keep generated ones within a century.
st.register_type_strategy(
    i64Timedelta,
    st.integers(min_value=0, max_value=100 * 365 * 86_400_000).map(
        lambda ms: i64Timedelta.parse(datetime.timedelta(milliseconds=ms))
    ),
)


@pytest.mark.parametrize(("api_key", "version"), DATA_PATH)
@given(data=st.data())
@settings(max_examples=4, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_request_and_response_round_trips(
    api_key: int, version: int, data: st.DataObject
) -> None:
    request = data.draw(st.from_type(request_class(api_key, version)))
    decoded = decode_request(encode_request(request, correlation_id=5, client_id=None)[4:])
    assert decoded.body == request and decoded.header.client_id is None
    response = data.draw(st.from_type(response_class(api_key, version)))
    frame = encode_response(decoded.header, response)
    assert _decode_response(frame, api_key, version) == (5, response)


@given(st.binary(max_size=300))
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_random_frames_raise_only_protocol_errors(frame: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_request(frame)


@st.composite
def _mutated_frames(draw: st.DrawFn) -> bytes:
    api_key, version = draw(st.sampled_from(DATA_PATH))
    frame = bytearray(encode_request(_sample_request(api_key, version), correlation_id=7)[4:])
    for _ in range(draw(st.integers(1, 4))):
        position = draw(st.integers(0, len(frame) - 1))
        frame[position] = draw(st.integers(0, 255))
    if draw(st.booleans()):
        frame = frame[: draw(st.integers(0, len(frame)))]
    return bytes(frame)


@given(_mutated_frames())
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_mutated_valid_frames_raise_only_protocol_errors(frame: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        decode_request(frame)
