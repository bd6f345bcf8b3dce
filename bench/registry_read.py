"""Registry read throughput: ``GET /schemas/ids/{id}`` against a bare Flask route, side by side.

Run as ``python bench/registry_read.py`` (or ``charter bench registry_read``).

The script registers one schema in a temporary data directory, then starts the
production HTTP server — gunicorn with exactly the worker settings of
``charter serve http`` — over an app built by ``charter.app.create_app`` plus
one extra route, ``/bare/schemas/ids/<id>``, that returns the same JSON body
from memory without touching the registry. A load generator on loopback (wrk
when installed, else a multi-threaded keep-alive Python client) measures
requests per second of both routes in alternating rounds in one run, and the
script prints the ratio registry/bare. The target is a ratio of at least 0.8:
the registry's read path should cost little more than Flask itself.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from support import free_port  # noqa: E402 - bench/ is on sys.path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from charter.config import Settings  # noqa: E402

CONTENT_TYPE = "application/vnd.schemaregistry.v1+json"
BENCH_SCHEMA = {
    "type": "record",
    "name": "Reading",
    "namespace": "com.example.bench",
    "doc": "A sensor reading, sized like a typical production schema.",
    "fields": [
        {"name": "sensor_id", "type": "string"},
        {"name": "taken_at", "type": {"type": "long", "logicalType": "timestamp-millis"}},
        {"name": "value", "type": "double"},
        {"name": "unit", "type": {"type": "enum", "name": "Unit", "symbols": ["C", "F", "K"]}},
        {"name": "tags", "type": {"type": "map", "values": "string"}, "default": {}},
        {"name": "note", "type": ["null", "string"], "default": None},
    ],
}


# -- the server side (runs in a child process: ``--serve``) -----------------------------------


def build_bench_app(settings: Settings, schema_id: int) -> Any:
    """The registry app plus a bare route answering the same body as ``GET /schemas/ids/{id}``."""
    from flask import Flask

    from charter.app import create_app

    # The body is read through a throwaway app: a Flask app takes no new routes after a request.
    registry_answer = create_app(settings).test_client().get(f"/schemas/ids/{schema_id}")
    if registry_answer.status_code != 200:
        raise SystemExit(f"GET /schemas/ids/{schema_id} answered {registry_answer.status_code}")
    body = registry_answer.get_json()
    content_type = registry_answer.content_type
    app: Flask = create_app(settings)

    @app.get("/bare/schemas/ids/<int:requested_id>")
    def bare_schema_by_id(requested_id: int) -> Any:
        response = app.json.response(body)
        response.content_type = content_type
        return response

    return app


def serve(settings: Settings, schema_id: int, overrides: dict[str, Any]) -> None:
    """gunicorn with ``charter serve http``'s own options (plus ``overrides``), serving the bench
    app."""
    from charter.http_server import _CharterGunicorn

    class BenchGunicorn(_CharterGunicorn):
        def load_config(self) -> None:
            super().load_config()
            for key, value in overrides.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return build_bench_app(self.settings, schema_id)

    BenchGunicorn(settings).run()


# -- the client side ---------------------------------------------------------------------------


def register_schema(settings: Settings) -> int:
    from charter.app import create_app

    client = create_app(settings).test_client()
    response = client.post(
        "/subjects/bench-value/versions",
        data=json.dumps({"schema": json.dumps(BENCH_SCHEMA)}),
        content_type=CONTENT_TYPE,
    )
    if response.status_code != 200:
        raise SystemExit(f"registration failed: {response.status_code} {response.get_data()!r}")
    return int(response.get_json()["id"])


def wait_until_serving(host: str, port: int, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            connection = http.client.HTTPConnection(host, port, timeout=2)
            connection.request("GET", "/")
            connection.getresponse().read()
            connection.close()
            return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start within 60 s")


def run_wrk(url: str, seconds: int, connections: int, threads: int) -> float:
    output = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{connections}", f"-d{seconds}s", url],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    if errors:
        raise SystemExit(f"{url}: {errors.group(1)} error responses\n{output}")
    match = re.search(r"Requests/sec:\s+([\d.]+)", output)
    if match is None:
        raise SystemExit(f"cannot read wrk output:\n{output}")
    return float(match.group(1))


def run_python_client(url: str, seconds: int, connections: int) -> float:
    """Keep-alive HTTP/1.1 clients in threads; returns completed requests per second."""
    parts = re.match(r"http://([^:/]+):(\d+)(/.*)", url)
    assert parts is not None
    host, port, path = parts.group(1), int(parts.group(2)), parts.group(3)
    counts = [0] * connections
    stop_at = time.monotonic() + seconds

    def hammer(slot: int) -> None:
        connection = http.client.HTTPConnection(host, port, timeout=10)
        while time.monotonic() < stop_at:
            connection.request("GET", path)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise SystemExit(f"{url}: HTTP {response.status}")
            counts[slot] += 1
        connection.close()

    workers = [threading.Thread(target=hammer, args=(slot,)) for slot in range(connections)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(counts) / (time.monotonic() - started)


def in_process_cost(calls: int, database_url: str | None = None) -> tuple[float, float]:
    """CPU microseconds per request of both routes, calling the WSGI app directly.

    The routes alternate in batches of 100 calls; each route's cost is its
    fastest batch (process CPU time), the estimate least disturbed by other
    load on a shared machine.
    """
    from werkzeug.test import EnvironBuilder

    data_dir = Path(tempfile.mkdtemp(prefix="charter-bench-cpu-"))
    try:
        settings = Settings(data_dir=data_dir, database_url=database_url)
        own_id = register_schema(settings)
        app = build_bench_app(settings, own_id)
        environs = {
            name: EnvironBuilder(path=path).get_environ()
            for name, path in {
                "registry": f"/schemas/ids/{own_id}",
                "bare": f"/bare/schemas/ids/{own_id}",
            }.items()
        }
        batch = 100
        fastest = {name: float("inf") for name in environs}

        def start_response(status: str, headers: list[tuple[str, str]]) -> None:
            if not status.startswith("200"):
                raise SystemExit(f"in-process call answered {status}")

        for _ in range(max(1, calls // batch)):
            for name, environ in environs.items():
                started = time.process_time()
                for _ in range(batch):
                    b"".join(app(dict(environ), start_response))
                fastest[name] = min(fastest[name], time.process_time() - started)
        return 1e6 * fastest["registry"] / batch, 1e6 * fastest["bare"] / batch
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=2, help="duration of each round")
    parser.add_argument("--rounds", type=int, default=15, help="rounds per route (alternating)")
    parser.add_argument("--calls", type=int, default=20_000, help="in-process calls per route")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--client", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument(
        "--database-url", help="e.g. postgresql://...; default: SQLite in a temporary directory"
    )
    parser.add_argument(
        "--gunicorn",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override one of charter serve http's gunicorn settings (to compare them), "
        "e.g. worker_class=sync, threads=1, workers=3",
    )
    parser.add_argument("--serve", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.serve:
        data_dir, port, schema_id, serve_options = args.serve
        options = json.loads(serve_options)
        settings = Settings(
            data_dir=Path(data_dir),
            http_port=int(port),
            log_level="WARNING",
            database_url=options["database_url"],
        )
        serve(settings, int(schema_id), options["gunicorn"])
        return

    overrides: dict[str, Any] = {}
    for item in args.gunicorn:
        key, _, value = item.partition("=")
        overrides[key] = int(value) if value.isdigit() else value
    client = args.client
    if client == "auto":
        client = "wrk" if shutil.which("wrk") else "python"
    data_dir = Path(tempfile.mkdtemp(prefix="charter-bench-"))
    settings = Settings(data_dir=data_dir, database_url=args.database_url)
    schema_id = register_schema(settings)
    port = free_port()
    serve_options = json.dumps({"database_url": args.database_url, "gunicorn": overrides})
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(data_dir), str(port), str(schema_id)]
        + [serve_options],
        start_new_session=True,
    )
    try:
        wait_until_serving("127.0.0.1", port, server)
        base = f"http://127.0.0.1:{port}"
        routes = {
            "registry": f"{base}/schemas/ids/{schema_id}",
            "bare": f"{base}/bare/schemas/ids/{schema_id}",
        }

        def measure(url: str, seconds: int) -> float:
            if client == "wrk":
                return run_wrk(url, seconds, args.connections, args.threads)
            return run_python_client(url, seconds, args.connections)

        for url in routes.values():  # warm up workers, caches and connections
            measure(url, 1)
        results: dict[str, list[float]] = {name: [] for name in routes}
        for round_number in range(args.rounds):
            order = list(routes) if round_number % 2 == 0 else list(reversed(routes))
            for name in order:
                results[name].append(measure(routes[name], args.seconds))
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=30)
        shutil.rmtree(data_dir, ignore_errors=True)

    # Each round measures both routes back to back, so a round's ratio cancels slow drifts in
    # the machine's load; the median over rounds is the figure reported.
    pair_ratios = [
        registry / bare for registry, bare in zip(results["registry"], results["bare"], strict=True)
    ]
    ratio = statistics.median(pair_ratios)
    print(f"load generator: {client} ({args.connections} keep-alive connections, loopback)")
    database = "PostgreSQL" if args.database_url else "SQLite"
    print(
        f"server: gunicorn as `charter serve http` ({settings.http_workers} workers, gthread)"
        + (f" with {overrides}" if overrides else "")
        + f", {database}, {os.cpu_count()} CPUs"
    )
    print(f"rounds: {args.rounds} x {args.seconds}s per route, alternating order")
    for name in routes:
        rounds = ", ".join(f"{value:,.0f}" for value in results[name])
        print(f"  {name:<9} median {statistics.median(results[name]):>7,.0f} req/s   ({rounds})")
    print("  per-round ratios: " + ", ".join(f"{value:.2f}" for value in pair_ratios))
    if len(pair_ratios) >= 4:
        low, _, high = statistics.quantiles(pair_ratios, n=4)
        print(f"  interquartile range of the ratios: {low:.2f}-{high:.2f}")
    verdict = "meets" if ratio >= 0.8 else "BELOW"
    print(f"ratio registry/bare (median of rounds): {ratio:.2f} ({verdict} the 0.8 target)")
    cpu_registry, cpu_bare = in_process_cost(args.calls, args.database_url)
    print(
        f"in-process CPU per request (WSGI call, no socket, fastest batch): "
        f"registry {cpu_registry:.0f} us, "
        f"bare {cpu_bare:.0f} us, ratio of throughputs {cpu_bare / cpu_registry:.2f}"
    )


if __name__ == "__main__":
    main()
