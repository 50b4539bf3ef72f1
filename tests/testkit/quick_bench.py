"""`make bench` run as the real command in its quick mode, for the benchmark smoke tests: the command's output
and the JSON document it wrote, after asserting that it exited 0 with no scenario error."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from testkit.paths import REPO


def run_quick_bench(*args: str, json_path: Path, timeout: float) -> tuple[str, dict[str, Any]]:
    """`benchmarks/run.py --quick ARGS --json JSON_PATH`; returns its stdout and the document it wrote."""
    completed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run.py"), "--quick", *args, "--json", str(json_path)],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stdout[-3000:] + completed.stderr[-3000:]
    document: dict[str, Any] = json.loads(json_path.read_text())
    assert document["options"]["errors"] == {}
    return completed.stdout, document
