"""The event-driven scheduler without Kubernetes: due times, event fingerprints, the work queue's promises."""

from __future__ import annotations

import asyncio
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from typing import Any

from spiris_operator import due_times, event_triggers
from spiris_operator.scheduler import CONNECTION, SYNC, Scheduler
from spiris_operator.timestamps import format_time
from spiris_operator.work_queue import GONE, WorkQueue

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
MARGIN = timedelta(minutes=5)
HOUR = timedelta(hours=1)


def _connected(expires: datetime, verified: datetime) -> dict[str, Any]:
    return {
        "spec": {},
        "status": {
            "phase": "Connected",
            "accessTokenExpiresAt": format_time(expires),
            "lastVerifiedTime": format_time(verified),
            "conditions": [{"type": "TokenHealthy", "status": "True", "reason": "TokenValid"}],
        },
    }


def test_connection_is_due_at_the_refresh_threshold_or_the_hourly_check() -> None:
    due = due_times.connection_due(
        _connected(T0 + HOUR, T0), now=T0, refresh_margin=MARGIN, verify_interval=HOUR
    )
    assert due == T0 + HOUR - MARGIN + due_times.THRESHOLD_SLACK
    early_check = _connected(T0 + HOUR, T0 - timedelta(minutes=50))
    due = due_times.connection_due(early_check, now=T0, refresh_margin=MARGIN, verify_interval=HOUR)
    assert due == T0 + timedelta(minutes=10) + due_times.THRESHOLD_SLACK


def test_a_token_shorter_lived_than_the_margin_is_not_refreshed_in_a_loop() -> None:
    short = _connected(T0 + timedelta(minutes=2), T0)
    due = due_times.connection_due(short, now=T0, refresh_margin=MARGIN, verify_interval=HOUR)
    assert due == T0 + due_times.TRANSIENT_RETRY


def test_connection_due_for_links_failures_and_suspend() -> None:
    pending = {"status": {"phase": "PendingConsent", "consentExpiresAt": format_time(T0 + timedelta(days=7))}}
    due = due_times.connection_due(pending, now=T0, refresh_margin=MARGIN, verify_interval=HOUR)
    assert due == T0 + timedelta(days=7) - due_times.LINK_RENEW_BEFORE
    failing = _connected(T0 + HOUR, T0)
    failing["status"]["conditions"] = [{"type": "TokenHealthy", "status": "False", "reason": "RefreshFailed"}]
    due = due_times.connection_due(failing, now=T0, refresh_margin=MARGIN, verify_interval=HOUR)
    assert due == T0 + due_times.TRANSIENT_RETRY
    suspended = {**_connected(T0, T0), "spec": {"suspend": True}}
    assert due_times.connection_due(suspended, now=T0, refresh_margin=MARGIN, verify_interval=HOUR) is None


def test_fiscal_year_sync_due_times() -> None:
    def due(phase: str, **status: Any) -> datetime | None:
        return due_times.fiscal_year_sync_due({"spec": {}, "status": {"phase": phase, **status}}, now=T0)

    later = T0 + timedelta(hours=6)
    assert due("Succeeded", nextSyncTime=format_time(later)) == later
    assert due("Failed", nextAttemptTime=format_time(later)) == later
    assert due("Running") == T0 + due_times.RUNNING_RECHECK  # its Job's events wake it; this is the fallback
    assert due("Pending") is None  # its connection's events wake it
    assert due("Queued") == T0 + due_times.QUEUED_RECHECK


def test_status_echoes_do_not_change_the_input_fingerprint() -> None:
    body: dict[str, Any] = {"metadata": {"generation": 3, "annotations": {}}, "status": {"phase": "Pending"}}
    echoed = {**body, "status": {"phase": "Running", "progress": {"percent": 40}}}
    assert event_triggers.fiscal_year_sync_input(body) == event_triggers.fiscal_year_sync_input(echoed)
    asked = {
        **body,
        "metadata": {"generation": 3, "annotations": {"spiris.senseworks.io/sync-requested-at": "x"}},
    }
    assert event_triggers.fiscal_year_sync_input(asked) != event_triggers.fiscal_year_sync_input(body)
    respec = {**body, "metadata": {"generation": 4}}
    assert event_triggers.fiscal_year_sync_input(respec) != event_triggers.fiscal_year_sync_input(body)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


