"""`spiris-web` as a real process: readiness, and JSON logs without codes or states (its configuration errors
and the not-configured mode: test_web_not_configured.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from spiris_localstack.processes import free_port

pytestmark = pytest.mark.timeout(60)
SIGNING_KEY = "cli-test-signing-key-0123456789abcdef"
CLI = str(Path(sys.executable).with_name("spiris-web"))


def test_cli_serves_and_logs_json_without_secrets(web_access: Any, sandbox: Any) -> None:
    port, metrics_port = free_port(), free_port()
    env = {
        # /metrics on a port of its own (the chart's web.metricsPort), fed by the same registry.
        "SPIRIS_WEB_METRICS_PORT": str(metrics_port),
        **os.environ,
        "SPIRIS_WEB_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SPIRIS_CLIENT_ID": sandbox.config.client_id,
        "SPIRIS_CLIENT_SECRET": sandbox.config.client_secret,
        "SPIRIS_LINK_SIGNING_KEY": SIGNING_KEY,
        "SPIRIS_IDENTITY_URL": sandbox.url,
        "SPIRIS_API_URL": f"{sandbox.url}/v2",
        "SPIRIS_SANDBOX": "true",
        "KUBECONFIG": web_access.kubeconfig("web"),
    }
    process = subprocess.Popen(
        [CLI, "--host", "127.0.0.1", "--port", str(port)], env=env,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "spiris-web exited early"
            assert time.monotonic() < deadline, "spiris-web did not come up"
            time.sleep(0.1)
        assert httpx.get(f"{base}/readyz").status_code == 200
        callback = httpx.get(f"{base}/oauth/callback", params={"code": "CODE-SHOULD-NOT-LEAK",
                                                               "state": "STATE-SHOULD-NOT-LEAK"})
        assert callback.status_code == 400
        assert "SHOULD-NOT-LEAK" not in callback.text
        assert httpx.get(f"{base}/consent/LINK-SHOULD-NOT-LEAK").status_code == 400
        exposed = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics").text
        assert 'spiris_web_request_duration_seconds_count{route="/oauth/callback"} 1.0' in exposed
        assert "spiris_web_pages_total" in exposed
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    lines = [line for line in output.splitlines() if line.strip()]
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert "SHOULD-NOT-LEAK" not in output
    paths = [e.get("path") for e in entries if e.get("message") == "request"]
    assert "/oauth/callback" in paths and "/consent/[redacted]" in paths
    assert any(e.get("query") == "code=[redacted]&state=[redacted]" for e in entries)
