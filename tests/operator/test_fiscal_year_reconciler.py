"""The FiscalYearSync reconciler called directly against the real API server, with Job outcomes written the
way the Job controller writes them (its pods wait for Secrets this namespace never gets, so the controller
never decides first): retries with backoff, no retry for consent problems, the cap, suspend.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException
from spiris_operator import conditions, sync_jobs
from spiris_operator.fiscal_year_reconciler import FysContext, FysResult, reconcile_fiscal_year_sync
from spiris_operator.job_cap import JobCap
from spiris_operator.kube_api import KubeApi
from spiris_operator.settings import load_settings
from testkit.operator_stack import create_connection, create_fiscal_year_sync

pytestmark = pytest.mark.timeout(60)

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
YEARS = [
    {"id": "fy-2024", "startDate": "2024-01-01", "endDate": "2024-12-31", "locked": True},
    {"id": "fy-2025", "startDate": "2025-01-01", "endDate": "2025-12-31", "locked": False},
]


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _ready_connection(kube: KubeApi, namespace: str) -> None:
    create_connection(kube, namespace, "acme")
    ready = {"type": "Ready", "status": "True", "reason": "Connected", "message": "ok"}
    kube.patch_status(
        "spirisconnections",
        namespace,
        "acme",
        {"phase": "Connected", "fiscalYears": YEARS, "conditions": [ready]},
    )


def _context(kube: KubeApi, clock: Clock, *, running: int = 0, limit: int = 4) -> FysContext:
    settings = load_settings({"SPIRIS_SYNC_RETRY_BASE_SECONDS": "30"})
    return FysContext(
        kube=kube,
        settings=settings,
        cap=JobCap(limit=limit, count_running=lambda: running),
        read_run=lambda key, year: None,
        clock=clock,
    )


def _pass(kube: KubeApi, namespace: str, ctx: FysContext, name: str = "acme-2025") -> FysResult:
    """One reconcile pass, its status written back like the handler does."""
    fys = kube.get_custom("fiscalyearsyncs", namespace, name)
    assert fys is not None
    result = reconcile_fiscal_year_sync(fys, ctx)
    kube.patch_status("fiscalyearsyncs", namespace, name, result.status)
    return result


def _finish_job(kube: KubeApi, namespace: str, name: str, condition: dict[str, Any]) -> None:
    """The terminal conditions as the Job controller sets them: the API server accepts Failed only after
    FailureTarget and Complete only after SuccessCriteriaMet, with the matching counts."""
    now = datetime.now(tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    first = {
        "type": "FailureTarget" if condition["type"] == "Failed" else "SuccessCriteriaMet",
        "status": "True",
        "reason": condition.get("reason", "CompletionsReached"),
        "message": condition.get("message", ""),
        "lastTransitionTime": now,
    }
    final = {"status": "True", "lastTransitionTime": now, **condition}
    status: dict[str, Any] = {"conditions": [first, final], "active": 0, "ready": 0, "terminating": 0}
    if condition["type"] == "Complete":
        status.update(succeeded=1, completionTime=now)
    else:
        status.update(failed=1)
    # The terminal conditions need a startTime, which is immutable once the real Job controller has set it;
    # it may set it between our read and our patch, so a refusal for that field means patching without it.
    if not kube.batch.read_namespaced_job_status(name, namespace).status.start_time:
        try:
            kube.batch.patch_namespaced_job_status(name, namespace, {"status": {**status, "startTime": now}})
            return
        except ApiException as error:
            if error.status != 422 or "status.startTime" not in (error.body or ""):
                raise
    kube.batch.patch_namespaced_job_status(name, namespace, {"status": status})


def _status(kube: KubeApi, namespace: str, name: str = "acme-2025") -> dict[str, Any]:
    return (kube.get_custom("fiscalyearsyncs", namespace, name) or {}).get("status") or {}


def test_failed_run_is_retried_with_backoff_and_state_in_status(kube: KubeApi, kube_namespace: str) -> None:
    _ready_connection(kube, kube_namespace)
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2025", {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}
    )
    clock = Clock()
    ctx = _context(kube, clock)

    first = _pass(kube, kube_namespace, ctx)
    assert first.status["activeJob"] == "acme-2025-sync-1" and first.status["phase"] == "Running"
    assert (first.status["fiscalYearId"], first.status["year"]) == ("fy-2025", 2025)
    _finish_job(
        kube,
        kube_namespace,
        "acme-2025-sync-1",
        {"type": "Failed", "reason": "BackoffLimitExceeded", "message": "failed with exit code 4"},
    )
    failed = _pass(kube, kube_namespace, ctx)
    assert failed.finished_outcome == "SpirisUnavailable"
    status = _status(kube, kube_namespace)
    assert (status["phase"], status["attempts"]) == ("Failed", 1)
    assert status["nextAttemptTime"] == "2026-03-01T12:00:30Z"
    assert conditions.find(status["conditions"], "Synced")["reason"] == "SpirisUnavailable"

    # Before the backoff is over nothing happens (a fresh context: state comes from status only).
    clock.now = T0 + timedelta(seconds=10)
    _pass(kube, kube_namespace, _context(kube, clock))
    assert not _status(kube, kube_namespace).get("activeJob")
    clock.now = T0 + timedelta(seconds=31)
    retried = _pass(kube, kube_namespace, _context(kube, clock))
    assert retried.status["activeJob"] == "acme-2025-sync-2"
    job = kube.get_job(kube_namespace, "acme-2025-sync-2")
    assert job is not None and job["metadata"]["annotations"]["spiris.senseworks.io/trigger"] == "retry"
    _finish_job(
        kube,
        kube_namespace,
        "acme-2025-sync-2",
        {"type": "Failed", "reason": "BackoffLimitExceeded", "message": "failed with exit code 4"},
    )
    _pass(kube, kube_namespace, _context(kube, clock))
    status = _status(kube, kube_namespace)
    assert status["attempts"] == 2 and status["nextAttemptTime"] == "2026-03-01T12:01:31Z"  # 60 s later


def test_consent_failure_is_not_retried_and_success_resets_attempts(
    kube: KubeApi, kube_namespace: str
) -> None:
    _ready_connection(kube, kube_namespace)
    create_fiscal_year_sync(
        kube,
        kube_namespace,
        "acme-2025",
        {"connectionRef": {"name": "acme"}, "fiscalYear": 2025, "schedule": "6h"},
    )
    clock = Clock()
    _pass(kube, kube_namespace, _context(kube, clock))
    _finish_job(
        kube,
        kube_namespace,
        "acme-2025-sync-1",
        {
            "type": "Failed",
            "reason": "PodFailurePolicy",
            "message": "failed with exit code 3 matching FailJob",
        },
    )
    result = _pass(kube, kube_namespace, _context(kube, clock))
    assert result.consent_problem
    status = _status(kube, kube_namespace)
    assert status["lastJobOutcome"] == "ConsentRequired" and not status.get("nextAttemptTime")
    clock.now = T0 + timedelta(days=1)
    _pass(kube, kube_namespace, _context(kube, clock))
    assert not _status(kube, kube_namespace).get("activeJob"), "no automatic retry"

    # A requested sync runs anyway; its success resets the attempts and schedules the next run.
    kube.patch_metadata(
        "fiscalyearsyncs",
        kube_namespace,
        "acme-2025",
        {"annotations": {"spiris.senseworks.io/sync-requested-at": "now"}},
    )
    _pass(kube, kube_namespace, _context(kube, clock))
    _finish_job(kube, kube_namespace, "acme-2025-sync-2", {"type": "Complete"})
    _pass(kube, kube_namespace, _context(kube, clock))
    status = _status(kube, kube_namespace)
    assert (status["phase"], status["attempts"]) == ("Succeeded", 0)
    next_sync = datetime.fromisoformat(status["nextSyncTime"].replace("Z", "+00:00"))
    assert clock.now + timedelta(hours=6) <= next_sync <= clock.now + timedelta(hours=6, minutes=36)


def test_cap_queues_and_suspend_holds(kube: KubeApi, kube_namespace: str) -> None:
    _ready_connection(kube, kube_namespace)
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2025", {"connectionRef": {"name": "acme"}, "fiscalYear": 2025}
    )
    create_fiscal_year_sync(
        kube,
        kube_namespace,
        "acme-2024",
        {"connectionRef": {"name": "acme"}, "fiscalYear": 2024, "suspend": True},
    )
    clock = Clock()
    full = _pass(kube, kube_namespace, _context(kube, clock, running=2, limit=2))
    assert full.status["phase"] == "Queued" and not kube.get_job(kube_namespace, "acme-2025-sync-1")
    _pass(kube, kube_namespace, _context(kube, clock, running=1, limit=2))
    assert kube.get_job(kube_namespace, "acme-2025-sync-1") is not None
    held = _pass(kube, kube_namespace, _context(kube, clock), name="acme-2024")
    assert held.status["phase"] == "Pending" and not kube.get_job(kube_namespace, "acme-2024-sync-1")


def test_unknown_fiscal_year_is_a_condition(kube: KubeApi, kube_namespace: str) -> None:
    _ready_connection(kube, kube_namespace)
    create_fiscal_year_sync(
        kube, kube_namespace, "acme-2019", {"connectionRef": {"name": "acme"}, "fiscalYear": 2019}
    )
    result = _pass(kube, kube_namespace, _context(kube, Clock()), name="acme-2019")
    ready = conditions.find(result.status["conditions"], "Ready")
    assert ready is not None and ready["reason"] == "FiscalYearNotFound"


def test_full_cap_serves_sync_now_by_headroom_then_queued_runs_by_priority(
    kube: KubeApi, kube_namespace: str
) -> None:
    """Cap 1, headroom 1, the cap held by a running Job: a requested sync gets its Job at once; the queued
    runs get the freed slots best class first, whichever reconciles first; a yielded slice goes on at once."""
    _ready_connection(kube, kube_namespace)
    for name, year in [("hog", 2024), ("old", 2024), ("new", 2025), ("asked", 2024)]:
        create_fiscal_year_sync(
            kube, kube_namespace, name, {"connectionRef": {"name": "acme"}, "fiscalYear": year}
        )
    kube.patch_metadata(
        "fiscalyearsyncs",
        kube_namespace,
        "asked",
        {"annotations": {"spiris.senseworks.io/sync-requested-at": "1"}},
    )

    def count_running() -> int:
        jobs = kube.list_jobs(kube_namespace, selector=sync_jobs.active_job_selector())
        return sum(1 for job in jobs if sync_jobs.job_state(job).phase != "Finished")

    clock = Clock()
    ctx = FysContext(
        kube=kube,
        settings=load_settings({}),
        cap=JobCap(limit=1, headroom=1, count_running=count_running, clock=clock),
        read_run=lambda key, year: None,
        clock=clock,
    )

    def env_of(job_name: str) -> dict[str, str]:
        job = kube.get_job(kube_namespace, job_name)
        assert job is not None
        return {
            e["name"]: e.get("value", "") for e in job["spec"]["template"]["spec"]["containers"][0]["env"]
        }

    assert _pass(kube, kube_namespace, ctx, "hog").status["phase"] == "Running"
    clock.now += timedelta(seconds=1)
    assert _pass(kube, kube_namespace, ctx, "old").status["queuePosition"] == 1
    clock.now += timedelta(seconds=1)
    assert _pass(kube, kube_namespace, ctx, "new").status["queuePosition"] == 1
    old = _status(kube, kube_namespace, "old") | _pass(kube, kube_namespace, ctx, "old").status
    assert (old["phase"], old["priority"], old["queuePosition"]) == ("Queued", "backfill", 2)
    assert "position 2 in the queue" in conditions.find(old["conditions"], "Synced")["message"]

    asked = _pass(kube, kube_namespace, ctx, "asked").status
    assert (asked["phase"], asked["priority"]) == ("Running", "on-demand"), "sync now waits behind nobody"
    assert env_of("asked-sync-1")["SPIRIS_SYNC_PRIORITY"] == "on-demand"
    assert "SPIRIS_SYNC_TIME_SLICE_SECONDS" not in env_of("asked-sync-1")

    for done in ("hog-sync-1", "asked-sync-1"):
        _finish_job(kube, kube_namespace, done, {"type": "Complete"})
    # The backfill run reconciles first, but the first sync of the latest year is ahead of it.
    assert _pass(kube, kube_namespace, ctx, "old").status["phase"] == "Queued"
    new = _pass(kube, kube_namespace, ctx, "new").status
    assert (new["phase"], new["priority"], new.get("queuePosition")) == ("Running", "first-sync", None)
    _finish_job(kube, kube_namespace, "new-sync-1", {"type": "Complete"})
    assert _pass(kube, kube_namespace, ctx, "old").status["phase"] == "Running"
    assert env_of("old-sync-1")["SPIRIS_SYNC_TIME_SLICE_SECONDS"] == "900"

    # Its time slice used up (exit 8): no failure, no attempt; the next slice starts in the same pass.
    yielded = {
        "type": "Failed",
        "reason": "PodFailurePolicy",
        "message": "failed with exit code 8 matching FailJob",
    }
    _finish_job(kube, kube_namespace, "old-sync-1", yielded)
    result = _pass(kube, kube_namespace, ctx, "old")
    status = _status(kube, kube_namespace, "old")
    assert result.finished_outcome == "Yielded" and result.job_started
    assert (status["phase"], status["activeJob"], status["priority"]) == ("Running", "old-sync-2", "backfill")
    assert not status.get("attempts") and not status.get("nextAttemptTime")
    job = kube.get_job(kube_namespace, "old-sync-2")
    assert job is not None and job["metadata"]["annotations"]["spiris.senseworks.io/trigger"] == "resumed"
