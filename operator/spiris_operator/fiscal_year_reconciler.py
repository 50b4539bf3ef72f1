"""Reconciling one FiscalYearSync: resolve its fiscal year, run Jobs on schedule or request, follow them.

Level-triggered and restart-safe: everything it needs to remember (run counter, active Job, attempts, next
attempt, the last handled sync request) lives in status, and the Job name follows from the run counter, so a
restarted operator finds the Job it already created instead of creating a second one. The worker publishes
``status.progress`` itself; this function never overwrites it while a Job runs. Each run's priority class
(:mod:`run_priority`) is decided when it falls due and orders the wait for a Job slot (:mod:`job_cap`); a
Job that yielded its time slice is no failure: the run goes on at once, or queues, with the same class.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spiris_sync.job_contract import (
    NOT_RETRIED_OUTCOMES,
    SUCCESSFUL_OUTCOMES,
    ConditionType,
    JobOutcome,
    Phase,
    Reason,
)

from spiris_operator import conditions, run_priority, sync_jobs, sync_schedule
from spiris_operator.conditions import Condition
from spiris_operator.events import EventNote, transition_events
from spiris_operator.job_cap import JobCap, QueuedRun
from spiris_operator.kube_api import CONNECTIONS, KubeApi
from spiris_operator.settings import OperatorSettings
from spiris_operator.timestamps import format_time, parse_time

__all__ = ["SYNC_REQUEST_ANNOTATION", "FysContext", "FysResult", "RunReport", "reconcile_fiscal_year_sync"]

SYNC_REQUEST_ANNOTATION = "spiris.senseworks.io/sync-requested-at"
_MAX_ATTEMPTS = 8


@dataclass(frozen=True)
class RunReport:
    """What the worker recorded for its run (from ``spiris_store``): counts and reconciliation."""

    counts: dict[str, int]
    reconciliation: dict[str, Any] | None
    #: The run listed the whole year (a full voucher pass, planned or fallen back to).
    full_pass: bool = False


@dataclass(frozen=True)
class FysContext:
    """What reconciling needs besides the object."""

    kube: KubeApi
    settings: OperatorSettings
    cap: JobCap
    #: The run recorded by one Job: ``read_run(company_key, job_name)``.
    read_run: Callable[[str, str], RunReport | None]
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class FysResult:
    """The status to merge, Events to post, and what happened to Jobs in this pass (one finished with
    ``finished_outcome``, one was started)."""

    status: dict[str, Any]
    events: list[EventNote]
    finished_outcome: str | None = None
    consent_problem: bool = False
    job_started: bool = False


def _sie4_note(sie4: Any) -> str:
    """The SIE 4 comparison in a condition message (the CRD has no field for it yet)."""
    if not isinstance(sie4, dict):
        return ""
    if sie4.get("error"):
        return "; SIE 4 comparison not possible"
    if sie4.get("equal"):
        return f"; Spiris' SIE 4 export matches voucher by voucher ({sie4.get('matched')} vouchers)"
    return f"; SIE 4 export: {sie4.get('differences')} vouchers differ ({sie4.get('matched')} match)"


def _conds(fys: Mapping[str, Any], now: datetime, *wanted: Condition) -> list[dict[str, Any]]:
    generation = int((fys.get("metadata") or {}).get("generation") or 0)
    return conditions.merge(
        (fys.get("status") or {}).get("conditions"), wanted, generation=generation, now=now
    )


def _resolve_year(spec: Mapping[str, Any], fiscal_years: list[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The one fiscal year this FiscalYearSync names: by ``startDate`` exactly, else by ``fiscalYear`` (the
    calendar year it starts in; of two such years, the later one, as the worker's by-hand rule). Its id is
    what the Job syncs, so status and worker always mean the same year."""
    dated = sorted(fiscal_years, key=lambda y: str(y.get("startDate", ""))[:10])
    if spec.get("startDate"):
        wanted = str(spec["startDate"])[:10]
        return next((y for y in dated if str(y.get("startDate", ""))[:10] == wanted), None)
    if spec.get("fiscalYear") is not None:
        matches = [y for y in dated if str(y.get("startDate", ""))[:4] == str(spec["fiscalYear"])]
        return matches[-1] if matches else None
    return None


def _pending(fys: Mapping[str, Any], now: datetime, reason: str, message: str) -> dict[str, Any]:
    return {
        "phase": Phase.PENDING,
        "conditions": _conds(fys, now, Condition.false(ConditionType.READY, reason, message)),
    }


