"""A consume-transform-produce loop with confluent-kafka transactions, run as its own process.

Usage: ``python -m tests.e2e.txn_loop BOOTSTRAP TOTAL``. Reads topic ``in``
from the group's committed offset, writes ``out-<value>`` to topic ``out`` and commits the
input offsets in the same transaction (``send_offsets_to_transaction``); prints
``committed <next offset>`` after each commit and exits once ``TOTAL`` inputs are done.

Where it resumes: the group's offset committed by the last committed transaction, asked
of the broker with OffsetFetch (``Consumer.committed``), as any application does.
"""

from __future__ import annotations

import sys
import time

from confluent_kafka import Consumer, KafkaError, Producer, TopicPartition

GROUP = "loop"


def main() -> None:
    bootstrap, total = sys.argv[1], int(sys.argv[2])
    consumer = Consumer(
        {
            "bootstrap.servers": bootstrap,
            "group.id": GROUP,
            "enable.auto.commit": False,
            "isolation.level": "read_committed",
        }
    )
    (committed,) = consumer.committed([TopicPartition("in", 0)], timeout=30)
    start = max(committed.offset, 0)  # OFFSET_INVALID (-1001) when nothing was committed yet
    consumer.assign([TopicPartition("in", 0, start)])
    producer = Producer(
        {"bootstrap.servers": bootstrap, "transactional.id": "loop-tx", "linger.ms": 1}
    )
    producer.init_transactions(30)  # fences (and aborts) a killed predecessor's transaction
    position = start
    print(f"started {start}", flush=True)
    while position < total:
        messages = consumer.consume(num_messages=7, timeout=1.0)
        messages = [
            m
            for m in messages
            if m.error() is None or m.error().code() != KafkaError._PARTITION_EOF
        ]
        if not messages:
            continue
        producer.begin_transaction()
        for message in messages:
            if message.error():
                raise SystemExit(f"consume failed: {message.error()}")
            producer.produce("out", value=b"out-" + message.value(), partition=0)
            position = message.offset() + 1
        time.sleep(0.02)  # widen the window in which a kill lands inside a transaction
        producer.send_offsets_to_transaction(
            [TopicPartition("in", 0, position)], consumer.consumer_group_metadata(), 30
        )
        producer.commit_transaction(30)
        print(f"committed {position}", flush=True)
    consumer.close()


if __name__ == "__main__":
    main()
