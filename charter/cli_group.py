"""``charter group list|describe``: consumer groups, their members and lag (Kafka admin API)."""

from __future__ import annotations

import click

from charter.cli_client import ClientOptions, client_command, emit

__all__ = ["group"]


@click.group()
def group() -> None:
    """List consumer groups and describe their members, offsets and lag."""


@group.command("list")
@client_command
def list_groups(options: ClientOptions) -> None:
    """Every consumer group with its state and type (classic or consumer)."""
    from charter.sdk.groups import list_groups as groups_of

    found = groups_of(options.bootstrap_servers, client_config=options.kafka_config())
    document = [{"group": g.group_id, "state": g.state, "type": g.type} for g in found]
    rows = [(g.group_id, g.state, g.type) for g in found]
    emit(options, document, rows, ("group", "state", "type"))


@group.command("describe")
@click.argument("group_id")
@client_command
def describe(options: ClientOptions, group_id: str) -> None:
    """Members of GROUP_ID with their partitions, and per partition the committed offset and lag."""
    from charter.sdk.groups import describe_group

    found = describe_group(
        options.bootstrap_servers, group_id, client_config=options.kafka_config()
    )
    clients = {member.member_id: member.client_id for member in found.members}
    document = {
        "group": found.group_id,
        "state": found.state,
        "type": found.type,
        "assignor": found.assignor,
        "coordinator": found.coordinator,
        "members": [
            {
                "member_id": member.member_id,
                "client_id": member.client_id,
                "host": member.host,
                "group_instance_id": member.group_instance_id,
                "assignment": [{"topic": t, "partition": p} for t, p in member.assignment],
            }
            for member in found.members
        ],
        "partitions": [
            {
                "topic": lag.topic,
                "partition": lag.partition,
                "committed": lag.committed,
                "high_watermark": lag.high_watermark,
                "lag": lag.lag,
                "member_id": lag.member_id,
            }
            for lag in found.partitions
        ],
        "total_lag": found.total_lag,
    }
    rows = [
        (
            lag.topic,
            lag.partition,
            _dash(lag.committed),
            _dash(lag.high_watermark),
            _dash(lag.lag),
            _dash(lag.member_id and clients.get(lag.member_id, lag.member_id)),
        )
        for lag in found.partitions
    ]
    title = (
        f"group {found.group_id}: {found.state}, {found.type}, "
        f"{len(found.members)} members, lag {found.total_lag}"
    )
    emit(
        options,
        document,
        rows,
        ("topic", "partition", "committed", "end offset", "lag", "client"),
        title=title,
    )


def _dash(value: object) -> object:
    return "-" if value is None or value == "" else value
