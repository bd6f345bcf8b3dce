"""Crash recovery: torn tails, leftovers of interrupted operations, and a real SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from broker.log import LogConfig, PartitionLog
from tests.broker.log.helpers import abandon, append, batch, read_all

CONFIG = LogConfig(segment_bytes=1_000, index_interval_bytes=100)


def prepared(tmp_path: Path, count: int = 12) -> tuple[Path, list, int]:
    """A log with ``count`` acknowledged one-record batches, abandoned uncleanly."""
    directory = tmp_path / "t-0"
    log = PartitionLog.open(directory, CONFIG)
    for i in range(count):
        append(log, batch(b"value-%d" % i, key=b"k%d" % i))
    expected = read_all(log)
    active = log.active_segment.log_path
    abandon(log)
    return active, expected, count


def reopen(active: Path) -> PartitionLog:
    return PartitionLog.open(active.parent, CONFIG)


def test_truncated_mid_batch(tmp_path: Path) -> None:
    active, expected, count = prepared(tmp_path)
    with open(active, "ab") as f:
        f.write(batch(b"unacknowledged", key=b"x")[:30])
    log = reopen(active)
    assert log.truncated_bytes == 30
    assert read_all(log) == expected
    assert append(log, batch(b"after")).base_offset == count
    log.close()


def test_unclean_recovery_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    active, _expected, _count = prepared(tmp_path)
    with open(active, "ab") as f:
        f.write(b"torn")
    with caplog.at_level("WARNING", logger="broker.log.partition"):
        reopen(active).close()
    assert "unclean shutdown; truncated 4 torn bytes" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="broker.log.partition"):
        reopen(active).close()  # closed cleanly the time before: nothing to report
    assert "unclean" not in caplog.text


def test_last_batch_cut_short(tmp_path: Path) -> None:
    active, expected, count = prepared(tmp_path)
    size = active.stat().st_size
    os.truncate(active, size - 5)
    log = reopen(active)
    assert read_all(log) == expected[:-1]
    assert log.log_end_offset == count - 1
    log.close()


def test_corrupt_crc_in_tail(tmp_path: Path) -> None:
    active, expected, count = prepared(tmp_path)
    data = bytearray(active.read_bytes())
    data[-2] ^= 0x55
    active.write_bytes(data)
    log = reopen(active)
    assert read_all(log) == expected[:-1]
    log.close()


def test_garbage_appended(tmp_path: Path) -> None:
    active, expected, _ = prepared(tmp_path)
    with open(active, "ab") as f:
        f.write(os.urandom(37) + b"\x00" * 100)
    log = reopen(active)
    assert read_all(log) == expected
    log.close()


def test_bad_length_field(tmp_path: Path) -> None:
    active, expected, _ = prepared(tmp_path)
    with open(active, "ab") as f:
        f.write(b"\x00" * 8 + b"\x7f\xff\xff\xff" + b"\x00" * 60)
    log = reopen(active)
    assert read_all(log) == expected
    log.close()


def test_clean_marker_with_torn_tail_still_recovers_indexes(tmp_path: Path) -> None:
    """A clean marker skips the CRC scan, but a structurally torn tail is still cut."""
    active, expected, _ = prepared(tmp_path)
    (active.parent / "clean-shutdown").write_bytes(b"")
    with open(active, "ab") as f:
        f.write(b"\x00" * 20)
    log = reopen(active)
    assert read_all(log) == expected
    log.close()


def test_leftovers_are_removed(tmp_path: Path) -> None:
    active, expected, _ = prepared(tmp_path)
    directory = active.parent
    (directory / (active.name + ".cleaned")).write_bytes(b"half-written")
    (directory / "00000000000000099999.index").write_bytes(b"\x00" * 8)
    (directory / "00000000000000000005.snapshot.tmp").write_bytes(b"x")
    log = reopen(active)
    assert read_all(log) == expected
    names = sorted(p.name for p in directory.iterdir())
    assert not [
        n for n in names if n.endswith((".cleaned", ".tmp")) or n.startswith("000000000000000999")
    ]
    log.close()


WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from broker.log import LogConfig, PartitionLog
    from broker.protocol.records import Record, build_batch, read_batches

    log = PartitionLog.open(Path(sys.argv[1]), LogConfig(segment_bytes=4096, index_interval_bytes=256))
    i = 0
    while True:
        data = build_batch([Record(0, 0, b"k%d" % i, b"payload-%d" % i * 3)], timestamp=i)
        result = log.append(data, read_batches(data), now_ms=int(time.time() * 1000))
        print(result.base_offset, i, flush=True)
        i += 1
    """
)


@pytest.mark.slow
def test_sigkill_keeps_every_acknowledged_batch_exactly_once(tmp_path: Path) -> None:
    directory = tmp_path / "t-0"
    repo_root = Path(__file__).resolve().parents[3]
    env = dict(os.environ, PYTHONPATH=str(repo_root))
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(directory)],
        stdout=subprocess.PIPE,
        env=env,
        text=True,
    )
    acknowledged: list[tuple[int, int]] = []
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            offset, number = map(int, line.split())
            acknowledged.append((offset, number))
            if len(acknowledged) >= 400:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
    log = PartitionLog.open(directory, LogConfig(segment_bytes=4096, index_interval_bytes=256))
    stored = read_all(log)
    offsets = [offset for offset, _, _ in stored]
    assert offsets == sorted(set(offsets)) == list(range(len(offsets)))
    by_offset = {offset: value for offset, _, value in stored}
    for offset, number in acknowledged:
        assert by_offset[offset] == b"payload-%d" % number * 3
    assert len(log.segments) > 1
    log.close()


def test_a_new_partition_reports_no_recovery(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level("INFO", logger="broker.log.partition"):
        log = PartitionLog.open(tmp_path / "t-0", LogConfig())
        append(log, batch(b"v"))
        log.close()
    assert "unclean" not in caplog.text
    assert "recovered" not in caplog.text
