"""Catalog indexing and search: 5,000 subjects x 20 fields, API against the raw FTS index.

Run as ``python bench/catalog.py`` (or ``charter bench catalog``); ``--subjects``,
``--rounds`` and ``--database-url postgresql://…`` (a scratch database is
created on that server) change the defaults.

1. Registers the subjects through the registry service (not timed), each an
   Avro record of 20 fields (15 top level, a nested ``address`` record of 4,
   docs on some, ``confluent:tags`` on some), in a temporary data directory.
2. Index build: ``Indexer.reindex()`` (every subject's latest version parsed,
   its fields derived, entities, labels and full-text rows written in one
   transaction), timed per round -> fields per second.
3. Event path: the catalog's positions are reset and the indexer catches up
   on the registry outbox one event per transaction (as the follower does),
   timed in the first round -> fields per second.
4. Search: 500 varied queries (single words, prefixes, camelCase, dotted
   paths, two words, filters by type and tag, odd characters), each run
   (a) through the API: ``GET /catalog/v1/search`` over HTTP against
   ``charter serve http`` (one gunicorn worker) on a free port, keep-alive,
   sequential; (b) raw: the same query text straight against the FTS index
   (``SearchIndex.raw_match``, top 20, same process, no HTTP, no filters or
   facets); (c) index: ``SearchIndex.search`` with the filters, total and
   facets, no HTTP. p50/p95 per round; ratio API p95 / raw p95 per round;
   (d) filtered: (c) for a principal who may read the subjects named
   ``bench1*`` (1,111 of 5,000: a prefix) and 50 other subjects by name, as
   auth on passes it in (``SearchQuery.visibility``) -> p95 and its ratio to (c).

Targets (issue 11): API p95 <= 3x raw p95; indexing >= 2,000 fields/s.
"""

from __future__ import annotations

import argparse
import dataclasses
import http.client
import importlib.util
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
# This script's name shadows the ``catalog`` package while bench/ is on sys.path:
# take bench/ off and load ``support`` from its file.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH_DIR]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
_spec = importlib.util.spec_from_file_location("support", BENCH_DIR / "support.py")
assert _spec is not None and _spec.loader is not None
support = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(support)
free_port, fresh_postgres, spread = support.free_port, support.fresh_postgres, support.spread

from charter.compose import build_catalog, build_registry, open_migrated_database  # noqa: E402
from charter.config import Settings  # noqa: E402
from registry.service import SchemaRequest  # noqa: E402

WORDS = [
    "customer",
    "order",
    "invoice",
    "payment",
    "account",
    "address",
    "city",
    "country",
    "postal",
    "street",
    "email",
    "phone",
    "name",
    "first",
    "last",
    "birth",
    "date",
    "amount",
    "currency",
    "price",
    "discount",
    "tax",
    "total",
    "status",
    "created",
    "updated",
    "shipment",
    "carrier",
    "tracking",
    "warehouse",
    "product",
    "sku",
    "quantity",
    "line",
    "item",
    "channel",
    "campaign",
    "device",
    "session",
    "region",
    "tier",
    "loyalty",
    "score",
    "risk",
    "fraud",
    "merchant",
    "card",
    "token",
    "balance",
    "ledger",
    "refund",
]
TAGS = ["PII", "PCI", "GDPR", "SENSITIVE", "INTERNAL"]


