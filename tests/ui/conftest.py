"""Browser fixtures: Debian's Chromium driven by Playwright, against a live catalog app.

Chromium is installed from Debian (``apt-get install -y chromium``) when it is
missing and we are root, since Playwright's own browser download cannot work
here; the tests skip, saying why, only when that is impossible.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.install_lock import installing
from tests.ui.seed import seed_catalog

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def ensure_chromium() -> str | None:
    """Install Debian's chromium if missing; the reason it cannot be had, or None."""
    if Path(CHROMIUM).exists():
        return None
    with installing("chromium"):
        return _install_chromium()


def _install_chromium() -> str | None:
    if Path(CHROMIUM).exists():  # another worker installed it while this one waited
        return None
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return f"{CHROMIUM} is missing and cannot be installed (needs root and apt-get)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=900)
        if result.returncode != 0:
            return f"{' '.join(command)} failed: {result.stderr.strip()[-500:]}"
    return None if Path(CHROMIUM).exists() else f"{CHROMIUM} still missing after apt-get"


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed (pip install -e '.[test]')")
    reason = ensure_chromium()
    if reason:
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def live_catalog(tmp_path: Path) -> Iterator[str]:
    """A seeded catalog app served on a free port by a thread; yields its base URL."""
    from werkzeug.serving import make_server

    from charter.app import create_app
    from charter.config import Settings

    app = create_app(Settings(data_dir=tmp_path))
    seed_catalog(app)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        app.extensions["charter.events"].stop()
        app.extensions["charter.database"].close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    yield opened
    context.close()
