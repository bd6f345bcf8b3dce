"""Sans-io Kafka wire protocol: framing, request headers, typed request decoding, response encoding.

Nothing here touches a socket or an event loop (checked by import-linter), so it
is tested and fuzzed with plain byte strings.
"""

from broker.protocol.codec import (
    DecodedRequest,
    decode_request,
    encode_request,
    encode_response,
    known_versions,
    request_class,
    response_class,
)
from broker.protocol.entities import build, response_module
from broker.protocol.errors import (
    FrameTooLarge,
    InvalidFrame,
    MalformedRequest,
    ProtocolError,
    UnknownApiKey,
    UnsupportedApiVersion,
)
from broker.protocol.framing import (
    DEFAULT_MAX_REQUEST_BYTES,
    FrameDecoder,
    check_frame_size,
    encode_frame,
)
from broker.protocol.header import RequestHeader, parse_request_header

__all__ = [
    "DEFAULT_MAX_REQUEST_BYTES",
    "DecodedRequest",
    "FrameDecoder",
    "FrameTooLarge",
    "InvalidFrame",
    "MalformedRequest",
    "ProtocolError",
    "RequestHeader",
    "UnknownApiKey",
    "UnsupportedApiVersion",
    "build",
    "check_frame_size",
    "decode_request",
    "encode_frame",
    "encode_request",
    "encode_response",
    "known_versions",
    "parse_request_header",
    "request_class",
    "response_class",
    "response_module",
]
