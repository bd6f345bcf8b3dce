"""Fixtures: ``stack`` is a whole Charter (HTTP app + composed broker) in this process."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.governance.stack import Stack, start_stack


@pytest.fixture
def stack_factory(tmp_path: Path) -> Iterator[Callable[..., Stack]]:
    started: list[Stack] = []

    def factory(data_dir: Path | None = None, **settings: Any) -> Stack:
        stack = start_stack(data_dir or tmp_path / "data", **settings)
        started.append(stack)
        return stack

    yield factory
    for stack in started:
        stack.stop()


@pytest.fixture
def stack(stack_factory: Callable[..., Stack]) -> Stack:
    return stack_factory()