def _finish(
    fys: Mapping[str, Any],
    ctx: FysContext,
    state: sync_jobs.JobState,
    job: Mapping[str, Any] | None,
    *,
    company_key: str,
    year: int,
    now: datetime,
) -> FysResult:
    status = fys.get("status") or {}
    spec = fys.get("spec") or {}
    outcome = state.outcome or JobOutcome.FAILED
    report = ctx.read_run(company_key, str(status.get("activeJob") or ""))
    # Normalised to Kubernetes' own form (…Z) whatever wrote completionTime, so kubectl can age it.
    completed = parse_time(((job or {}).get("status") or {}).get("completionTime"))
    finished_at = format_time(completed or now)
    new: dict[str, Any] = {"activeJob": None, "lastSyncTime": finished_at, "lastJobOutcome": outcome}
    if report is not None:
        new["counts"] = report.counts
        if report.reconciliation is not None:
            new["reconciliation"] = report.reconciliation
    key = f"{fys['metadata']['namespace']}/{fys['metadata']['name']}"
    if outcome == JobOutcome.YIELDED:
        # No attempt counted, no backoff: the caller goes straight on to the next slice.
        new.update(phase=Phase.QUEUED)
        note = f"Job {status.get('activeJob')} used its time slice; the run goes on where it stopped"
        return FysResult(
            status=new, events=[EventNote("Normal", JobOutcome.YIELDED, note)], finished_outcome=outcome
        )
    if outcome in SUCCESSFUL_OUTCOMES:
        new.update(phase=outcome, lastSuccessfulSyncTime=finished_at, attempts=0, nextAttemptTime=None)
        start = parse_time(status.get("lastRunStartTime")) or now
        if report is not None and report.full_pass:
            new["lastFullSyncTime"] = format_time(start)
        next_time = sync_schedule.next_sync_time(
            schedule=str(spec.get("schedule") or ""),
            after=start,
            key=key,
            jitter=ctx.settings.schedule_jitter,
        )
        new["nextSyncTime"] = format_time(next_time) if next_time else None
        if report is None:
            new["progress"] = {"percent": 100}
        balanced = (report.reconciliation or {}).get("balanced") if report else None
        synced = Condition.true(
            ConditionType.SYNCED, outcome, f"Job {status.get('activeJob')} finished: {outcome}"
        )
        wanted = [
            synced,
            Condition.true(ConditionType.READY, Reason.FISCAL_YEAR_RESOLVED, "fiscal year resolved"),
        ]
        if balanced is not None:
            sie4 = (report.reconciliation or {}).get("sie4") if report else None
            wanted.append(
                Condition.true(
                    ConditionType.RECONCILED,
                    Reason.BALANCED,
                    "per-account sums match Spiris" + _sie4_note(sie4),
                )
                if balanced
                else Condition.false(
                    ConditionType.RECONCILED,
                    Reason.DIFFERENCES,
                    "the copy differs from Spiris" + _sie4_note(sie4),
                )
            )
        new["conditions"] = _conds(fys, now, *wanted)
        return FysResult(status=new, events=[], finished_outcome=outcome)
    attempts = int(status.get("attempts") or 0) + 1
    message = f"Job {status.get('activeJob')} failed: {outcome}"
    new.update(phase=Phase.FAILED, attempts=attempts)
    if outcome in NOT_RETRIED_OUTCOMES or attempts >= _MAX_ATTEMPTS:
        new["nextAttemptTime"] = None
        message += "; not retried automatically (fix the cause, then request a sync)"
    else:
        retry = sync_schedule.next_attempt_time(
            attempts=attempts, now=now, base=ctx.settings.retry_base, ceiling=ctx.settings.retry_max
        )
        new["nextAttemptTime"] = format_time(retry)
        message += f"; attempt {attempts}, next at {format_time(retry)}"
    new["conditions"] = _conds(fys, now, Condition.false(ConditionType.SYNCED, outcome, message))
    return FysResult(
        status=new,
        events=[],
        finished_outcome=outcome,
        consent_problem=outcome == JobOutcome.CONSENT_REQUIRED,
    )


def _due(fys: Mapping[str, Any], now: datetime) -> str | None:
    """Why a run should start now (trigger name), or None."""
    status = fys.get("status") or {}
    requested = str(((fys.get("metadata") or {}).get("annotations") or {}).get(SYNC_REQUEST_ANNOTATION) or "")
    if requested and requested != status.get("lastHandledSyncRequest"):
        return "requested"
    if (fys.get("spec") or {}).get("suspend"):
        return None
    if not status.get("runCounter"):
        return "initial"
    if run_priority.resumes_after_yield(status):
        return run_priority.RESUMED
    retry_at = parse_time(status.get("nextAttemptTime"))
    # A retry that had to queue is still a retry (a success clears nextAttemptTime).
    if status.get("phase") == Phase.FAILED or (status.get("phase") == Phase.QUEUED and retry_at is not None):
        return "retry" if retry_at is not None and retry_at <= now else None
    next_sync = parse_time(status.get("nextSyncTime"))
    if next_sync is not None and next_sync <= now:
        return "scheduled"
    return None


