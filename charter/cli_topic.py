"""``charter topic create|list|describe``: topics and their validation mode."""

from __future__ import annotations

from pathlib import Path

import click

from charter.cli_client import ClientOptions, client_command, emit

__all__ = ["topic"]


def _config_pairs(pairs: tuple[str, ...]) -> dict[str, str]:
    configs = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name:
            raise click.BadParameter(f"{pair!r} is not NAME=VALUE", param_hint="--config")
        configs[name.strip()] = value.strip()
    return configs


@click.group()
def topic() -> None:
    """Create, list and describe topics."""


@topic.command("create")
@click.argument("name")
@click.option("--partitions", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--replication-factor", type=click.IntRange(min=1), default=1, show_default=True)
@click.option(
    "--validation",
    type=click.Choice(["none", "id", "full"]),
    default=None,
    help="charter.value.schema.validation [the broker's default: full].",
)
@click.option(
    "--schema-file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Register this schema under NAME-value first (a governed topic).",
)
@click.option("--config", "configs", multiple=True, metavar="NAME=VALUE", help="A topic config.")
@client_command
def create(
    options: ClientOptions,
    name: str,
    partitions: int,
    replication_factor: int,
    validation: str | None,
    schema_file: Path | None,
    configs: tuple[str, ...],
) -> None:
    """Create topic NAME (with its value schema and validation mode)."""
    from charter.sdk.admin import create_governed_topic, create_topic

    config = _config_pairs(configs)
    schema_id = None
    if schema_file is not None:
        schema_id = create_governed_topic(
            options.bootstrap_servers,
            options.registry(),
            name,
            schema_file.read_text(encoding="utf-8"),
            validation=validation or "full",
            partitions=partitions,
            replication_factor=replication_factor,
            config=config,
            client_config=options.kafka_config(),
        )
    else:
        create_topic(
            options.bootstrap_servers,
            name,
            partitions=partitions,
            replication_factor=replication_factor,
            validation=validation,
            config=config,
            client_config=options.kafka_config(),
        )
    document = {"topic": name, "partitions": partitions, "validation": validation}
    if schema_id is not None:
        document.update(subject=f"{name}-value", schema_id=schema_id)
    if options.output == "json":
        emit(options, document)
    else:
        extra = f", schema id {schema_id} under {name}-value" if schema_id is not None else ""
        click.echo(f"created topic {name} ({partitions} partitions{extra})")


@topic.command("list")
@client_command
def list_topics(options: ClientOptions) -> None:
    """Every topic with its partition count."""
    from charter.sdk.admin import list_topics as topics_of

    found = topics_of(options.bootstrap_servers, client_config=options.kafka_config())
    document = [{"topic": info.name, "partitions": info.partitions} for info in found]
    emit(
        options, document, [(info.name, info.partitions) for info in found], ("topic", "partitions")
    )


@topic.command("describe")
@click.argument("name")
@client_command
def describe(options: ClientOptions, name: str) -> None:
    """Partitions, validation mode and configs of topic NAME (the table: charter.* and overrides)."""
    from charter.sdk.admin import describe_topic

    info = describe_topic(options.bootstrap_servers, name, client_config=options.kafka_config())
    document = {
        "topic": info.name,
        "partitions": info.partitions,
        "validation": info.validation,
        "configs": dict(info.configs),
    }
    rows = [("partitions", info.partitions), ("validation", info.validation or "-")]
    shown = {name for name in info.configs if name.startswith("charter.")} | info.overrides
    rows += sorted((name, info.configs[name]) for name in shown if name in info.configs)
    emit(options, document, rows, ("", name), title=f"topic {name}")
