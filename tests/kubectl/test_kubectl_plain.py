"""`kubectl spiris` without a cluster: kubectl's kubeconfig conventions, the status table and the progress
bar's end condition (the request handled, no Job active, a final phase)."""

from __future__ import annotations

import argparse
import io
from pathlib import Path
from typing import Any

import pytest
from spiris_kubectl.cli import status_rows
from spiris_kubectl.cluster import Cluster
from spiris_kubectl.kube_context import load
from spiris_kubectl.sync_progress import follow
from spiris_kubectl.year_ref import parse_year_ref

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


def test_year_is_a_calendar_year_or_a_fiscal_year_id() -> None:
    assert parse_year_ref("2024") == 2024
    guid = "3F2B6C1E-0B7A-4C1E-9A51-2D4E8F0C1A77"
    assert parse_year_ref(guid) == guid.lower()
    for bad in ("24", "2024-01-01", "next", "3f2b6c1e"):
        with pytest.raises(argparse.ArgumentTypeError, match="neither a calendar year"):
            parse_year_ref(bad)


class _Listed(Cluster):
    """The cluster's matching logic over a fixed list (no API server)."""

    def __init__(self, items: list[dict[str, Any]]) -> None:
        self.items = items

    def fiscal_year_syncs(self, connection: str | None = None) -> list[dict[str, Any]]:
        return [i for i in self.items if i["spec"]["connectionRef"]["name"] == connection]


def test_a_fiscal_year_sync_is_found_by_calendar_year_or_by_id() -> None:
    guid = "3f2b6c1e-0b7a-4c1e-9a51-2d4e8f0c1a77"
    broken = {
        "metadata": {"name": "acme-broken"},
        "spec": {"connectionRef": {"name": "acme"}, "startDate": "2024-07-01"},
        "status": {"year": 2024, "fiscalYearId": guid.upper()},
    }
    calendar = {
        "metadata": {"name": "acme-2024"},
        "spec": {"connectionRef": {"name": "acme"}, "fiscalYear": 2024},
        "status": {},
    }
    cluster = _Listed([calendar, broken])
    assert cluster.fiscal_year_sync("acme", 2024) is calendar
    assert cluster.fiscal_year_sync("acme", guid) is broken
    assert cluster.fiscal_year_sync("acme", 2023) is None
    assert cluster.fiscal_year_sync("other", guid) is None
