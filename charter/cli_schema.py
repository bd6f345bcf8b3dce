"""``charter schema register|list|show|diff|check``: the schema registry from the shell."""

from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

import click

from charter.cli_client import ClientOptions, client_command, emit, print_code, to_json

__all__ = ["schema"]

_TYPES = click.Choice(["AVRO", "JSON", "PROTOBUF"], case_sensitive=False)


def _read_schema(file: Path, schema_type: str | None) -> tuple[str, str]:
    """The schema text of ``file`` and its type (``--type``, else from the extension or content)."""
    text = file.read_text(encoding="utf-8")
    if schema_type:
        return text, schema_type.upper()
    if file.suffix == ".proto":
        return text, "PROTOBUF"
    from charter.sdk.schemas import as_schema

    try:
        return text, as_schema(text).schema_type
    except ValueError as error:
        raise click.ClickException(f"{file}: {error}") from None


def _reference(text: str) -> dict[str, Any]:
    """``NAME=SUBJECT:VERSION`` as the registry's reference object."""
    name, _, target = text.partition("=")
    subject, _, version = target.rpartition(":")
    if not name or not subject or not version.isdigit():
        raise click.BadParameter(f"{text!r} is not NAME=SUBJECT:VERSION", param_hint="--reference")
    return {"name": name, "subject": subject, "version": int(version)}


def _pretty(schema_str: str, schema_type: str) -> str:
    if schema_type == "PROTOBUF":
        return schema_str
    return json.dumps(json.loads(schema_str), indent=2)


@click.group()
def schema() -> None:
    """Register, list, show, diff and check schemas."""


@schema.command("register")
@click.argument("subject")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "schema_type", type=_TYPES, help="Schema type [from the file].")
@click.option("--normalize", is_flag=True, help="Register the normalized form.")
@click.option(
    "--reference",
    "references",
    multiple=True,
    metavar="NAME=SUBJECT:VERSION",
    help="A schema reference (an Avro full name, a JSON $ref, a .proto import); repeatable.",
)
@client_command
def register(
    options: ClientOptions,
    subject: str,
    file: Path,
    schema_type: str | None,
    normalize: bool,
    references: tuple[str, ...],
) -> None:
    """Register FILE under SUBJECT and print its id."""
    from charter.sdk import Schema

    text, kind = _read_schema(file, schema_type)
    parsed = tuple(_reference(item) for item in references)
    schema_id = options.registry().register(
        subject, Schema(text, kind, references=parsed), normalize=normalize
    )
    if options.output == "json":
        click.echo(to_json({"subject": subject, "id": schema_id}))
    else:
        click.echo(schema_id)


@schema.command("list")
@click.option("--prefix", default=None, help="Only subjects starting with this.")
@client_command
def list_subjects(options: ClientOptions, prefix: str | None) -> None:
    """Subjects with their latest version, id and type."""
    registry = options.registry()
    latest = [registry.get_latest(subject) for subject in registry.subjects(prefix)]
    document = [
        {
            "subject": found.subject,
            "version": found.version,
            "id": found.schema_id,
            "schemaType": found.schema.schema_type,
        }
        for found in latest
    ]
    rows = [(d["subject"], d["version"], d["id"], d["schemaType"]) for d in document]
    emit(options, document, rows, ("subject", "latest version", "id", "type"))