async def _settle(queue: WorkQueue, rounds: int = 20) -> None:
    for _ in range(rounds):
        await asyncio.sleep(0)


async def test_queue_never_runs_one_key_twice_at_once_and_loses_no_wake() -> None:
    running: set[Hashable] = set()
    overlaps: list[Hashable] = []
    runs: list[Hashable] = []
    gate = asyncio.Event()

    async def reconcile(key: Hashable) -> float | None:
        if key in running:
            overlaps.append(key)
        running.add(key)
        runs.append(key)
        await gate.wait()
        running.discard(key)
        return None

    queue = WorkQueue(reconcile, workers=4)
    task = asyncio.create_task(queue.run())
    queue.wake("a")
    await _settle(queue)
    queue.wake("a")  # arrives while "a" runs: must run once more afterwards
    queue.wake("a")
    await _settle(queue)
    assert runs == ["a"]
    gate.set()
    await _settle(queue, 50)
    assert runs == ["a", "a"] and not overlaps
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_queue_runs_at_the_due_time_and_retries_failures_with_backoff() -> None:
    clock = FakeClock()
    calls: list[float] = []

    async def reconcile(key: Hashable) -> float | None:
        calls.append(clock.now)
        if len(calls) == 1:
            raise RuntimeError("API server hiccup")
        return clock.now + 100 if len(calls) == 2 else GONE

    queue = WorkQueue(reconcile, workers=1, clock=clock, resync=3600)
    task = asyncio.create_task(queue.run())
    queue.wake("k")
    await _settle(queue)
    assert len(calls) == 1
    assert queue.due_of("k") == calls[0] + 2.0  # first retry after ERROR_BASE seconds
    clock.now += 2.0
    queue.wake("other-nothing", delay=10_000)  # any change makes the dispatcher look again
    await _settle(queue)
    assert len(calls) == 2 and queue.due_of("k") == clock.now + 100
    clock.now += 100
    queue.wake("other-later", delay=10_000)
    await _settle(queue)
    assert len(calls) == 3 and queue.due_of("k") is None  # gone: not even the safety resync
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_safety_resync_is_spread_and_bounded() -> None:
    clock = FakeClock()

    async def reconcile(key: Hashable) -> float | None:
        return None

    queue = WorkQueue(reconcile, workers=8, clock=clock, resync=3600)
    task = asyncio.create_task(queue.run())
    for index in range(200):
        queue.wake(("fys", "ns", f"s{index}"))
    await _settle(queue, 200)
    dues = sorted(queue.due_of(("fys", "ns", f"s{index}")) or 0 for index in range(200))
    assert clock.now + 0.5 * 3600 <= dues[0] and dues[-1] <= clock.now + 1.5 * 3600
    assert dues[-1] - dues[0] > 0.8 * 3600  # spread over the period, not all at once
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_scheduler_routes_events_to_the_objects_that_depend_on_them() -> None:
    clock = FakeClock()
    reconciled: list[tuple[str, str, str]] = []

    def record(kind: str) -> Any:
        async def run(namespace: str, name: str) -> dict[str, Any] | None:
            reconciled.append((kind, namespace, name))
            return {"spec": {}, "status": {"phase": "Pending"}}

        return run

    scheduler = Scheduler(
        reconcile_connection=record(CONNECTION),
        reconcile_sync=record(SYNC),
        refresh_margin=MARGIN,
        clock=clock,
    )
    scheduler.start()
    conn = {"metadata": {"namespace": "ns", "name": "c", "generation": 1, "uid": "u"}, "status": {}}
    fys = {
        "metadata": {"namespace": "ns", "name": "c-2025", "generation": 1},
        "spec": {"connectionRef": {"name": "c"}},
    }
    scheduler.connection_event(None, conn)
    scheduler.fiscal_year_sync_event(None, fys)
    await _settle(scheduler.queue, 50)
    assert set(reconciled) == {(CONNECTION, "ns", "c"), (SYNC, "ns", "c-2025")}
    reconciled.clear()
    # Our own status write echoes back: nothing to do.
    scheduler.fiscal_year_sync_event("MODIFIED", {**fys, "status": {"phase": "Pending"}})
    await _settle(scheduler.queue, 50)
    assert reconciled == []
    # The connection turns Ready: its sync is woken (the connection itself is not: only its status changed).
    ready = {**conn, "status": {"phase": "Connected", "conditions": [{"type": "Ready", "status": "True"}]}}
    scheduler.connection_event("MODIFIED", ready)
    await _settle(scheduler.queue, 50)
    assert reconciled == [(SYNC, "ns", "c-2025")]
    reconciled.clear()
    # A Job of the sync finishes: the sync is woken.
    job = {
        "metadata": {
            "namespace": "ns",
            "name": "j1",
            "ownerReferences": [{"kind": "FiscalYearSync", "name": "c-2025"}],
        },
        "status": {"active": 1, "startTime": "t"},
    }
    scheduler.job_event(None, job)
    await _settle(scheduler.queue, 50)
    scheduler.job_event("MODIFIED", {**job, "status": {"succeeded": 1}})
    await _settle(scheduler.queue, 50)
    assert reconciled == [(SYNC, "ns", "c-2025"), (SYNC, "ns", "c-2025")]
    await scheduler.stop()


