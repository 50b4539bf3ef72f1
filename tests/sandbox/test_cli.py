"""The `spiris-sandbox` console script: starts on a free port, prints users and companies, serves the flow.

Run as a real subprocess (stopped by its PID), which also shows the seed is deterministic across processes.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from spiris_sandbox.cli import CLIENT_SECRET_ENV
from spiris_sandbox.seed import DEMO_EMAIL, generate_user_data

SECRET = "-cli-secret"


@pytest.mark.timeout(60)
def test_cli_serves_auto_approve_flow_with_seeded_companies() -> None:
    command = [
        sys.executable,
        "-m",
        "spiris_sandbox.cli",
        "--port",
        "0",
        "--seed",
        "5",
        "--client-id",
        "cli-client",
        "--redirect-uri",
        "https://localhost:44300/callback",
        "--redirect-uri",
        "http://127.0.0.1:9/cb",
        "--vouchers",
        "30",
        "--auto-approve",
        "2",
        "--rate-limit",
        "50",
        "--fault-force-429",
        "1",
    ]
    # A secret that starts with '-' (as secrets.token_urlsafe makes one in 64) comes through the environment.
    env = {**os.environ, CLIENT_SECRET_ENV: SECRET}
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    try:
        assert process.stdout is not None
        banner = [process.stdout.readline() for _ in range(4)]
        base = banner[0].split(" on ")[1].split()[0]
        assert DEMO_EMAIL in banner[2]
        expected = generate_user_data(5).profiles[1]
        assert f"company 1: {expected.name}  org.nr {expected.org_number}" in banner[3]
        deadline = time.monotonic() + 10
        while True:
            try:
                httpx.get(f"{base}/_sandbox/users").raise_for_status()
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        authorize = httpx.get(
            f"{base}/connect/authorize",
            params={
                "client_id": "cli-client",
                "redirect_uri": "http://127.0.0.1:9/cb",
                "response_type": "code",
                "scope": "ea:api ea:sales_readonly",
                "state": "s",
            },
        )
        code = parse_qs(urlparse(authorize.headers["location"]).query)["code"][0]
        token = httpx.post(
            f"{base}/connect/token",
            data={"grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1:9/cb"},
            auth=("cli-client", SECRET),
        ).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        throttled = httpx.get(f"{base}/v2/companysettings", headers=headers)
        assert throttled.status_code == 429 and "maximum admitted 50 per Minute" in throttled.text
        settings = httpx.get(f"{base}/v2/companysettings", headers=headers).json()
        assert settings["CorporateIdentityNumber"] == generate_user_data(5).profiles[2].org_number
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_cli_refuses_an_unknown_auto_approve_company() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spiris_sandbox.cli", "--port", "0", "--auto-approve", "9"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert (
        result.returncode == 2
        and "spiris-sandbox: auto-approve: the demo user has no company 9" in result.stderr
    )
