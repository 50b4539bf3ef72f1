"""`kubectl spiris` without a cluster: kubectl's kubeconfig conventions, the status table and the progress
bar's end condition (the request handled, no Job active, a final phase)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from spiris_kubectl.cli import status_rows
from spiris_kubectl.kube_context import load
from spiris_kubectl.sync_progress import follow

KUBECONFIG = """apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: abc123}}, {name: cert, user: {username: x, password: y}}]
contexts:
  - {name: a, context: {cluster: c, user: u, namespace: clients}}
  - {name: b, context: {cluster: c, user: cert}}
current-context: a
"""


def test_kubeconfig_conventions(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "config"
    path.write_text(KUBECONFIG)
    context = load(kubeconfig=str(path), context=None, namespace=None)
    assert context.bearer_token == "abc123" and context.namespace == "clients"
    assert load(kubeconfig=str(path), context=None, namespace="other").namespace == "other"
    other = load(kubeconfig=str(path), context="b", namespace=None)
    assert other.namespace == "default" and other.bearer_token is None
    monkeypatch.setenv("KUBECONFIG", str(path))
    assert load(kubeconfig=None, context=None, namespace=None).bearer_token == "abc123"


def test_status_table_lists_connections_and_their_years() -> None:
    connections = [
        {
            "metadata": {"name": "demo"},
            "status": {
                "phase": "Connected",
                "company": {"name": "Demo AB"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        },
        {"metadata": {"name": "new"}, "status": {"phase": "PendingConsent"}},
    ]
    syncs = [
        {
            "metadata": {"name": "demo-2024"},
            "spec": {"connectionRef": {"name": "demo"}, "fiscalYear": 2024},
            "status": {"phase": "Succeeded", "progress": {"percent": 100}, "counts": {"vouchers": 300}},
        }
    ]
    rows = status_rows(connections, syncs)
    assert rows[1][:6] == ["demo", "Demo AB", "Connected", "True", "2024", "Succeeded"]
    assert rows[1][6:8] == ["100%", "300"] and rows[2][:5] == ["new", "", "PendingConsent", "Unknown", "-"]


def test_progress_follows_until_the_request_is_handled_and_finished() -> None:
    states: list[dict[str, Any]] = [
        {"status": {"phase": "Succeeded", "lastHandledSyncRequest": "old"}},
        {
            "status": {
                "phase": "Running",
                "lastHandledSyncRequest": "now",
                "activeJob": "j",
                "progress": {"percent": 40, "stage": "vouchers", "vouchers": {"done": 4, "total": 10}},
            }
        },
        {"status": {"phase": "Succeeded", "lastHandledSyncRequest": "now", "counts": {"vouchers": 10}}},
    ]
    reads = iter(states)
    out = io.StringIO()
    final = follow(lambda: next(reads), request="now", timeout=60, out=out, sleep=lambda _: None)
    assert final["phase"] == "Succeeded" and "%|" in out.getvalue() and "vouchers 4/10" in out.getvalue()
    with pytest.raises(TimeoutError):
        clock = iter(range(0, 1000, 50))
        follow(
            lambda: states[0],
            request="now",
            timeout=60,
            out=io.StringIO(),
            sleep=lambda _: None,
            clock=lambda: float(next(clock)),
        )