def make_schema(rng: random.Random, index: int) -> dict[str, Any]:
    def field_name() -> str:
        first, second = rng.sample(WORDS, 2)
        style = rng.random()
        if style < 0.4:
            return f"{first}{second.capitalize()}"
        if style < 0.8:
            return f"{first}_{second}"
        return first

    def fields(count: int) -> list[dict[str, Any]]:
        names: dict[str, dict[str, Any]] = {}
        while len(names) < count:
            name = field_name()
            if name == "address":
                continue
            field: dict[str, Any] = {"name": name, "type": rng.choice(["string", "long", "double"])}
            if rng.random() < 0.4:
                field["doc"] = " ".join(rng.sample(WORDS, 6)).capitalize() + "."
            if rng.random() < 0.15:
                field["confluent:tags"] = [rng.choice(TAGS)]
            names.setdefault(name, field)
        return list(names.values())

    entity = rng.choice(WORDS).capitalize()
    return {
        "type": "record",
        "name": f"{entity}Event{index}",
        "namespace": f"com.acme.{rng.choice(WORDS)}",
        "doc": f"{entity} events: " + " ".join(rng.sample(WORDS, 8)),
        "fields": [
            *fields(15),
            {
                "name": "address",
                "type": {"type": "record", "name": f"Address{index}", "fields": fields(4)},
            },
        ],
    }