async def test_after_a_failover_settled_objects_wait_and_unsettled_ones_run() -> None:
    clock = FakeClock()
    reconciled: list[tuple[str, str, str]] = []

    def record(kind: str) -> Any:
        async def run(namespace: str, name: str) -> dict[str, Any] | None:
            reconciled.append((kind, namespace, name))
            return {"spec": {}, "status": {}}

        return run

    scheduler = Scheduler(
        reconcile_connection=record(CONNECTION),
        reconcile_sync=record(SYNC),
        refresh_margin=MARGIN,
        clock=clock,
    )
    scheduler.start()
    now = datetime.fromtimestamp(clock.now, UTC)
    connected = {
        "metadata": {"namespace": "ns", "name": "c", "generation": 1, "uid": "u"},
        "status": {
            **_connected(now + HOUR, now)["status"],
            "observedGeneration": 1,
            "verifiedTokenVersion": "41",
        },
    }
    done = {
        "metadata": {"namespace": "ns", "name": "c-2025", "generation": 1},
        "spec": {"connectionRef": {"name": "c"}},
        "status": {"phase": "Succeeded", "observedGeneration": 1, "nextSyncTime": format_time(now + HOUR)},
    }
    scheduler.connection_event(None, connected)
    scheduler.fiscal_year_sync_event(None, done)
    scheduler.secret_event(None, "ns", "c", "41")
    await _settle(scheduler.queue, 50)
    assert reconciled == []  # nothing to do until they fall due
    assert scheduler.queue.due_of((SYNC, "ns", "c-2025")) == (now + HOUR).timestamp()
    # The token Secret of another connection changed while no operator ran: that one is reconciled.
    other = {**connected, "metadata": {**connected["metadata"], "name": "d"}}
    scheduler.secret_event(None, "ns", "d", "99")
    scheduler.connection_event(None, other)
    await _settle(scheduler.queue, 50)
    assert reconciled == [(CONNECTION, "ns", "d")]
    # And the other order: the connection first, then its Secret's first sight.
    late = {**connected, "metadata": {**connected["metadata"], "name": "e"}}
    scheduler.connection_event(None, late)
    await _settle(scheduler.queue, 50)
    assert reconciled == [(CONNECTION, "ns", "d")]
    scheduler.secret_event(None, "ns", "e", "7")
    await _settle(scheduler.queue, 50)
    assert reconciled == [(CONNECTION, "ns", "d"), (CONNECTION, "ns", "e")]
    await scheduler.stop()
