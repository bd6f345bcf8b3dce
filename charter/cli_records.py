"""``charter produce`` and ``charter consume``: JSON lines in, JSON lines out, validated.

``produce`` reads one JSON object per line (stdin or ``--file``), validates it
with the SDK and sends it; the first bad line stops the command with its line
number and the reason (exit code 1; the lines before it are delivered). A
progress bar with records/s shows on a terminal when reading a file.
``consume`` prints one JSON object per record (the decoded value, or with
``--metadata`` an envelope holding topic, partition, offset, key and value).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import click

from charter.cli_client import ClientOptions, client_command, to_json

__all__ = ["consume", "produce"]


def _lines(stream: IO[str]) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, start=1):
        if line.strip():
            yield number, line


class _Progress:
    """A rich progress bar over a file's bytes with records/s; nothing when stderr is no terminal."""

    def __init__(self, file: Path | None) -> None:
        from rich.console import Console

        console = Console(stderr=True)
        self.bar: Any = None
        if file is None or not console.is_terminal:
            return
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        self.bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            TextColumn("{task.fields[records]} records · {task.fields[rate]} records/s"),
            TimeElapsedColumn(),
            console=console,
        )
        self.task = self.bar.add_task(file.name, total=file.stat().st_size, records=0, rate=0)
        self.started = time.monotonic()
        self.bar.start()

    def advance(self, size: int, records: int) -> None:
        if self.bar is not None and records % 100 == 0:
            rate = int(records / max(time.monotonic() - self.started, 1e-6))
            self.bar.update(self.task, advance=size, records=records, rate=rate)
        elif self.bar is not None:
            self.bar.advance(self.task, size)

    def stop(self) -> None:
        if self.bar is not None:
            self.bar.stop()


@click.command()
@click.argument("topic")
@click.option(
    "--schema-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Value schema (Avro or JSON Schema) [the latest version of TOPIC-value].",
)
@click.option("--key-field", default=None, help="Use this field of each record as its key.")
@click.option(
    "--file",
    "input_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Read JSON lines from this file [stdin].",
)
@client_command
def produce(
    options: ClientOptions,
    topic: str,
    schema_file: Path | None,
    key_field: str | None,
    input_file: Path | None,
) -> None:
    """Validate and send JSON lines (one object per line) to TOPIC."""
    from charter.sdk import Producer, ValidationError

    schema = schema_file.read_text(encoding="utf-8") if schema_file else None
    failures: list[str] = []

    def delivered(error: Any, message: Any) -> None:
        if error is not None and not failures:
            failures.append(error.str())

    producer = Producer(
        options.bootstrap_servers,
        registry=options.registry(),
        logger=logging.getLogger("charter.sdk.librdkafka"),  # quiet in the CLI (cli_client)
        **options.kafka_config(),
    )
    stream = input_file.open(encoding="utf-8") if input_file else sys.stdin
    progress = _Progress(input_file)
    count = 0
    from_json: Callable[[Any], Any] | None = None
    try:
        for number, line in _lines(stream):
            try:
                record = json.loads(line)
            except ValueError as error:
                raise click.ClickException(f"line {number}: not JSON ({error})") from None
            if not isinstance(record, dict):
                raise click.ClickException(f"line {number}: expected a JSON object")
            key = _key_of(record, key_field, number)
            try:
                if from_json is None:  # the first record: a bad line before it fails offline
                    from_json = _json_reader(producer, topic, schema)
                    _check_cluster(options, f"producing to {topic}")
                record = from_json(record)
                producer.produce(topic, record, key=key, schema=schema, on_delivery=delivered)
            except ValidationError as error:
                raise click.ClickException(f"line {number}: {error}") from None
            count += 1
            progress.advance(len(line.encode()), count)
    finally:
        progress.stop()
        left = producer.flush(30)
        if input_file:
            stream.close()
    if failures or left:
        problem = failures[0] if failures else f"{left} records not delivered"
        raise click.ClickException(f"delivery to {topic} failed: {problem}")
    if options.output == "json":
        click.echo(to_json({"topic": topic, "produced": count}))
    else:
        click.echo(f"produced {count} records to {topic}", err=True)