def make_queries(rng: random.Random, count: int) -> list[dict[str, str]]:
    queries: list[dict[str, str]] = []
    odd = ['"email', "name*", "NEAR(city)", "a OR b", "%", "customer:email", "(", "ü"]
    while len(queries) < count:
        kind = len(queries) % 8
        first, second = rng.sample(WORDS, 2)
        if kind == 0:
            queries.append({"q": first})
        elif kind == 1:
            queries.append({"q": first[: max(3, len(first) - 2)]})
        elif kind == 2:
            queries.append({"q": f"{first}{second.capitalize()}"})
        elif kind == 3:
            queries.append({"q": f"address.{first}"})
        elif kind == 4:
            queries.append({"q": f"{first} {second}"})
        elif kind == 5:
            queries.append({"q": first, "type": "field"})
        elif kind == 6:
            queries.append({"q": first, "tag": rng.choice(TAGS)})
        else:
            queries.append({"q": rng.choice(odd)})
    return queries


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def start_server(data_dir: Path, database_url: str | None, port: int) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "charter", "serve", "http", "--data-dir", str(data_dir)]
    command += ["--http-port", str(port), "--http-workers", "1", "--log-level", "WARNING"]
    if database_url:
        command += ["--database-url", database_url]
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    process = subprocess.Popen(command, env=env, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/health")
            if connection.getresponse().status == 200:
                connection.close()
                return process
        except OSError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("charter serve http did not start")


def run(database_url: str | None, subjects: int, rounds: int) -> None:
    rng = random.Random(11)
    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=Path(data_dir), database_url=database_url)
        database = open_migrated_database(settings)
        registry = build_registry(settings, database)
        service = build_catalog(settings, database, registry)
        indexer = service.indexer
        started = time.perf_counter()
        for index in range(subjects):
            schema = json.dumps(make_schema(rng, index))
            registry.register(f"bench{index}-value", SchemaRequest(schema=schema))
        print(f"registered {subjects} subjects in {time.perf_counter() - started:.1f}s")

        build_rates: list[float] = []
        for _ in range(rounds):
            started = time.perf_counter()
            count = indexer.reindex()
            elapsed = time.perf_counter() - started
            fields = count - subjects
            build_rates.append(fields / elapsed)
            print(f"reindex: {count} entities ({fields} fields) in {elapsed:.2f}s")

        database.execute_sql("DELETE FROM catalog_position")
        database.execute_sql(
            "INSERT INTO catalog_position (outbox, position) VALUES ('registry_outbox', 0)"
        )
        database.execute_sql(
            "INSERT INTO catalog_position (outbox, position) VALUES ('broker_outbox', 0)"
        )
        started = time.perf_counter()
        indexer.catch_up()
        event_elapsed = time.perf_counter() - started
        event_rate = subjects * 20 / event_elapsed
        print(f"event path: {subjects} events in {event_elapsed:.2f}s")

        queries = make_queries(rng, 500)
        port = free_port()
        server = start_server(Path(data_dir), database_url, port)
        try:
            api_p50, api_p95, raw_p50, raw_p95, idx_p95, ratios = [], [], [], [], [], []
            from werkzeug.datastructures import MultiDict

            from catalog.model import Visibility, VisibleNames
            from catalog.params import parse_search

            limited = Visibility(
                topics=VisibleNames(),
                subjects=VisibleNames(
                    literals=frozenset(f"bench{i}-value" for i in range(2000, subjects, 60)[:50]),
                    prefixes=("bench1",),
                ),
                groups=VisibleNames(),
            )
            filtered_p95: list[float] = []

            for _ in range(rounds):
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                api: list[float] = []
                raw: list[float] = []
                index_times: list[float] = []
                filtered: list[float] = []
                for params in queries:
                    url = "/catalog/v1/search?" + urlencode(params)
                    started = time.perf_counter()
                    try:
                        connection.request("GET", url)
                        response = connection.getresponse()
                    except (http.client.RemoteDisconnected, ConnectionError):
                        connection.close()  # the server closed an idle keep-alive connection
                        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                        started = time.perf_counter()
                        connection.request("GET", url)
                        response = connection.getresponse()
                    response.read()
                    api.append(time.perf_counter() - started)
                    assert response.status == 200, (params, response.status)
                    started = time.perf_counter()
                    indexer.index.raw_match(params["q"], 20)
                    raw.append(time.perf_counter() - started)
                    query = parse_search(MultiDict(params))
                    started = time.perf_counter()
                    indexer.index.search(query)
                    index_times.append(time.perf_counter() - started)
                    started = time.perf_counter()
                    indexer.index.search(dataclasses.replace(query, visibility=limited))
                    filtered.append(time.perf_counter() - started)
                connection.close()
                api_p50.append(statistics.median(api) * 1000)
                api_p95.append(percentile(api, 0.95) * 1000)
                raw_p50.append(statistics.median(raw) * 1000)
                raw_p95.append(percentile(raw, 0.95) * 1000)
                idx_p95.append(percentile(index_times, 0.95) * 1000)
                filtered_p95.append(percentile(filtered, 0.95) * 1000)
                ratios.append(api_p95[-1] / raw_p95[-1])
                print(
                    f"search: API p50 {api_p50[-1]:.2f} ms p95 {api_p95[-1]:.2f} ms; raw p50 "
                    f"{raw_p50[-1]:.2f} ms p95 {raw_p95[-1]:.2f} ms; index+facets p95 "
                    f"{idx_p95[-1]:.2f} ms; filtered p95 {filtered_p95[-1]:.2f} ms; "
                    f"API/raw p95 {ratios[-1]:.2f}"
                )
        finally:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(30)
            database.close()

    backend = "PostgreSQL" if database_url else "SQLite"
    print(f"\n== {backend}, {subjects} subjects x 20 fields, {rounds} rounds (median, range)")
    print(f"index build (reindex)    {spread(build_rates, 0, ' fields/s')}")
    print(f"index by events          {event_rate:.0f} fields/s (one round)")
    print(f"API search p50           {spread(api_p50, 2, ' ms')}")
    print(f"API search p95           {spread(api_p95, 2, ' ms')}")
    print(f"raw FTS p50              {spread(raw_p50, 2, ' ms')}")
    print(f"raw FTS p95              {spread(raw_p95, 2, ' ms')}")
    print(f"index+facets p95         {spread(idx_p95, 2, ' ms')}")
    print(f"API p95 / raw p95        {spread(ratios, 2)}  (target <= 3)")
    print(f"filtered p95 (prefix)    {spread(filtered_p95, 2, ' ms')}")
    filtered_ratios = [f / i for f, i in zip(filtered_p95, idx_p95, strict=True)]
    print(f"filtered / unfiltered    {spread(filtered_ratios, 2)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subjects", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--database-url", default=None, help="a PostgreSQL server URL")
    args = parser.parse_args()
    if args.database_url:
        with fresh_postgres(args.database_url) as url:
            run(url, args.subjects, args.rounds)
    else:
        run(None, args.subjects, args.rounds)


if __name__ == "__main__":
    main()
