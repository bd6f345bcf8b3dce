"""``broker.log.timestamps``: Kafka's CreateTime bounds on produced records."""

from __future__ import annotations

import pytest

from broker.log import LogConfig
from broker.log.timestamps import out_of_range_timestamps
from broker.protocol.records import COMPRESSION_GZIP, Record, build_batch, read_batches

NOW = 1_900_000_000_000


def _batch(*deltas: int, base: int, compression: int = 0) -> bytes:
    records = [Record(index, delta, None, b"v") for index, delta in enumerate(deltas)]
    return build_batch(records, timestamp=base, compression=compression)


def _indexes(config: LogConfig, records: bytes) -> list[int]:
    return [
        index for index, _ in out_of_range_timestamps(config, records, read_batches(records), NOW)
    ]


def test_unbounded_topics_and_log_append_time_check_nothing() -> None:
    ancient = _batch(0, base=0)
    assert _indexes(LogConfig(), ancient) == []
    appended = LogConfig.from_topic_configs(
        {"message.timestamp.type": "LogAppendTime", "message.timestamp.before.max.ms": "1"}
    )
    assert _indexes(appended, ancient) == []


@pytest.mark.parametrize("compression", [0, COMPRESSION_GZIP])
def test_each_record_is_checked_against_both_bounds(compression: int) -> None:
    config = LogConfig.from_topic_configs(
        {"message.timestamp.before.max.ms": "1000", "message.timestamp.after.max.ms": "500"}
    )
    # base NOW - 2000: deltas put records at -2000 (old), 0 (ok), +600 (ahead), +400 (ok)
    records = _batch(0, 2000, 2600, 2400, base=NOW - 2000, compression=compression)
    assert _indexes(config, records) == [0, 2]


def test_the_deprecated_difference_bound_fills_an_unset_side() -> None:
    config = LogConfig.from_topic_configs(
        {"message.timestamp.difference.max.ms": "1000", "message.timestamp.after.max.ms": "5000"}
    )
    assert config.timestamp_before_max_ms == 1000
    assert config.timestamp_after_max_ms == 5000
    assert _indexes(config, _batch(0, 3000, 7000, base=NOW - 2000)) == [0]
