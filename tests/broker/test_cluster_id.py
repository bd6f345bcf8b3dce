"""The data directory's cluster id: created once, kept, and the same for every process that asks,
even when several ask at the same moment (the broker and the HTTP tier under ``charter up``)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from broker.cluster_id import FILE_NAME, load_or_create_cluster_id


def test_created_once_then_kept(tmp_path: Path) -> None:
    first = load_or_create_cluster_id(tmp_path / "data")
    assert len(first) == 22
    assert load_or_create_cluster_id(tmp_path / "data") == first
    assert (tmp_path / "data" / FILE_NAME).read_text() == first + "\n"
    assert sorted(path.name for path in (tmp_path / "data").iterdir()) == [FILE_NAME]


def test_an_empty_file_is_replaced(tmp_path: Path) -> None:
    (tmp_path / FILE_NAME).write_text("")
    created = load_or_create_cluster_id(tmp_path)
    assert created and (tmp_path / FILE_NAME).read_text().strip() == created


def _race(
    data_dir: str, start: multiprocessing.synchronize.Barrier, ids: multiprocessing.Queue
) -> None:
    start.wait()
    ids.put(load_or_create_cluster_id(Path(data_dir)))


def test_processes_starting_together_agree(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    for attempt in range(3):
        data_dir = tmp_path / f"attempt-{attempt}"
        start = context.Barrier(4)
        ids = context.Queue()
        workers = [
            context.Process(target=_race, args=(str(data_dir), start, ids)) for _ in range(4)
        ]
        for worker in workers:
            worker.start()
        answers = {ids.get(timeout=60) for _ in workers}
        for worker in workers:
            worker.join(timeout=60)
            assert worker.exitcode == 0
        assert answers == {(data_dir / FILE_NAME).read_text().strip()}
        assert [path.name for path in data_dir.iterdir()] == [FILE_NAME]
