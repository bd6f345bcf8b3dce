"""Every name in the storage modules' ``__all__`` exists (the modules split out of topics.py too)."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "broker.log",
    "broker.log.checkpoints",
    "broker.log.cleaner",
    "broker.log.cleaner_txn",
    "broker.log.files",
    "broker.log.group_commit",
    "broker.log.index_file",
    "broker.topics.maintenance",
    "broker.protocol.records",
    "broker.topics.alter",
    "broker.topics.describe",
    "broker.topics.validation",
    "broker.topics",
    "broker.log.txn_index",
    "broker.transactions",
    "broker.transactions.coordinator",
    "broker.transactions.pending_offsets",
    "broker.transactions.state",
    "broker.transactions.store",
    "broker.handlers.fetch_sessions",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_names_exist(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__
    assert [attr for attr in module.__all__ if not hasattr(module, attr)] == []