def reconcile_fiscal_year_sync(fys: Mapping[str, Any], ctx: FysContext) -> FysResult:
    """One reconcile pass over a FiscalYearSync."""
    now = ctx.clock()
    old = dict(fys.get("status") or {})
    result = _reconcile(fys, ctx, now)
    if result.status.get("phase") != Phase.QUEUED:
        ctx.cap.withdraw((str(fys["metadata"]["namespace"]), str(fys["metadata"]["name"])))
    result.status["observedGeneration"] = int(fys["metadata"].get("generation") or 0)
    result.events = transition_events(old, result.status) + result.events
    return result


def _reconcile(fys: Mapping[str, Any], ctx: FysContext, now: datetime) -> FysResult:
    metadata = fys["metadata"]
    namespace, name = str(metadata["namespace"]), str(metadata["name"])
    spec = fys.get("spec") or {}
    status = fys.get("status") or {}
    ref = str((spec.get("connectionRef") or {}).get("name") or "")
    try:
        sync_schedule.validate_schedule(str(spec.get("schedule") or ""))
    except ValueError as exc:
        return FysResult(_pending(fys, now, Reason.INVALID_SCHEDULE, str(exc)), [])
    connection = ctx.kube.get_custom(CONNECTIONS, namespace, ref)
    if connection is None:
        return FysResult(
            _pending(fys, now, Reason.CONNECTION_NOT_FOUND, f"SpirisConnection {ref!r} does not exist"), []
        )
    conn_status = connection.get("status") or {}
    active_name = status.get("activeJob")
    if not conditions.is_true(conn_status.get("conditions"), ConditionType.READY) and not active_name:
        phase = conn_status.get("phase") or "unknown"
        return FysResult(
            _pending(
                fys,
                now,
                Reason.CONNECTION_NOT_READY,
                f"SpirisConnection {ref!r} is not Ready (phase {phase})",
            ),
            [],
        )
    fiscal_year = _resolve_year(spec, list(conn_status.get("fiscalYears") or []))
    if fiscal_year is None:
        wanted = spec.get("startDate") or spec.get("fiscalYear")
        return FysResult(
            _pending(
                fys,
                now,
                Reason.FISCAL_YEAR_NOT_FOUND,
                f"Spiris has no fiscal year starting {wanted} for {ref!r}",
            ),
            [],
        )
    year = int(str(fiscal_year["startDate"])[:4])
    base: dict[str, Any] = {
        "fiscalYearId": fiscal_year["id"],
        "year": year,
        "period": {
            "startDate": str(fiscal_year["startDate"])[:10],
            "endDate": str(fiscal_year["endDate"])[:10],
            "locked": bool(fiscal_year.get("locked")),
        },
    }
    company_key = str(connection["metadata"]["uid"])
    jobs = ctx.kube.list_jobs(namespace, selector=sync_jobs.fys_job_selector(name))
    by_name = {job["metadata"]["name"]: job for job in jobs}
    if active_name:
        job = by_name.get(active_name)
        state = (
            sync_jobs.job_state(job)
            if job
            else sync_jobs.JobState(phase="Finished", outcome=JobOutcome.FAILED)
        )
        if state.phase != "Finished":
            running = {
                **base,
                "phase": Phase.RUNNING,
                "conditions": _conds(
                    fys,
                    now,
                    Condition.true(ConditionType.READY, Reason.FISCAL_YEAR_RESOLVED, "fiscal year resolved"),
                    Condition(
                        ConditionType.SYNCED, "Unknown", Reason.RUNNING, f"Job {active_name} is running"
                    ),
                ),
            }
            return FysResult(running, [])
        finished = _finish(fys, ctx, state, job, company_key=company_key, year=year, now=now)
        finished.status = {**base, **finished.status}
        if finished.finished_outcome != JobOutcome.YIELDED:
            return finished
        # The next slice in this same pass: it starts now if a slot is free, else it queues.
        after = _reconcile({**fys, "status": {**status, **finished.status}}, ctx, now)
        return FysResult(
            status={**finished.status, **after.status},
            events=finished.events + after.events,
            finished_outcome=finished.finished_outcome,
            job_started=after.job_started,
        )
    # An unfinished Job we have no record of (crash between create and status write): adopt it.
    for job in sorted(jobs, key=lambda j: int(j["metadata"].get("labels", {}).get(sync_jobs.RUN_LABEL, "0"))):
        if sync_jobs.job_state(job).phase != "Finished":
            run = int(job["metadata"]["labels"].get(sync_jobs.RUN_LABEL, status.get("runCounter") or 0))
            adopted = {
                **base,
                "phase": Phase.RUNNING,
                "activeJob": job["metadata"]["name"],
                "runCounter": run,
            }
            return FysResult(
                adopted,
                [
                    EventNote(
                        "Normal", Reason.JOB_ADOPTED, f"following existing Job {job['metadata']['name']}"
                    )
                ],
            )
    ready = Condition.true(
        ConditionType.READY,
        Reason.FISCAL_YEAR_RESOLVED,
        f"fiscal year {base['period']['startDate']}..{base['period']['endDate']}",
    )
    trigger = _due(fys, now)
    idle_phase = (
        status.get("phase")
        if status.get("phase") in {Phase.SUCCEEDED, Phase.DEGRADED, Phase.FAILED}
        else Phase.PENDING
    )
    if trigger is None:
        idle = {**base, "phase": idle_phase, "conditions": _conds(fys, now, ready)}
        if idle_phase in SUCCESSFUL_OUTCOMES:
            # Follows schedule edits: the next run is always derived from the last start and today's schedule.
            last_start = parse_time(status.get("lastRunStartTime")) or now
            next_time = sync_schedule.next_sync_time(
                schedule=str(spec.get("schedule") or ""),
                after=last_start,
                key=f"{namespace}/{name}",
                jitter=ctx.settings.schedule_jitter,
            )
            idle["nextSyncTime"] = format_time(next_time) if next_time else None
        return FysResult(idle, [])
    if not conditions.is_true(conn_status.get("conditions"), ConditionType.READY):
        return FysResult(
            _pending(fys, now, Reason.CONNECTION_NOT_READY, f"SpirisConnection {ref!r} is not Ready"), []
        )
    run = int(status.get("runCounter") or 0) + 1
    latest = run_priority.is_latest_year(str(fiscal_year["id"]), list(conn_status.get("fiscalYears") or []))
    priority = run_priority.run_priority(trigger=trigger, fys=fys, latest_year=latest, now=now)
    job_body = sync_jobs.build_job(
        fys=fys,
        connection=connection,
        run=run,
        fiscal_year=year,
        fiscal_year_id=str(fiscal_year["id"]),
        settings=ctx.settings.jobs,
        trigger=trigger,
        priority=priority,
    )
    job_name = job_body["metadata"]["name"]
    # Waiting keeps its place: the time it first queued with this class (a new class queues anew).
    still_waiting = status.get("phase") == Phase.QUEUED and status.get("priority") == priority.env_value
    queued_since = (parse_time(status.get("queuedSince")) if still_waiting else None) or now
    waiting = QueuedRun(priority=priority, queued_since=queued_since, key=(namespace, name))
    with ctx.cap.slot(waiting) as answer:
        if not answer:
            message = (
                f"waiting for a Job slot ({trigger}, priority {priority.env_value}): "
                f"position {answer.position} in the queue"
            )
            queued = {
                **base,
                "phase": Phase.QUEUED,
                "priority": priority.env_value,
                "queuedSince": format_time(queued_since),
                "queuePosition": answer.position,
                "conditions": _conds(
                    fys, now, ready, Condition(ConditionType.SYNCED, "Unknown", Phase.QUEUED, message)
                ),
            }
            return FysResult(queued, [])
        created = ctx.kube.create_job(job_body)
    started: dict[str, Any] = {
        **base,
        "phase": Phase.RUNNING,
        "priority": priority.env_value,
        "queuedSince": None,
        "queuePosition": None,
        "activeJob": job_name,
        "runCounter": run,
        "lastRunStartTime": format_time(now),
        "progress": {"percent": 0, "vouchers": None, "documents": None},
        "conditions": _conds(
            fys,
            now,
            ready,
            Condition(
                ConditionType.SYNCED,
                "Unknown",
                Reason.RUNNING,
                f"Job {job_name} started ({trigger}, priority {priority.env_value})",
            ),
        ),
    }
    if trigger == "requested":
        started["lastHandledSyncRequest"] = str(metadata["annotations"][SYNC_REQUEST_ANNOTATION])
    note = "created" if created else "already existed; following it"
    return FysResult(
        started,
        [
            EventNote(
                "Normal",
                Reason.JOB_CREATED,
                f"Job {job_name} {note} (trigger: {trigger}, priority: {priority.env_value})",
            )
        ],
        job_started=True,
    )
