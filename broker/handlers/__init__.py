"""The handler table: Kafka API key -> the coroutine that answers it and its version range.

Each API lives in its own module ``broker.handlers.<name>`` that defines
``HANDLERS``, a tuple of ``ApiHandler``. To add an API, write the module and add
its name to ``HANDLER_MODULES``. A handler is ``async def handle(ctx, request)``:
it gets a ``RequestContext`` and the typed kio request of the negotiated version,
and returns the typed response of the same version (``broker.protocol.build`` and
``response_module`` help with per-version classes), or ``None`` for no response
(acks=0 produce). Per-partition/per-topic errors go in the response; an
exception escaping a handler is logged and closes the connection.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable

from broker.connection import ConnectionState
from broker.handlers.context import ApiHandler, BrokerContext, Handle, RequestContext

__all__ = [
    "ApiHandler",
    "BrokerContext",
    "ConnectionState",
    "HANDLER_MODULES",
    "Handle",
    "RequestContext",
    "build_handler_table",
]


HANDLER_MODULES: tuple[str, ...] = (
    "api_versions",
    "metadata",
    "describe_topic_partitions",
    "produce",
    "fetch",
    "list_offsets",
    "init_producer_id",
    "describe_cluster",
    "sasl",
    "create_topics",
    "delete_topics",
    "create_partitions",
    "delete_records",
    "describe_log_dirs",
    "elect_leaders",
    "partition_reassignments",
    "describe_configs",
    "alter_configs",
    "incremental_alter_configs",
    # consumer groups (broker.groups)
    "find_coordinator",
    "join_group",
    "sync_group",
    "heartbeat",
    "leave_group",
    "offset_commit",
    "offset_fetch",
    "list_groups",
    "describe_groups",
    "delete_groups",
    "offset_delete",
    "consumer_group_heartbeat",
    "consumer_group_describe",
    "add_partitions_to_txn",
    "add_offsets_to_txn",
    "end_txn",
    "txn_offset_commit",
    "describe_transactions",
    "list_transactions",
    "describe_producers",
    # security administration (governance.security.kafka_admin)
    "describe_acls",
    "create_acls",
    "delete_acls",
    "describe_user_scram_credentials",
    "alter_user_scram_credentials",
)


def build_handler_table(modules: Iterable[str] = HANDLER_MODULES) -> dict[int, ApiHandler]:
    """Import each handler module and index its ``HANDLERS`` by API key."""
    table: dict[int, ApiHandler] = {}
    for name in modules:
        module = importlib.import_module(f"{__name__}.{name}")
        for handler in module.HANDLERS:
            if handler.api_key in table:
                raise ValueError(f"API key {handler.api_key} registered twice ({name})")
            table[handler.api_key] = handler
    return table
