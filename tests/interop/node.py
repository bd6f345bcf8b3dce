"""Run one of tests/interop/js's node scripts and read the JSON lines it prints."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

__all__ = ["run_node_script"]


def run_node_script(js_dir: Path, script: str, *args: str) -> list[dict[str, Any]]:
    """``node script args…`` in ``js_dir`` (kafkajs installed); its JSON lines, in order."""
    completed = subprocess.run(
        ["node", script, *args], cwd=js_dir, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return [json.loads(line) for line in completed.stdout.splitlines() if line.startswith("{")]
