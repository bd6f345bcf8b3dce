"""``charter up --auth`` on a fresh data dir: the bootstrap admin's password is printed once."""

from __future__ import annotations

import re
from pathlib import Path

import requests

from tests.charter.processes import launch


def _start(data_dir: Path):
    charter = launch("up", data_dir, extra_args=("--auth",))
    charter.wait_ready()
    return charter


def test_bootstrap_admin_password_is_printed_once_and_works(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    charter = _start(data_dir)
    try:
        match = re.search(
            r"created the user 'admin' \(SystemAdmin\) with the password (\S+)", charter.output
        )
        assert match, charter.output
        password = match.group(1)
        url = f"{charter.url}/security/v1/whoami"
        assert requests.get(url, timeout=10).status_code == 401
        assert requests.get(url, auth=("admin", password), timeout=10).json() == {
            "principal": "User:admin"
        }
        assert password not in charter.output.replace(match.group(0), "")
    finally:
        charter.stop()
    again = _start(data_dir)
    try:
        assert "created the user" not in again.output
    finally:
        again.stop()
