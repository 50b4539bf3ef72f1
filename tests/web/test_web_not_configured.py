"""`spiris-web` started as a default chart install starts it: no public URL, no OAuth client, no link key.

It serves instead of exiting: /healthz 200, /readyz 503 naming what is missing by chart value, every consent
page a localized 503 "not set up yet" page (through the real browser), one log line naming the gaps, and
metrics on their own port. Malformed values still stop it with exit 2.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from spiris_connection import install_settings
from spiris_localstack.processes import free_port
from spiris_web.not_configured import MissingSettings
from spiris_web.settings import SettingsError, missing_settings

pytestmark = pytest.mark.timeout(60)
CLI = str(Path(sys.executable).with_name("spiris-web"))


def _environment(**spiris: str) -> dict[str, str]:
    return {**{k: v for k, v in os.environ.items() if not k.startswith("SPIRIS_")}, **spiris}


def test_missing_values_are_listed_and_malformed_ones_refused() -> None:
    assert missing_settings({}) == install_settings.CONSENT_SETTINGS
    partial = {"SPIRIS_WEB_PUBLIC_URL": "https://consent.example", "SPIRIS_CLIENT_ID": "c"}
    assert missing_settings(partial) == (install_settings.CLIENT_SECRET, install_settings.LINK_SIGNING_KEY)
    # A wrong value is refused although others are still missing.
    with pytest.raises(SettingsError, match="SPIRIS_LINK_SIGNING_KEY must be at least 16"):
        missing_settings({"SPIRIS_LINK_SIGNING_KEY": "short"})


def test_the_report_is_logged_at_most_every_five_minutes(caplog: pytest.LogCaptureFixture) -> None:
    now = [1000.0]
    report = MissingSettings((install_settings.PUBLIC_URL,), clock=lambda: now[0])
    with caplog.at_level("WARNING", logger="spiris_web"):
        assert report.log_if_due()
        now[0] += 299
        assert not report.log_if_due()
        now[0] += 1
        assert report.log_if_due()
    assert [r.getMessage().count("publicUrl") for r in caplog.records] == [1, 1]


@pytest.mark.parametrize(
    ("spiris", "message"),
    [
        ({"SPIRIS_WEB_PUBLIC_URL": "consent.example.com"}, "SPIRIS_WEB_PUBLIC_URL must be an absolute"),
        ({"SPIRIS_LINK_SIGNING_KEY": "short"}, "SPIRIS_LINK_SIGNING_KEY must be at least 16"),
    ],
)
def test_cli_refuses_a_malformed_value(spiris: dict[str, str], message: str) -> None:
    result = subprocess.run(
        [CLI, "--port", "1"], env=_environment(**spiris), capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 2
    assert message in result.stderr


@dataclass
class NotConfiguredWeb:
    url: str
    metrics_url: str
    log: Path

    def log_entries(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def unconfigured_web(tmp_path_factory: pytest.TempPathFactory) -> Iterator[NotConfiguredWeb]:
    port, metrics_port = free_port(), free_port()
    env = _environment(
        SPIRIS_WEB_METRICS_PORT=str(metrics_port),
        SPIRIS_WEB_PRODUCT_NAME="Acme Revision",
        PYTHONUNBUFFERED="1",
    )
    log = tmp_path_factory.mktemp("unconfigured-web") / "web.log"
    with log.open("w") as sink:
        process = subprocess.Popen(
            [CLI, "--host", "127.0.0.1", "--port", str(port)], env=env, stdout=sink, stderr=subprocess.STDOUT
        )
    web = NotConfiguredWeb(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}", log)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{web.url}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert process.poll() is None, "spiris-web exited although only values are missing"
            assert time.monotonic() < deadline, "spiris-web did not come up"
            time.sleep(0.1)
        yield web
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_readiness_names_every_missing_value_by_chart_value(unconfigured_web: NotConfiguredWeb) -> None:
    for _ in range(3):  # probes every 10 s in the chart; the gaps are logged once, not per probe
        ready = httpx.get(f"{unconfigured_web.url}/readyz")
        assert ready.status_code == 503
    body = ready.json()
    assert (body["ready"], body["reason"]) == (False, "NotConfigured")
    missing = {item["env"]: item for item in body["missing"]}
    assert list(missing) == [
        "SPIRIS_WEB_PUBLIC_URL",
        "SPIRIS_CLIENT_ID",
        "SPIRIS_CLIENT_SECRET",
        "SPIRIS_LINK_SIGNING_KEY",
    ]
    assert missing["SPIRIS_WEB_PUBLIC_URL"]["value"] == "publicUrl"
    secret = missing["SPIRIS_CLIENT_SECRET"]
    assert (secret["secret"], secret["key"]) == ("spiris-oauth-client", "client-secret")
    assert (secret["value"], secret["keyValue"]) == (
        "spiris.oauthClient.existingSecret",
        "spiris.oauthClient.clientSecretKey",
    )
    assert missing["SPIRIS_LINK_SIGNING_KEY"]["secret"] == "spiris-link-signing-key"
    assert "publicUrl" in body["message"] and "spiris-link-signing-key" in body["message"]
    assert httpx.get(f"{unconfigured_web.url}/healthz").status_code == 200
    # Metrics still serve on their own port.
    exposed = httpx.get(f"{unconfigured_web.metrics_url}/metrics").text
    assert 'spiris_web_request_duration_seconds_count{route="/readyz"} 3.0' in exposed


def test_every_page_says_not_set_up_yet(unconfigured_web: NotConfiguredWeb) -> None:
    base = unconfigured_web.url
    for method, path in (
        ("GET", "/consent/some-link-token"),
        ("POST", "/consent/some-link-token"),
        ("GET", "/oauth/callback?code=CODE-SHOULD-NOT-LEAK&state=STATE-SHOULD-NOT-LEAK"),
        ("GET", "/result/some-result-token"),
    ):
        response = httpx.request(method, f"{base}{path}")
        assert response.status_code == 503, path
        assert "inte färdig att användas än" in response.text
        assert "Traceback" not in response.text and "SHOULD-NOT-LEAK" not in response.text
        assert response.headers["cache-control"] == "no-store"
    assert httpx.get(f"{base}/somewhere-else").status_code == 404


def test_the_page_in_a_browser_in_both_languages(unconfigured_web: NotConfiguredWeb, page: Any) -> None:
    response = page.goto(f"{unconfigured_web.url}/consent/some-link-token")
    assert response.status == 503
    assert page.locator("html").get_attribute("lang") == "sv"
    assert page.locator("h1").inner_text() == "Tjänsten är inte färdig att användas än"
    assert "Acme Revision håller fortfarande på att sättas upp" in page.locator("main").inner_text()
    page.get_by_role("link", name="In English").click()
    page.wait_for_load_state()
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator("h1").inner_text() == "This service is not set up yet"
    assert "Acme Revision is still being set up" in page.locator("main").inner_text()


def test_the_log_names_the_gaps_once(unconfigured_web: NotConfiguredWeb) -> None:
    for _ in range(3):  # probes within five minutes repeat nothing
        assert httpx.get(f"{unconfigured_web.url}/readyz").status_code == 503
    httpx.get(f"{unconfigured_web.url}/oauth/callback?code=CODE-SHOULD-NOT-LEAK")
    entries = unconfigured_web.log_entries()  # every line is one JSON object
    reports = [e for e in entries if e.get("reason") == "NotConfigured"]
    assert len(reports) == 1
    [report] = reports
    assert report["level"] == "warning"
    assert report["missing"] == [s.env for s in install_settings.CONSENT_SETTINGS]
    for named in ("publicUrl", "spiris.oauthClient.clientIdKey", "linkSigningKey.existingSecret"):
        assert named in report["message"]
    assert "SHOULD-NOT-LEAK" not in unconfigured_web.log.read_text()
    assert not any(e.get("level") == "error" for e in entries)