@schema.command("show")
@click.argument("subject")
@click.option("--version", default="latest", show_default=True, help="Version number or latest.")
@client_command
def show(options: ClientOptions, subject: str, version: str) -> None:
    """Show one version of SUBJECT."""
    found = options.registry().get_version(subject, version)
    document: dict[str, Any] = {
        "subject": found.subject,
        "version": found.version,
        "id": found.schema_id,
        "schemaType": found.schema.schema_type,
        "schema": found.schema.schema_str,
    }
    shown = (
        ("references", list(found.schema.references)),
        ("metadata", found.schema.metadata),
        ("ruleSet", found.schema.rule_set),
    )
    for key, value in shown:
        if value:
            document[key] = value
    if options.output == "json":
        click.echo(to_json(document, indent=2))
        return
    click.echo(
        f"{found.subject} version {found.version} · id {found.schema_id} · "
        f"{found.schema.schema_type}"
    )
    language = "protobuf" if found.schema.schema_type == "PROTOBUF" else "json"
    print_code(_pretty(found.schema.schema_str, found.schema.schema_type), language)
    for reference in found.schema.references:
        click.echo(
            f"references {reference['name']} = {reference['subject']} "
            f"version {reference['version']}"
        )
    if found.schema.rule_set:
        click.echo("ruleSet:")
        print_code(json.dumps(found.schema.rule_set, indent=2), "json")


@schema.command("diff")
@click.argument("subject")
@click.argument("old_version", required=False)
@click.argument("new_version", required=False)
@client_command
def diff(
    options: ClientOptions, subject: str, old_version: str | None, new_version: str | None
) -> None:
    """Differences between two versions of SUBJECT [the last two]."""
    registry = options.registry()
    if old_version is None:
        versions = registry.versions(subject)
        if len(versions) < 2:
            raise click.ClickException(f"{subject} has only one version: nothing to compare")
        old_version, new_version = str(versions[-2]), str(versions[-1])
    new_version = new_version or "latest"
    old, new = (
        registry.get_version(subject, old_version),
        registry.get_version(subject, new_version),
    )
    lines = list(
        difflib.unified_diff(
            _pretty(old.schema.schema_str, old.schema.schema_type).splitlines(),
            _pretty(new.schema.schema_str, new.schema.schema_type).splitlines(),
            f"{subject} version {old.version}",
            f"{subject} version {new.version}",
            lineterm="",
        )
    )
    if options.output == "json":
        click.echo(to_json({"from": old.version, "to": new.version, "diff": lines}, indent=2))
        return
    print_code("\n".join(lines) or "(no differences)", "diff")


@schema.command("check")
@click.argument("subject")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--type", "schema_type", type=_TYPES, help="Schema type [from the file].")
@click.option("--version", default="latest", show_default=True, help="Version to check against.")
@client_command
def check(
    options: ClientOptions, subject: str, file: Path, schema_type: str | None, version: str
) -> None:
    """Check FILE's compatibility with SUBJECT (exit code 1 when incompatible)."""
    from charter.sdk import Schema

    text, kind = _read_schema(file, schema_type)
    compatible, messages = options.registry().test_compatibility(
        subject, Schema(text, kind), version=version
    )
    if options.output == "json":
        click.echo(to_json({"is_compatible": compatible, "messages": messages}, indent=2))
    elif compatible:
        click.echo(f"compatible with {subject} version {version}")
    else:
        reasons, context = _split_messages(messages)
        level = context.get("compatibility", "").strip("'")
        against = context.get("oldSchemaVersion", version)
        click.echo(
            f"NOT compatible with {subject} version {against}" + (f" ({level}):" if level else ":"),
            err=True,
        )
        for message in reasons:
            click.echo(f"  - {message}", err=True)
    if not compatible:
        raise SystemExit(1)


_CONTEXT = re.compile(r"^\{(oldSchemaVersion|oldSchema|compatibility): ?(.*)\}$", re.DOTALL)


def _split_messages(messages: list[str]) -> tuple[list[str], dict[str, str]]:
    """Confluent's verbose messages: the reasons, and the context entries it appends
    (``{oldSchemaVersion: 1}``, ``{oldSchema: '…'}``, ``{compatibility: 'BACKWARD'}``) by key."""
    reasons: list[str] = []
    context: dict[str, str] = {}
    for message in messages:
        found = _CONTEXT.match(str(message))
        if found:
            context[found.group(1)] = found.group(2)
        else:
            reasons.append(str(message))
    return reasons, context
