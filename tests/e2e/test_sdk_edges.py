"""Edges of the SDK's contract a Kafka user relies on, against ``charter up``: a schema literal
registers once, ``commit()`` with nothing consumed, ``topics="name"``, describing a missing topic."""

from __future__ import annotations

import datetime
import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from charter import Consumer, Producer, SchemaRegistryClient, ValidationError
from charter.cli import main
from charter.sdk import CharterError, Schema, create_governed_topic
from charter.sdk.admin import describe_topic, list_topics
from tests.charter.processes import CharterProcess, running_up


@pytest.fixture(scope="module")
def charter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CharterProcess]:
    with running_up(tmp_path_factory.mktemp("sdk-edges") / "data") as process:
        yield process


def _topic() -> str:
    return f"edges-{uuid.uuid4().hex[:8]}"


def test_a_schema_literal_in_each_call_registers_once(charter: CharterProcess):
    topic = _topic()
    with Producer(charter.bootstrap, charter.url) as producer:
        subjects: list[str] = []
        register = producer.registry.register

        def counted(subject: str, *args: Any, **kwargs: Any) -> int:
            subjects.append(subject)
            return register(subject, *args, **kwargs)

        producer.registry.register = counted  # type: ignore[method-assign]
        for number in range(3):
            schema = {"type": "record", "name": "E", "fields": [{"name": "n", "type": "long"}]}
            producer.produce(topic, {"n": number}, schema=schema)
        assert producer.flush(10) == 0
    assert subjects == [f"{topic}-value"]


def test_commit_with_nothing_consumed_and_a_topic_given_as_a_name(charter: CharterProcess):
    topic = _topic()
    with Producer(charter.bootstrap, charter.url) as producer:
        producer.produce(
            topic,
            {"n": 1},
            schema={"type": "record", "name": "E", "fields": [{"name": "n", "type": "long"}]},
        )
    with Consumer(
        charter.bootstrap,
        charter.url,
        group_id=f"g-{topic}",
        topics=topic,
        auto_offset_reset="earliest",
    ) as consumer:
        consumer.commit()  # nothing consumed yet: nothing to commit, as Kafka's commitSync
        message = consumer.poll(15)
        assert message is not None and message.topic == topic and message.value == {"n": 1}
        consumer.commit()
    with Consumer(charter.bootstrap, charter.url, topics=topic, auto_offset_reset="earliest") as c:
        message = c.poll(15)
        assert message is not None and message.topic == topic


def test_describing_a_missing_topic_does_not_create_it(charter: CharterProcess):
    topic = _topic()
    with pytest.raises(CharterError, match=f"topic '{topic}' does not exist"):
        describe_topic(charter.bootstrap, topic)
    assert topic not in {info.name for info in list_topics(charter.bootstrap)}


def test_a_key_that_does_not_fit_its_schema_says_it_is_the_key(charter: CharterProcess):
    key_schema = {"type": "record", "name": "K", "fields": [{"name": "id", "type": "int"}]}
    with Producer(charter.bootstrap, charter.url) as producer:
        with pytest.raises(ValidationError) as raised:
            producer.produce(
                _topic(), "v", key={"id": "x"}, schema='"string"', key_schema=key_schema
            )
        assert len(producer) == 0
    assert raised.value.path == "#/id"
    assert str(raised.value).startswith("key #/id: expected int")


def test_a_bad_validation_mode_registers_nothing(charter: CharterProcess):
    topic = _topic()
    schema = {"type": "record", "name": "E", "fields": [{"name": "n", "type": "long"}]}
    with pytest.raises(ValueError, match="validation must be one of"):
        create_governed_topic(charter.bootstrap, charter.url, topic, schema, validation="strict")
    assert SchemaRegistryClient(charter.url).subjects(topic) == []


def test_a_group_waits_for_a_topic_created_after_it_subscribed(charter: CharterProcess):
    topic = _topic()
    schema = {"type": "record", "name": "E", "fields": [{"name": "n", "type": "long"}]}
    with Consumer(
        charter.bootstrap,
        charter.url,
        group_id=f"g-{topic}",
        topics=[topic],
        auto_offset_reset="earliest",
    ) as consumer:
        assert consumer.poll(1) is None  # the topic is not there yet: no error, nothing
        with Producer(charter.bootstrap, charter.url) as producer:
            producer.produce(topic, {"n": 1}, schema=schema)
        deadline = time.monotonic() + 30
        message = None
        while message is None and time.monotonic() < deadline:
            message = consumer.poll(1)
        assert message is not None and message.value == {"n": 1}


def test_consume_with_a_group_commits_what_it_printed_when_interrupted(
    charter: CharterProcess, monkeypatch: pytest.MonkeyPatch
):
    topic, group = _topic(), f"g-{uuid.uuid4().hex[:8]}"
    schema = {"type": "record", "name": "E", "fields": [{"name": "n", "type": "long"}]}
    with Producer(charter.bootstrap, charter.url) as producer:
        for number in (1, 2):
            producer.produce(topic, {"n": number}, schema=schema)
    polls = 0
    real_poll = Consumer.poll

    def poll_then_ctrl_c(self: Consumer, timeout: float = 1.0) -> Any:
        nonlocal polls
        polls += 1
        if polls > 1:
            raise KeyboardInterrupt
        return real_poll(self, 15)

    args = ["--bootstrap-server", charter.bootstrap, "--registry-url", charter.url, "consume"]
    args += [topic, "--group", group, "--from-beginning"]
    with monkeypatch.context() as patch:
        patch.setattr(Consumer, "poll", poll_then_ctrl_c)
        first = CliRunner().invoke(main, args)
    assert first.exit_code == 0 and first.output == '{"n": 1}\n'
    second = CliRunner().invoke(main, [*args, "--max-messages", "1", "--timeout", "15"])
    assert second.exit_code == 0 and second.output == '{"n": 2}\n'


