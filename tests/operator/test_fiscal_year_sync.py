"""FiscalYearSync end to end: operator → Job → local Job runner → the real ``spiris-sync`` worker against the
sandbox, Postgres and S3 → counts, progress and schedule in status; the Job cap; restarts; deletion policies.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx
import psycopg
import pytest
from spiris_localstack.node_agent import NodeAgent
from spiris_localstack.s3 import S3Server
from spiris_operator.kube_api import KubeApi
from spiris_sandbox.server import SandboxServer
from spiris_store.documents import company_prefix
from testkit.operator_stack import (
    condition,
    consent_token,
    create_connection,
    create_fiscal_year_sync,
    events_of,
    store_consent,
)
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(150)

JOBS = "app.kubernetes.io/component=sync-job"


def _fys(kube: KubeApi, namespace: str, name: str) -> dict[str, Any]:
    return kube.get_custom("fiscalyearsyncs", namespace, name) or {}


def _phase(kube: KubeApi, namespace: str, name: str) -> str:
    return str(_fys(kube, namespace, name).get("status", {}).get("phase", ""))


def _ready_connection(
    kube: KubeApi, namespace: str, sandbox: SandboxServer, spec: dict[str, Any], name: str = "acme"
) -> dict[str, Any]:
    connection = create_connection(kube, namespace, name, spec)
    token = consent_token(sandbox.url)
    store_consent(kube, connection, token)
    wait_for(
        lambda: (
            condition(kube.get_custom("spirisconnections", namespace, name), "Ready").get("status")
            == "True"
        ),
        what="connection Ready",
    )
    return {"connection": connection, "token": token}


def _year_truth(control: SandboxControl, start: str) -> dict[str, Any]:
    company = control.company()
    return next(y for y in company["fiscal_years"] if y["start"] == start)


class ProgressWatcher:
    """Records every status.progress seen while the FiscalYearSync is Running."""

    def __init__(self, kube: KubeApi, namespace: str, name: str) -> None:
        self.kube, self.namespace, self.name = kube, namespace, name
        self.seen: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            status = _fys(self.kube, self.namespace, self.name).get("status", {})
            if status.get("phase") == "Running" and status.get("progress"):
                self.seen.append(status["progress"])
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


def test_sync_job_succeeds_with_counts_progress_then_delete_policy_removes_data(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node: NodeAgent,
    s3_server: S3Server,
) -> None:
    operator = start_operator(**spiris_env, **sync_stack)
    ready = _ready_connection(kube, kube_namespace, sandbox, {"deletionPolicy": "Delete"})
    # Slow Spiris down so the run lasts long enough to watch its progress.
    sandbox_control.faults(slow_ms=80)
    watcher = ProgressWatcher(kube, kube_namespace, "acme-2025")
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2025", {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}
    )
    done = wait_for(
        lambda: (
            _phase(kube, kube_namespace, "acme-2025") in {"Succeeded", "Degraded", "Failed"}
            and _fys(kube, kube_namespace, "acme-2025")
        ),
        timeout=100,
        what="the sync to finish",
    )
    watcher.stop()
    status = done["status"]
    job_name = "acme-2025-sync-1"
    assert status["phase"] in {"Succeeded", "Degraded"}, kube_node.job_log(kube_namespace, job_name)
    truth = _year_truth(sandbox_control, "2025-01-01")
    assert status["fiscalYearId"].lower() == truth["id"].lower()
    assert status["counts"]["vouchers"] == truth["vouchers"]
    assert status["counts"]["accounts"] > 0 and status["counts"]["rows"] >= 2 * truth["vouchers"]
    assert status["lastSuccessfulSyncTime"] and status["lastSyncTime"] and status["attempts"] == 0
    reconciliation = status["reconciliation"]
    assert (reconciliation["balanced"], reconciliation["differences"]) == (True, 0)
    # A full run also compares the copy with Spiris' own SIE 4 export of the year.
    assert reconciliation["sie4"]["equal"] is True
    assert reconciliation["sie4"]["matched"] == reconciliation["sie4"]["vouchers"] == truth["vouchers"]
    assert condition(done, "Reconciled")["status"] == "True"
    assert condition(done, "Synced")["status"] == "True"
    assert not status.get("activeJob")
    # Progress was published by the worker while it ran, before the end.
    assert watcher.seen, "no progress seen while Running"
    assert any(p.get("percent", 100) < 100 for p in watcher.seen), watcher.seen

    jobs = kube.list_jobs(kube_namespace, selector=f"{JOBS},spiris.senseworks.io/fiscalyearsync=acme-2025")
    assert [j["metadata"]["name"] for j in jobs] == [job_name]
    assert jobs[0]["metadata"]["ownerReferences"][0]["kind"] == "FiscalYearSync"
    wait_for(lambda: {"JobCreated", "PhaseRunning"} <= {e["reason"] for e in events_of(kube, kube_namespace,
                                                                                        "acme-2025")},
             timeout=10, what="the JobCreated and PhaseRunning Events")

    # Metrics: the last success is exported.
    metrics = httpx.get(
        f"http://127.0.0.1:{operator.env['SPIRIS_OPERATOR_METRICS_PORT']}/metrics", timeout=5
    ).text
    assert 'spiris_fiscalyearsync_last_success_timestamp_seconds{connection="acme"' in metrics
    assert f'spiris_sync_jobs_total{{namespace="{kube_namespace}",outcome="succeeded"}} 1.0' in metrics
    assert f'spiris_connection_ready{{name="acme",namespace="{kube_namespace}"}} 1.0' in metrics
    assert "spiris_token_expiry_timestamp_seconds" in metrics

    # No token in any status, Event, Job spec or log line.
    token = ready["token"]
    visible = "\n".join(
        [
            operator.output,
            kube_node.job_log(kube_namespace, job_name),
            json.dumps(kube.list_custom("fiscalyearsyncs", kube_namespace)),
            json.dumps(kube.list_custom("spirisconnections", kube_namespace)),
            json.dumps(jobs),
            json.dumps(
                kube.api_client.sanitize_for_serialization(kube.core.list_namespaced_event(kube_namespace))
            ),
        ]
    )
    assert token.access_token not in visible and token.refresh_token not in visible

    # deletionPolicy Delete: rows and objects of the company go with the connection.
    company_key = ready["connection"]["metadata"]["uid"]
    minio = s3_server.client()
    bucket = sync_stack["S3_BUCKET"]
    assert list(minio.list_objects(bucket, prefix=company_prefix(company_key), recursive=True))
    kube.delete_custom("spirisconnections", kube_namespace, "acme")
    wait_for(
        lambda: kube.get_custom("spirisconnections", kube_namespace, "acme") is None, what="connection gone"
    )
    with psycopg.connect(sync_stack["DATABASE_URL"]) as conn:
        rows = conn.execute(
            "SELECT count(*) FROM spiris.companies WHERE company_key = %s", (company_key,)
        ).fetchone()
        vouchers = conn.execute(
            "SELECT count(*) FROM spiris.vouchers WHERE company_key = %s", (company_key,)
        ).fetchone()
    assert rows == (0,) and vouchers == (0,)
    assert not list(minio.list_objects(bucket, prefix=company_prefix(company_key), recursive=True))

    # The hand-made FiscalYearSync is not owned by the connection: it stays, saying why it cannot sync.
    def orphaned() -> bool:
        ready = condition(_fys(kube, kube_namespace, "acme-2025"), "Ready")
        return ready.get("reason") == "ConnectionNotFound"

    wait_for(orphaned, what="orphaned sync reports its missing connection")


def test_latest_two_years_make_two_syncs_within_the_job_cap(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node,
) -> None:
    start_operator(**spiris_env, **sync_stack, SPIRIS_MAX_CONCURRENT_JOBS="1")
    sandbox_control.faults(slow_ms=30)
    _ready_connection(kube, kube_namespace, sandbox, {"sync": {"latestFiscalYears": 2, "schedule": "6h"}})
    children = wait_for(
        lambda: len(items := kube.list_custom("fiscalyearsyncs", kube_namespace)) == 2 and items,
        what="two FiscalYearSyncs",
    )
    assert sorted(c["metadata"]["name"] for c in children) == ["acme-2024", "acme-2025"]
    by_name = {c["metadata"]["name"]: c for c in children}
    assert by_name["acme-2025"]["spec"].get("schedule") == "6h"  # open year follows the schedule
    assert "schedule" not in by_name["acme-2024"]["spec"]  # closed year: synced once
    assert all(c["metadata"]["ownerReferences"][0]["kind"] == "SpirisConnection" for c in children)

    # The cap of one: while one runs, the other waits Queued.
    wait_for(
        lambda: (
            sorted([_phase(kube, kube_namespace, "acme-2024"), _phase(kube, kube_namespace, "acme-2025")])
            == ["Queued", "Running"]
        ),
        timeout=40,
        what="one Running, one Queued",
    )
    for name in ("acme-2024", "acme-2025"):
        wait_for(
            lambda n=name: _phase(kube, kube_namespace, n) in {"Succeeded", "Degraded"},
            timeout=100,
            what=name,
        )
    final = {name: _fys(kube, kube_namespace, name)["status"] for name in ("acme-2024", "acme-2025")}
    assert final["acme-2025"]["nextSyncTime"] and not final["acme-2024"].get("nextSyncTime")
    for start, name in (("2024-01-01", "acme-2024"), ("2025-01-01", "acme-2025")):
        assert final[name]["counts"]["vouchers"] == _year_truth(sandbox_control, start)["vouchers"]
    assert len(kube.list_jobs(kube_namespace, selector=JOBS)) == 2


def test_operator_crash_mid_sync_creates_no_duplicate_job(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node,
) -> None:
    first = start_operator(**spiris_env, **sync_stack)
    _ready_connection(kube, kube_namespace, sandbox, {})
    sandbox_control.faults(slow_ms=80)
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2025", {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}
    )
    wait_for(lambda: kube.list_jobs(kube_namespace, selector=JOBS), what="a Job")
    first.kill()
    # The worst moment to crash: the Job exists but the status that records it was never written.
    kube.patch_status("fiscalyearsyncs", kube_namespace, "acme-2025", {"activeJob": None, "runCounter": None})
    start_operator(**spiris_env, **sync_stack)
    wait_for(
        lambda: _phase(kube, kube_namespace, "acme-2025") in {"Succeeded", "Degraded"},
        timeout=100,
        what="done",
    )
    jobs = kube.list_jobs(kube_namespace, selector=JOBS)
    assert [j["metadata"]["name"] for j in jobs] == ["acme-2025-sync-1"]
    assert _fys(kube, kube_namespace, "acme-2025")["status"]["runCounter"] == 1


def test_on_demand_resync_by_annotation(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node,
) -> None:
    start_operator(**spiris_env, **sync_stack)
    _ready_connection(kube, kube_namespace, sandbox, {})
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2024", {"connectionRef": {"name": "acme"}, "fiscalYear": 2024}
    )
    wait_for(
        lambda: _phase(kube, kube_namespace, "acme-2024") in {"Succeeded", "Degraded"},
        timeout=100,
        what="run 1",
    )
    first_sync = _fys(kube, kube_namespace, "acme-2024")["status"]["lastSyncTime"]
    time.sleep(1.1)  # lastSyncTime has second precision
    kube.patch_metadata(
        "fiscalyearsyncs",
        kube_namespace,
        "acme-2024",
        {"annotations": {"spiris.senseworks.io/sync-requested-at": "2026-01-01T00:00:00Z"}},
    )
    wait_for(
        lambda: (
            (s := _fys(kube, kube_namespace, "acme-2024")["status"]).get("runCounter") == 2
            and s.get("phase") in {"Succeeded", "Degraded"}
            and s.get("lastSyncTime") != first_sync
        ),
        timeout=100,
        what="run 2",
    )
    status = _fys(kube, kube_namespace, "acme-2024")["status"]
    assert status["lastHandledSyncRequest"] == "2026-01-01T00:00:00Z"
    assert len(kube.list_jobs(kube_namespace, selector=JOBS)) == 2


def test_missing_or_unready_connection_is_a_condition_not_a_crash(
    kube: KubeApi, kube_namespace: str, start_operator, spiris_env
) -> None:
    operator = start_operator(**spiris_env)
    create_fiscal_year_sync(
        kube, kube_namespace, "orphan-2025", {"connectionRef": {"name": "orphan"}, "fiscalYear": 2025}
    )
    pending = wait_for(
        lambda: (
            condition(f := _fys(kube, kube_namespace, "orphan-2025"), "Ready").get("reason")
            == "ConnectionNotFound"
            and f
        )
    )
    assert pending["status"]["phase"] == "Pending"
    create_connection(kube, kube_namespace, "orphan")
    not_ready = wait_for(
        lambda: (
            condition(f := _fys(kube, kube_namespace, "orphan-2025"), "Ready").get("reason")
            == "ConnectionNotReady"
            and f
        )
    )
    assert "PendingConsent" in condition(not_ready, "Ready")["message"]
    assert not kube.list_jobs(kube_namespace, selector=JOBS)
    assert "Traceback" not in operator.output


def test_the_longest_allowed_connection_name_syncs_end_to_end(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node,
) -> None:
    """63 characters, the CRD's maximum: every child name and label value stays within Kubernetes' limits."""
    name = "a-client-company-with-a-long-name-" + "x" * 29
    assert len(name) == 63
    start_operator(**spiris_env, **sync_stack)
    _ready_connection(kube, kube_namespace, sandbox, {"sync": {"latestFiscalYears": 1}}, name=name)
    child = wait_for(lambda: next(iter(kube.list_custom("fiscalyearsyncs", kube_namespace)), None),
                     what="the FiscalYearSync of the latest year")
    child_name = child["metadata"]["name"]
    assert len(child_name) <= 63 and child_name.endswith("-2025")
    wait_for(lambda: _phase(kube, kube_namespace, child_name) in {"Succeeded", "Degraded"}, timeout=100,
             what="the long-named year to sync")
    jobs = kube.list_jobs(kube_namespace, selector=JOBS)
    assert len(jobs) == 1
    job = jobs[0]
    assert len(job["metadata"]["name"]) <= 63
    assert all(len(value) <= 63 for value in job["metadata"]["labels"].values())
    assert job["metadata"]["labels"]["spiris.senseworks.io/connection"] == name
