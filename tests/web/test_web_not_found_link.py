"""The 404 page's language link stays on this site: a path like ``//evil.example`` (or ``/\\evil.example``)
must not become ``href="//evil.example?lang=en"``, which a browser follows to another host."""

from __future__ import annotations

import re
import socket
import warnings

import pytest
from kubernetes import client as k8s
from spiris_web.app import create_app
from spiris_web.settings import WebSettings

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

BASE = "https://consent.example.se"


def _nothing_listening() -> k8s.ApiClient:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    configuration = k8s.Configuration()
    configuration.host = f"http://127.0.0.1:{port}"
    configuration.retries = 0
    return k8s.ApiClient(configuration)


@pytest.mark.parametrize("path", ["//evil.example", "///evil.example", "/\\evil.example", "//evil.example/x"])
def test_the_language_link_of_a_404_stays_local(path: str) -> None:
    settings = WebSettings(
        public_url=BASE,
        client_id="c",
        client_secret="s",
        link_signing_key="not-found-test-signing-key-0123456789",
        identity_url="https://id.example",
    )
    client = TestClient(create_app(settings, kube=_nothing_listening()), base_url=BASE)
    response = client.get(f"{BASE}{path}")
    assert response.status_code == 404
    links = re.findall(r'href="([^"]*\?lang=[a-z]+)"', response.text)
    assert links, response.text[:500]
    for href in links:
        assert href.startswith("/") and not href.startswith(("//", "/\\")), href
