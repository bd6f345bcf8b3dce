"""``resolve_references``: transitive, dependencies first, each once; cycles and depth refused."""

from __future__ import annotations

import json
from typing import Any

import pytest

from charter.sdk.codecs import build_codec
from charter.sdk.errors import ValidationError
from charter.sdk.references import MAX_REFERENCE_DEPTH, resolve_references


def ref(name: str, subject: str, version: Any = 1) -> dict[str, Any]:
    return {"name": name, "subject": subject, "version": version}


def fetcher(versions: dict[str, tuple[str, list[dict[str, Any]]]], calls: list[str]):
    def fetch(subject: str, version: Any):
        calls.append(subject)
        text, references = versions[subject]
        return text, tuple(references), 1 if version == "latest" else version

    return fetch


def test_diamond_is_flattened_dependencies_first_each_once():
    versions = {
        "a": ("A", [ref("B", "b"), ref("C", "c")]),
        "b": ("B", [ref("D", "d")]),
        "c": ("C", [ref("D", "d")]),
        "d": ("D", []),
    }
    calls: list[str] = []
    resolved = resolve_references([ref("A", "a", "latest")], fetcher(versions, calls))
    assert [(r.name, r.subject, r.version, r.schema_str) for r in resolved] == [
        ("D", "d", 1, "D"),
        ("B", "b", 1, "B"),
        ("C", "c", 1, "C"),
        ("A", "a", 1, "A"),
    ]
    assert sorted(calls) == ["a", "b", "c", "d"]  # each version fetched once


def test_a_cycle_is_refused():
    versions = {"a": ("A", [ref("B", "b")]), "b": ("B", [ref("A", "a")])}
    with pytest.raises(ValidationError, match="cycle through a:1"):
        resolve_references([ref("A", "a")], fetcher(versions, []))


def test_a_chain_deeper_than_the_limit_is_refused():
    count = MAX_REFERENCE_DEPTH + 5
    versions = {f"s{n}": (f"S{n}", [ref(f"S{n + 1}", f"s{n + 1}")]) for n in range(count)}
    versions[f"s{count}"] = ("end", [])
    with pytest.raises(ValidationError, match="nest deeper"):
        resolve_references([ref("S0", "s0")], fetcher(versions, []))


def test_a_reference_without_a_subject_is_refused():
    with pytest.raises(ValidationError, match="needs name, subject and version"):
        resolve_references([{"name": "x"}], fetcher({}, []))


def test_avro_codec_with_a_referenced_named_type_round_trips():
    address = {"type": "record", "name": "Address", "fields": [{"name": "zip", "type": "string"}]}
    root = {"type": "record", "name": "Customer", "fields": [{"name": "home", "type": "Address"}]}
    references = resolve_references(
        [ref("Address", "addr")], fetcher({"addr": (json.dumps(address), [])}, [])
    )
    codec = build_codec(7, "AVRO", json.dumps(root), references)
    framed = codec.encode({"home": {"zip": "69001"}})
    assert framed[:5] == b"\x00\x00\x00\x00\x07"
    assert codec.decode(framed[5:]) == {"home": {"zip": "69001"}}
    with pytest.raises(ValidationError) as refused:
        codec.encode({"home": {"zip": 1}})
    assert refused.value.path == "#/home/zip"
    with pytest.raises(ValidationError, match="cannot be used"):
        build_codec(7, "AVRO", json.dumps(root))  # without its reference: Address is unknown