def _check_cluster(options: ClientOptions, what: str) -> None:
    """A cluster that is down fails now, in a line, not after the 30 s flush of the records."""
    from charter.sdk.admin_client import AdminConnection

    AdminConnection(options.bootstrap_servers, options.kafka_config()).metadata(what)


def _json_reader(producer: Any, topic: str, schema: str | None) -> Callable[[Any], Any]:
    """How a parsed line becomes the value to produce: for an Avro schema with bytes, fixed or
    logical types, base64/ISO 8601/decimal text read back as ``consume`` prints them."""
    from charter.sdk.json_values import avro_from_json, needs_conversion

    kind, document = producer.value_schema(topic, schema)
    if kind != "AVRO" or not needs_conversion(document):
        return lambda record: record
    return lambda record: avro_from_json(document, record)


def _key_of(record: dict[str, Any], key_field: str | None, number: int) -> str | None:
    if key_field is None:
        return None
    if key_field not in record:
        raise click.ClickException(f"line {number}: no field {key_field!r} for the key")
    key = record[key_field]
    return key if isinstance(key, str) else to_json(key)


@click.command()
@click.argument("topic")
@click.option(
    "--group", default=None, help="Consume as this consumer group; commits what it printed."
)
@click.option("--from-beginning", is_flag=True, help="Start at the earliest record [latest].")
@click.option("--max-messages", type=click.IntRange(min=1), default=None, help="Stop after N.")
@click.option(
    "--timeout",
    "idle_timeout",
    type=float,
    default=None,
    help="Stop when no record arrives for this many seconds [wait forever].",
)
@click.option("--metadata", is_flag=True, help="Print topic, partition, offset, key, value.")
@click.option(
    "--on-error",
    type=click.Choice(["raise", "skip", "dlq"]),
    default="raise",
    show_default=True,
    help="An undecodable record: stop with its reason, skip it (with a warning), "
    "or forward its bytes to --dlq-topic with headers saying why.",
)
@click.option(
    "--dlq-topic", default=None, help="Dead-letter topic of --on-error dlq (validation none)."
)
@click.option(
    "--use-latest-version",
    is_flag=True,
    help="Read every record as the latest version of TOPIC-value (migration rules applied).",
)
@client_command
def consume(
    options: ClientOptions,
    topic: str,
    group: str | None,
    from_beginning: bool,
    max_messages: int | None,
    idle_timeout: float | None,
    metadata: bool,
    on_error: str,
    dlq_topic: str | None,
    use_latest_version: bool,
) -> None:
    """Print TOPIC's records as JSON lines (decoded with their schemas)."""
    from charter.sdk import Consumer

    if (on_error == "dlq") != (dlq_topic is not None):
        raise click.UsageError("--on-error dlq and --dlq-topic go together")

    consumer = Consumer(
        options.bootstrap_servers,
        registry=options.registry(),
        topics=[topic],
        group_id=group,
        auto_offset_reset="earliest" if from_beginning else "latest",
        on_error=on_error,
        dlq_topic=dlq_topic,
        use_latest_version=use_latest_version,
        **options.kafka_config(),
    )
    seen = 0
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C ends the run as --timeout does
            for _ in _print_records(consumer, max_messages, idle_timeout, metadata):
                seen += 1
        if group is not None and seen:
            consumer.commit()  # the next run with this group resumes after these records
    finally:
        consumer.close()


def _print_records(
    consumer: Any, max_messages: int | None, idle_timeout: float | None, metadata: bool
) -> Iterator[None]:
    """Print records as JSON lines until ``max_messages`` or ``idle_timeout``; one step each."""
    from charter.sdk import RecordErrorRaised

    seen = 0
    while max_messages is None or seen < max_messages:
        try:
            message = consumer.poll(idle_timeout if idle_timeout is not None else 3600.0)
        except RecordErrorRaised as error:
            raise click.ClickException(f"undecodable record {error.error}") from None
        if message is None:
            if idle_timeout is not None:
                return
            continue
        seen += 1
        document = message.value
        if metadata:
            document = {
                "topic": message.topic,
                "partition": message.partition,
                "offset": message.offset,
                "timestamp": message.timestamp,
                "key": message.key,
                "schema_id": message.schema_id,
                "value": message.value,
            }
        click.echo(to_json(document))
        sys.stdout.flush()
        yield
