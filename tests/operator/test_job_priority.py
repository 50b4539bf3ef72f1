"""Prioritised, fair Job slots without Kubernetes: a run's priority class, the order of the runs waiting for a
slot (and the on-demand headroom), what a Job carries of it, and the yielded outcome of exit code 8."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from spiris_operator import run_priority, sync_jobs
from spiris_operator.job_cap import STALE_AFTER, JobCap, QueuedRun
from spiris_operator.metrics import OperatorMetrics
from spiris_operator.settings import JobSettings, load_settings
from spiris_store.budget_priority import Priority
from spiris_sync.job_contract import ExitCode, JobOutcome

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
YEARS = [
    {"id": "fy-2024", "startDate": "2024-01-01"},
    {"id": "fy-2025", "startDate": "2025-01-01"},
]


def _fys(**status: Any) -> dict[str, Any]:
    return {"metadata": {"name": "acme-2025", "namespace": "clients"}, "spec": {}, "status": status}


@pytest.mark.parametrize(
    ("trigger", "latest", "status", "spec", "expected"),
    [
        ("requested", False, {}, {}, Priority.ON_DEMAND),
        ("initial", True, {}, {}, Priority.FIRST_SYNC),
        ("initial", False, {}, {}, Priority.BACKFILL),
        ("scheduled", True, {"lastFullSyncTime": "2026-02-27T12:00:00Z"}, {}, Priority.SCHEDULED),
        ("retry", True, {}, {}, Priority.SCHEDULED),
        # The weekly full pass (the worker's DEFAULT_FULL_PASS_EVERY) and full-mode specs are backfill.
        ("scheduled", True, {"lastFullSyncTime": "2026-02-22T12:00:00Z"}, {}, Priority.BACKFILL),
        ("retry", True, {}, {"mode": "Full"}, Priority.BACKFILL),
        # A resumed run keeps its class, but never above scheduled.
        (run_priority.RESUMED, True, {"priority": "backfill"}, {}, Priority.BACKFILL),
        (run_priority.RESUMED, True, {"priority": "on-demand"}, {}, Priority.SCHEDULED),
        (run_priority.RESUMED, True, {"priority": "first-sync"}, {}, Priority.SCHEDULED),
        (run_priority.RESUMED, True, {}, {}, Priority.SCHEDULED),
    ],
)
def test_run_priority(
    trigger: str, latest: bool, status: dict[str, Any], spec: dict[str, Any], expected: Priority
) -> None:
    fys = {**_fys(**status), "spec": spec}
    assert run_priority.run_priority(trigger=trigger, fys=fys, latest_year=latest, now=T0) == expected


def test_latest_year_is_the_one_starting_last() -> None:
    assert run_priority.is_latest_year("fy-2025", list(reversed(YEARS)))
    assert not run_priority.is_latest_year("fy-2024", YEARS)
    assert not run_priority.is_latest_year("fy-2025", [])
    assert run_priority.resumes_after_yield({"lastJobOutcome": "Yielded", "activeJob": None})
    assert not run_priority.resumes_after_yield({"lastJobOutcome": "Yielded", "activeJob": "j"})


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now


def _run(name: str, priority: Priority, minute: int = 0) -> QueuedRun:
    return QueuedRun(priority=priority, queued_since=T0 + timedelta(minutes=minute), key=("ns", name))


def _ask(cap: JobCap, run: QueuedRun, running: list[str]) -> int | None:
    """One reconcile's ask: creates the "Job" when allowed; the queue position when not."""
    with cap.slot(run) as answer:
        if answer:
            running.append(run.key[1])
            return None
        return answer.position


def test_freed_slot_goes_to_the_best_waiting_run_not_the_first_to_ask() -> None:
    running = ["a", "b"]
    clock = Clock()
    cap = JobCap(limit=2, count_running=lambda: len(running), clock=clock)
    backfill = _run("old-year", Priority.BACKFILL, 0)
    scheduled = _run("hourly", Priority.SCHEDULED, 5)
    first_a = _run("new-client-a", Priority.FIRST_SYNC, 9)
    first_b = _run("new-client-b", Priority.FIRST_SYNC, 7)
    assert [_ask(cap, r, running) for r in (backfill, scheduled, first_a, first_b)] == [1, 1, 1, 1]
    assert cap.next_in_line(2) == [("ns", "new-client-b"), ("ns", "new-client-a")]
    running.remove("a")
    # Whoever reconciles first: the worse runs are told to wait, with their place.
    assert _ask(cap, backfill, running) == 4
    assert _ask(cap, first_a, running) == 2
    assert _ask(cap, first_b, running) is None
    assert running == ["b", "new-client-b"]
    assert [w.key[1] for w in cap.waiting()] == ["new-client-a", "hourly", "old-year"]
    running.remove("b")
    assert _ask(cap, scheduled, running) == 2
    assert _ask(cap, first_a, running) is None
    # A run that stops asking (its sync vanished unnoticed) stops holding the others back.
    clock.now += STALE_AFTER + timedelta(seconds=1)
    cap.remember(backfill)
    running.remove("new-client-b")
    assert _ask(cap, backfill, running) is None


def test_on_demand_runs_use_the_headroom_and_wait_in_their_own_order() -> None:
    running = ["a", "b"]
    cap = JobCap(limit=2, headroom=1, count_running=lambda: len(running))
    cap.remember(_run("first", Priority.FIRST_SYNC, 0))
    assert _ask(cap, _run("sync-now-1", Priority.ON_DEMAND, 5), running) is None
    assert _ask(cap, _run("sync-now-2", Priority.ON_DEMAND, 6), running) == 1
    assert _ask(cap, _run("first", Priority.FIRST_SYNC, 0), running) == 2
    cap.withdraw(("ns", "sync-now-2"))
    assert [w.key[1] for w in cap.waiting()] == ["first"]
    with cap.slot() as plain:  # without a run only the cap counts
        assert not plain