def test_what_consume_prints_produce_reads_back(charter: CharterProcess, tmp_path: Path):
    schema = {
        "type": "record",
        "name": "Blob",
        "fields": [
            {"name": "at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
            {"name": "data", "type": "bytes"},
        ],
    }
    value = {"at": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.UTC), "data": b"\x00\xff"}
    source, copy = _topic(), _topic()
    with Producer(charter.bootstrap, charter.url) as producer:
        producer.produce(source, value, schema=schema)
    prefix = ["--bootstrap-server", charter.bootstrap, "--registry-url", charter.url]
    printed = CliRunner().invoke(
        main, [*prefix, "consume", source, "--from-beginning", "--max-messages", "1"]
    )
    assert printed.exit_code == 0, printed.output
    schema_file = tmp_path / "blob.avsc"
    schema_file.write_text(json.dumps(schema))
    produced = CliRunner().invoke(
        main, [*prefix, "produce", copy, "--schema-file", str(schema_file)], input=printed.output
    )
    assert produced.exit_code == 0, produced.output
    with Consumer(charter.bootstrap, charter.url, topics=[copy], auto_offset_reset="earliest") as c:
        message = c.poll(15)
    assert message is not None and message.value == value


def _cli_options(charter: CharterProcess) -> list[str]:
    return ["--bootstrap-server", charter.bootstrap, "--registry-url", charter.url]


def _dead_letter_topic(charter: CharterProcess, topic: str, validation: str) -> str:
    """``<topic>-dlq`` created through the CLI with value validation ``validation``."""
    created = CliRunner().invoke(
        main,
        [*_cli_options(charter), "topic", "create", f"{topic}-dlq", "--validation", validation],
    )
    assert created.exit_code == 0, created.output
    return f"{topic}-dlq"


def _unframed_record(charter: CharterProcess) -> str:
    """A new topic holding one record that no schema decodes (no Confluent framing)."""
    import confluent_kafka

    topic = _topic()
    raw = confluent_kafka.Producer({"bootstrap.servers": charter.bootstrap})
    raw.produce(topic, b"not framed")
    assert raw.flush(30) == 0
    return topic


def test_a_dead_letter_the_gate_refuses_stops_the_consumer_instead_of_vanishing(
    charter: CharterProcess,
):
    topic = _unframed_record(charter)
    _dead_letter_topic(charter, topic, "full")
    with Consumer(
        charter.bootstrap, charter.url, topics=topic, auto_offset_reset="earliest",
        on_error="dlq", dlq_topic=f"{topic}-dlq",
    ) as consumer:  # fmt: skip
        with pytest.raises(CharterError, match=f"dead-letter topic '{topic}-dlq'"):
            for _ in range(30):
                consumer.poll(1.0)
        assert consumer.skipped == 0  # not counted as handled


def test_a_rule_dead_letter_the_gate_refuses_is_a_validation_error(charter: CharterProcess):
    topic = _topic()
    document = {"type": "record", "name": "N", "fields": [{"name": "n", "type": "long"}]}
    rule = {
        "name": "small", "kind": "CONDITION", "type": "CEL", "mode": "WRITE",
        "expr": "message.n < 10", "onFailure": "DLQ", "params": {"dlq.topic": f"{topic}-dlq"},
    }  # fmt: skip
    registry = SchemaRegistryClient(charter.url)
    registry.register(
        f"{topic}-value", Schema(json.dumps(document), "AVRO", rule_set={"domainRules": [rule]})
    )
    _dead_letter_topic(charter, topic, "full")
    with Producer(charter.bootstrap, charter.url, auto_register=False) as producer:
        producer.produce(topic, {"n": 1})  # passes the rule: sent as usual
        with pytest.raises(ValidationError, match=f"dead-letter topic '{topic}-dlq' did not take"):
            producer.produce(topic, {"n": 50})


def test_charter_consume_forwards_an_undecodable_record_to_its_dead_letter_topic(
    charter: CharterProcess,
):
    import confluent_kafka

    topic = _unframed_record(charter)
    _dead_letter_topic(charter, topic, "none")
    runner = CliRunner()
    options = _cli_options(charter)
    alone = runner.invoke(main, [*options, "consume", topic, "--on-error", "dlq"])
    assert alone.exit_code == 2 and "--dlq-topic" in alone.output
    consumed = runner.invoke(
        main,
        [*options, "consume", topic, "--from-beginning", "--timeout", "3",
         "--on-error", "dlq", "--dlq-topic", f"{topic}-dlq"],
    )  # fmt: skip
    assert consumed.exit_code == 0, consumed.output
    reader = confluent_kafka.Consumer(
        {"bootstrap.servers": charter.bootstrap, "group.id": f"read-{topic}",
         "auto.offset.reset": "earliest"}
    )  # fmt: skip
    try:
        reader.subscribe([f"{topic}-dlq"])
        letter = None
        for _ in range(40):
            letter = reader.poll(0.5)
            if letter is not None and letter.error() is None:
                break
    finally:
        reader.close()
    assert letter is not None and letter.error() is None
    assert letter.value() == b"not framed"  # forwarded unchanged
    assert letter.headers(), "the dead letter says why"
