"""An idempotent producer whose connections are cut mid-stream writes every record exactly once.

A TCP proxy sits between confluent-kafka and the broker (the broker advertises the
proxy's port) and cuts every connection several times while the producer sends:
requests whose responses are lost are retried, and the broker answers the
retries as duplicates with their original offsets.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Producer, TopicPartition

from ..broker.conftest import RunningBroker


class _Proxy:
    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.lock = threading.Lock()
        self.cuts = 0
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self.lock:
                self.sockets += [client, upstream]
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def cut(self) -> None:
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        self.cuts += 1

    def close(self) -> None:
        self.closed = True
        self.listener.close()
        self.cut()


def test_idempotent_retries_across_cut_connections_write_no_duplicates(
    broker: RunningBroker,
) -> None:
    broker.create_topic("drops", 1)
    proxy = _Proxy(broker.port)
    assert broker.app.server is not None
    broker.app.server.listener.advertised_port = proxy.port
    stop = threading.Event()

    def cutter() -> None:
        while not stop.wait(0.15):
            proxy.cut()

    producer = Producer(
        {
            "bootstrap.servers": f"127.0.0.1:{proxy.port}",
            "enable.idempotence": True,
            "linger.ms": 2,
            "batch.num.messages": 20,
            "message.timeout.ms": 60000,
            "reconnect.backoff.ms": 10,
        }
    )
    failures: list[str] = []
    total = 3000
    thread = threading.Thread(target=cutter, daemon=True)
    thread.start()
    try:
        for i in range(total):
            producer.produce(
                "drops",
                value=f"{i:05d}".encode(),
                on_delivery=lambda err, msg: failures.append(str(err)) if err else None,
            )
            if i % 100 == 0:
                producer.poll(0)
                time.sleep(0.02)
        stop.set()
        assert producer.flush(90) == 0
    finally:
        stop.set()
        thread.join()
        proxy.close()
    assert failures == []
    assert proxy.cuts >= 3
    consumer = Consumer(
        {
            "bootstrap.servers": broker.bootstrap,
            "group.id": "unused",
            "enable.auto.commit": False,
            "enable.partition.eof": True,
        }
    )
    broker.app.server.listener.advertised_port = broker.port
    consumer.assign([TopicPartition("drops", 0, OFFSET_BEGINNING)])
    values: list[bytes] = []
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is None:
                continue
            if message.error():
                if message.error().code() == KafkaError._PARTITION_EOF:
                    break
                continue
            values.append(message.value())
    finally:
        consumer.close()
    assert values == [f"{i:05d}".encode() for i in range(total)]
