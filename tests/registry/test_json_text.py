"""Request body encodings detected as Jackson detects them (RFC 4627 §3), in ``registry.json_text``."""

from __future__ import annotations

import codecs
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.json_text import UndecodableBody, decode_json_bytes, detect_encoding

ENCODINGS = ["utf-8", "utf-16-be", "utf-16-le", "utf-32-be", "utf-32-le"]
MARKS = {
    "utf-8": codecs.BOM_UTF8,
    "utf-16-be": codecs.BOM_UTF16_BE,
    "utf-16-le": codecs.BOM_UTF16_LE,
    "utf-32-be": codecs.BOM_UTF32_BE,
    "utf-32-le": codecs.BOM_UTF32_LE,
}

json_scalars = st.none() | st.booleans() | st.integers() | st.text()
json_objects = st.dictionaries(
    st.text(max_size=8),
    st.recursive(
        json_scalars,
        lambda children: (
            st.lists(children, max_size=3)
            | st.dictionaries(st.text(max_size=8), children, max_size=3)
        ),
        max_leaves=8,
    ),
    max_size=4,
)


@given(
    document=json_objects,
    encoding=st.sampled_from(ENCODINGS),
    with_mark=st.booleans(),
    indent=st.sampled_from([None, 2]),
)
def test_every_unicode_encoding_round_trips(
    document: dict, encoding: str, with_mark: bool, indent: int | None
) -> None:
    text = json.dumps(document, ensure_ascii=False, indent=indent)
    body = (MARKS[encoding] if with_mark else b"") + text.encode(encoding)
    assert decode_json_bytes(body) == text


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b"", ("utf-8", 0)),
        (b"{", ("utf-8", 0)),
        (b"{}", ("utf-8", 0)),
        (b"\xef\xbb\xbf{}", ("utf-8", 3)),
        (b"\x00{", ("utf-16-be", 0)),
        (b"{\x00", ("utf-16-le", 0)),
        (b"\xfe\xff\x00{", ("utf-16-be", 2)),
        (b"\xff\xfe{\x00", ("utf-16-le", 2)),
        (b"\x00\x00\x00{", ("utf-32-be", 0)),
        (b"{\x00\x00\x00", ("utf-32-le", 0)),
        (b"\x00\x00\xfe\xff\x00\x00\x00{", ("utf-32-be", 4)),
        (b"\xff\xfe\x00\x00{\x00\x00\x00", ("utf-32-le", 4)),
        # a mark is only looked for in four bytes or more, as in Jackson
        (b"\xfe\xff", ("utf-8", 0)),
    ],
)
def test_detection_follows_jackson(body: bytes, expected: tuple[str, int]) -> None:
    assert detect_encoding(body) == expected


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"\x00\x00\xff\xfe", "2143"),  # UCS-4 marks in the unusual orders
        (b"\xfe\xff\x00\x00", "3412"),
        (b"\x00{\x00\x00", "3412"),
        (b"\x00\x00{\x00", "2143"),
        (b"\xff\xfe\x00\xd8", "UTF-16-LE"),  # a lone high surrogate
        (b"\x00\x00\x00{\x00\x00\xd8\x00", "UTF-32-BE"),  # a surrogate code point
        (b"\x00\x11\x00\x00", "3412"),
        (b"{\x00\x00\x00\x00\x00\x11\x00", "UTF-32-LE"),  # beyond U+10FFFF
        (b'{"a": "\xff"}', "UTF-8"),
        (b"\x00{\x00", "UTF-16-BE"),  # truncated
    ],
)
def test_undecodable_bodies_are_refused_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(UndecodableBody, match=reason):
        decode_json_bytes(body)