def test_waiting_run_is_rebuilt_from_status() -> None:
    status = {"phase": "Queued", "priority": "first-sync", "queuedSince": "2026-03-01T12:00:00Z"}
    assert QueuedRun.from_status(("ns", "x"), status) == QueuedRun(Priority.FIRST_SYNC, T0, ("ns", "x"))
    assert QueuedRun.from_status(("ns", "x"), {**status, "phase": "Running"}) is None
    assert QueuedRun.from_status(("ns", "x"), {**status, "priority": "urgent"}) is None


FYS = {
    "metadata": {"name": "acme-2025", "namespace": "clients", "uid": "fys-uid", "annotations": {}},
    "spec": {"connectionRef": {"name": "acme"}, "fiscalYear": 2025},
}
CONNECTION = {"metadata": {"name": "acme", "namespace": "clients", "uid": "conn-uid"}}


def _env(priority: Priority, settings: JobSettings) -> dict[str, str]:
    job = sync_jobs.build_job(
        fys=FYS,
        connection=CONNECTION,
        run=1,
        fiscal_year=2025,
        fiscal_year_id="fy-2025",
        settings=settings,
        trigger="scheduled",
        priority=priority,
    )
    container = job["spec"]["template"]["spec"]["containers"][0]
    return {e["name"]: e.get("value", "") for e in container["env"]}


def test_job_carries_its_priority_and_background_runs_their_time_slice() -> None:
    settings = load_settings({}).jobs
    assert settings.documents_time_slice_seconds == 900
    assert load_settings({}).on_demand_headroom == 2
    assert load_settings({"SPIRIS_ON_DEMAND_JOB_HEADROOM": "0"}).on_demand_headroom == 0
    for priority, sliced in [
        (Priority.ON_DEMAND, False),
        (Priority.FIRST_SYNC, False),
        (Priority.SCHEDULED, True),
        (Priority.BACKFILL, True),
    ]:
        env = _env(priority, settings)
        assert env["SPIRIS_SYNC_PRIORITY"] == priority.env_value
        assert ("SPIRIS_SYNC_TIME_SLICE_SECONDS" in env) is sliced
    off = load_settings({"SPIRIS_SYNC_TIME_SLICE_SECONDS": "0"}).jobs
    assert "SPIRIS_SYNC_TIME_SLICE_SECONDS" not in _env(Priority.BACKFILL, off)


def test_exit_code_8_ends_the_job_as_yielded_without_a_pod_retry() -> None:
    job = sync_jobs.build_job(
        fys=FYS,
        connection=CONNECTION,
        run=1,
        fiscal_year=2025,
        fiscal_year_id="fy-2025",
        settings=JobSettings(),
        trigger="scheduled",
    )
    rules = job["spec"]["podFailurePolicy"]["rules"]
    ending = [r for r in rules if r["action"] == "FailJob" and ExitCode.YIELDED in r["onExitCodes"]["values"]]
    assert len(ending) == 1
    message = "Container sync for pod clients/x failed with exit code 8 matching FailJob rule at index 1"
    failed = {"type": "Failed", "status": "True", "reason": "PodFailurePolicy", "message": message}
    state = sync_jobs.job_state({"status": {"conditions": [failed]}})
    assert (state.phase, state.outcome, state.exit_code) == ("Finished", JobOutcome.YIELDED, 8)


def _sample(metrics: OperatorMetrics, metric: str, **labels: str) -> float | None:
    return metrics.registry.get_sample_value(metric, labels)


def test_metrics_follow_queue_and_budget_and_forget_the_sync() -> None:
    metrics = OperatorMetrics()
    queued = {"phase": "Queued", "priority": "backfill"}
    metrics.observe_budget("ns", "a", queued)
    metrics.observe_budget("ns", "b", {**queued, "priority": "first-sync"})
    assert _sample(metrics, "spiris_fiscal_year_syncs_queued", priority="backfill") == 1
    assert _sample(metrics, "spiris_fiscal_year_syncs_queued", priority="on-demand") == 0
    budget = {"priority": "scheduled", "queuePosition": 3, "waitSeconds": 12.5}
    metrics.observe_budget("ns", "a", {"phase": "Running", "priority": "scheduled", "budget": budget})
    labels = {"namespace": "ns", "name": "a", "priority": "scheduled"}
    assert _sample(metrics, "spiris_fiscal_year_syncs_queued", priority="backfill") == 0
    assert _sample(metrics, "spiris_fiscal_year_sync_budget_wait_seconds", **labels) == 12.5
    assert _sample(metrics, "spiris_fiscal_year_sync_budget_queue_position", **labels) == 3
    moved = {**budget, "priority": "on-demand", "queuePosition": None}
    metrics.observe_budget("ns", "a", {"phase": "Running", "budget": moved})
    assert _sample(metrics, "spiris_fiscal_year_sync_budget_wait_seconds", **labels) is None
    on_demand = {**labels, "priority": "on-demand"}
    assert _sample(metrics, "spiris_fiscal_year_sync_budget_wait_seconds", **on_demand) == 12.5
    assert _sample(metrics, "spiris_fiscal_year_sync_budget_queue_position", **on_demand) is None
    metrics.forget_sync("ns", "a")
    metrics.forget_sync("ns", "b")
    assert _sample(metrics, "spiris_fiscal_year_sync_budget_wait_seconds", **on_demand) is None
    assert _sample(metrics, "spiris_fiscal_year_syncs_queued", priority="first-sync") == 0
