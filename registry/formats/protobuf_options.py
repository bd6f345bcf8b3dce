"""Custom options (``[(confluent.field_meta).doc = "x"]``) interpreted into extension fields.

``protoc`` stores custom options as extension fields of the ``*Options`` messages;
generated code, and so confluent-kafka's serializer, registers descriptors in
that form. Text parsed here first holds them as ``uninterpreted_option``;
``interpret_custom_options`` turns them into the same extension fields, using
a pool that holds the imports that define them, so a schema gets one canonical
text whichever way it was sent. ``with_extensions`` re-reads an options message
with that pool so the writer can list its extension fields by name.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.protobuf import (
    descriptor_pb2,
    descriptor_pool,
    message_factory,
    text_encoding,
    text_format,
)

__all__ = ["CustomOptionError", "interpret_custom_options", "with_extensions"]


class CustomOptionError(ValueError):
    """A custom option whose value does not fit its extension."""


def _all_options(file: descriptor_pb2.FileDescriptorProto) -> Iterator[Any]:
    yield file.options
    for message in file.message_type:
        yield from _message_options(message)
    for enum in file.enum_type:
        yield from _enum_options(enum)
    for extension in file.extension:
        yield extension.options
    for service in file.service:
        yield service.options
        for method in service.method:
            yield method.options


def _message_options(message: Any) -> Iterator[Any]:
    yield message.options
    for field in [*message.field, *message.extension]:
        yield field.options
    for oneof in message.oneof_decl:
        yield oneof.options
    for extension_range in message.extension_range:
        yield extension_range.options
    for nested in message.nested_type:
        yield from _message_options(nested)
    for enum in message.enum_type:
        yield from _enum_options(enum)


def _enum_options(enum: Any) -> Iterator[Any]:
    yield enum.options
    for value in enum.value:
        yield value.options


def _options_class(pool: descriptor_pool.DescriptorPool, options: Any) -> Any:
    return message_factory.GetMessageClass(pool.FindMessageTypeByName(options.DESCRIPTOR.full_name))


def interpret_custom_options(
    file: descriptor_pb2.FileDescriptorProto, pool: descriptor_pool.DescriptorPool
) -> None:
    """Move every custom option whose extension ``pool`` knows into its extension field."""
    for options in _all_options(file):
        if not options.uninterpreted_option:
            continue
        kept = []
        rich = None
        for option in options.uninterpreted_option:
            first = option.name[0]
            if not first.is_extension:
                kept.append(option)
                continue
            try:
                pool.FindExtensionByName(first.name_part)
            except KeyError:
                kept.append(option)  # defined in this very file: left as written
                continue
            if rich is None:
                rich = _options_class(pool, options)()
            try:
                text_format.Merge(_text_format(option), rich, descriptor_pool=pool)
            except text_format.ParseError as error:
                name = ".".join(
                    f"({p.name_part})" if p.is_extension else p.name_part for p in option.name
                )
                raise CustomOptionError(
                    f'Error while parsing option value for "{name}": {error}'
                ) from None
        if rich is not None:
            del options.uninterpreted_option[:]
            options.uninterpreted_option.extend(kept)
            options.MergeFromString(rich.SerializeToString(deterministic=True))


def with_extensions(options: Any, pool: descriptor_pool.DescriptorPool | None) -> Any:
    """``options`` re-read with ``pool``'s classes, so extension fields list by name."""
    if pool is None:
        return options
    data = options.SerializeToString(deterministic=True)
    if not data:
        return options
    try:
        return _options_class(pool, options).FromString(data)
    except (KeyError, TypeError):
        return options


def _text_format(option: Any) -> str:
    """The text-format statement setting ``option`` (``[confluent.field_meta] { doc: "x" }``)."""
    if option.HasField("aggregate_value"):
        text = " { " + option.aggregate_value + " }"
    elif option.HasField("identifier_value"):
        text = ": " + option.identifier_value
    elif option.HasField("positive_int_value"):
        text = f": {option.positive_int_value}"
    elif option.HasField("negative_int_value"):
        text = f": {option.negative_int_value}"
    elif option.HasField("double_value"):
        text = f": {option.double_value!r}"
    else:
        text = ': "' + text_encoding.CEscape(option.string_value, as_utf8=False) + '"'
    for part in reversed(option.name):
        name = f"[{part.name_part}]" if part.is_extension else part.name_part
        text = (
            f"{name}{text}"
            if text.startswith(":") or text.startswith(" {")
            else f"{name} {{ {text} }}"
        )
    return text
