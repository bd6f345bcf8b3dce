"""Take the README's screenshots of the catalog UI: ``python -m tests.ui.screenshots [DIR]``.

Seeds a temporary catalog (``tests.ui.seed``), serves it on a free port and
saves PNGs of the main pages into DIR (default ``docs/img``).
"""

from __future__ import annotations

import sys
import tempfile
import threading
from pathlib import Path

from werkzeug.serving import make_server

from charter.app import create_app
from charter.config import Settings
from tests.ui.conftest import CHROMIUM, CHROMIUM_ARGS, ensure_chromium
from tests.ui.seed import seed_catalog

PAGES = {
    "catalog-search.png": "/ui/?q=email",
    "catalog-topic.png": "/ui/topics/orders",
    "catalog-subject-diff.png": "/ui/subjects/orders-value?left=1&right=2#versions-h",
    "catalog-field.png": "/ui/fields/orders-value/customer.customerEmail",
    "catalog-governance.png": "/ui/governance",
}


def main(out_dir: Path) -> None:
    from playwright.sync_api import sync_playwright

    reason = ensure_chromium()
    if reason:
        raise SystemExit(reason)
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as data_dir:
        app = create_app(Settings(data_dir=Path(data_dir)))
        seed_catalog(app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            base = f"http://127.0.0.1:{server.server_port}"
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1200, "height": 800})
                for name, path in PAGES.items():
                    page.goto(base + path)
                    page.screenshot(path=str(out_dir / name))
                    print(out_dir / name)
                browser.close()
        finally:
            server.shutdown()
            app.extensions["charter.events"].stop()
            app.extensions["charter.database"].close()


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("docs/img"))
