"""Plain functions of the operator without Kubernetes: conditions, schedules, Job manifests, cap, children."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

import pytest
from spiris_operator import conditions, fiscal_year_children, sync_jobs, sync_schedule
from spiris_operator.conditions import Condition
from spiris_operator.durations import parse_duration
from spiris_operator.events import transition_events
from spiris_operator.job_cap import JobCap
from spiris_operator.settings import JobSettings, load_settings

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_condition_transition_time_moves_only_on_status_change() -> None:
    first = conditions.merge(
        [], [Condition.false("Ready", "AwaitingConsent", "waiting")], generation=1, now=T0
    )
    later = T0 + timedelta(minutes=5)
    same = conditions.merge(
        first, [Condition.false("Ready", "SpirisUnavailable", "down")], generation=2, now=later
    )
    assert same[0]["lastTransitionTime"] == "2026-03-01T12:00:00Z"
    assert (same[0]["reason"], same[0]["observedGeneration"]) == ("SpirisUnavailable", 2)
    flipped = conditions.merge(same, [Condition.true("Ready", "Connected", "ok")], generation=2, now=later)
    assert flipped[0]["lastTransitionTime"] == "2026-03-01T12:05:00Z"
    both = conditions.merge(
        flipped, [Condition.true("Authorized", "ConsentGiven", "ok")], generation=2, now=later
    )
    assert [c["type"] for c in both] == ["Ready", "Authorized"]
    assert conditions.is_true(both, "Ready") and not conditions.is_true(both, "TokenHealthy")


def test_events_follow_transitions() -> None:
    old = {
        "phase": "PendingConsent",
        "conditions": [{"type": "Ready", "status": "False", "reason": "AwaitingConsent"}],
    }
    new = {
        "phase": "Connected",
        "conditions": [{"type": "Ready", "status": "True", "reason": "Connected", "message": "m"}],
    }
    notes = transition_events(old, new)
    assert [(n.type, n.reason) for n in notes] == [("Normal", "PhaseConnected"), ("Normal", "Connected")]
    assert transition_events(new, new) == []
    bad = {"phase": "ReconsentRequired"}
    assert transition_events(new, bad)[0].type == "Warning"


@pytest.mark.parametrize(
    ("text", "seconds"), [("7d", 7 * 86400), ("1h30m", 5400), ("90s", 90), ("36h", 129600)]
)
def test_durations(text: str, seconds: int) -> None:
    assert parse_duration(text) == timedelta(seconds=seconds)


@pytest.mark.parametrize("text", ["", "7", "one week", "0s", "5w"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_interval_schedule_has_bounded_stable_jitter() -> None:
    times = [
        sync_schedule.next_sync_time(schedule="6h", after=T0, key=f"ns/fys-{i}", jitter=0.1)
        for i in range(50)
    ]
    assert all(
        t is not None and T0 + timedelta(hours=6) <= t <= T0 + timedelta(hours=6, minutes=36) for t in times
    )
    assert len(set(times)) > 40  # spread, not a thundering herd
    again = sync_schedule.next_sync_time(schedule="6h", after=T0, key="ns/fys-3", jitter=0.1)
    assert again == times[3]  # stable across restarts


def test_cron_schedule_and_no_schedule() -> None:
    nxt = sync_schedule.next_sync_time(schedule="30 2 * * *", after=T0, key="k", jitter=0.0)
    assert nxt == datetime(2026, 3, 2, 2, 30, tzinfo=UTC)
    jittered = sync_schedule.next_sync_time(schedule="30 2 * * *", after=T0, key="k", jitter=0.1)
    assert jittered is not None and nxt <= jittered <= nxt + timedelta(hours=2, minutes=24)
    assert sync_schedule.next_sync_time(schedule="", after=T0, key="k", jitter=0.1) is None
    with pytest.raises(ValueError):
        sync_schedule.validate_schedule("every six hours x y")


def test_retry_backoff_is_exponential_and_capped() -> None:
    delays = [
        sync_schedule.next_attempt_time(
            attempts=n, now=T0, base=timedelta(seconds=30), ceiling=timedelta(hours=1)
        )
        - T0
        for n in (1, 2, 3, 10)
    ]
    assert delays == [
        timedelta(seconds=30),
        timedelta(seconds=60),
        timedelta(seconds=120),
        timedelta(hours=1),
    ]


FYS = {
    "metadata": {"name": "acme-2025", "namespace": "clients", "uid": "fys-uid", "annotations": {}},
    "spec": {"connectionRef": {"name": "acme"}, "fiscalYear": 2025, "mode": "Full"},
}
CONNECTION = {"metadata": {"name": "acme", "namespace": "clients", "uid": "conn-uid"}}
SECRET_WORDS = ("access_token", "refresh_token", "Bearer")
FY_ID = "7c2e1a7e-4b1d-4f61-9d55-2a4e0f3c9b10"


def _job(run: int = 1) -> dict:
    settings = JobSettings(client_id="cid", s3_endpoint="http://s3:9000", s3_bucket="docs")
    return sync_jobs.build_job(
        fys=FYS,
        connection=CONNECTION,
        run=run,
        fiscal_year=2025,
        fiscal_year_id=FY_ID,
        settings=settings,
        trigger="initial",
    )


def test_job_manifest_is_locked_down_and_carries_no_token() -> None:
    job = _job()
    assert job["metadata"]["name"] == "acme-2025-sync-1"
    assert job["metadata"]["ownerReferences"][0]["uid"] == "fys-uid"
    assert job["metadata"]["labels"]["spiris.senseworks.io/fiscalyearsync"] == "acme-2025"
    spec = job["spec"]
    assert (
        spec["backoffLimit"] >= 0
        and spec["activeDeadlineSeconds"] > 0
        and spec["ttlSecondsAfterFinished"] > 0
    )
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "spiris-sync" and pod["restartPolicy"] == "Never"
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["runAsNonRoot"] and security["readOnlyRootFilesystem"]
    assert (
        security["capabilities"] == {"drop": ["ALL"]}
        and security["seccompProfile"]["type"] == "RuntimeDefault"
    )
    assert not security["allowPrivilegeEscalation"]
    env = {e["name"]: e for e in container["env"]}
    # The Job gets the access token alone: the mounted key carries no refresh token.
    assert env["SPIRIS_TOKEN_FILE"]["value"] == "/var/run/spiris/token/access-token.json"
    assert env["DATABASE_URL"]["valueFrom"]["secretKeyRef"]["name"] == "spiris-database"
    assert "value" not in env["S3_SECRET_KEY"] and "SPIRIS_CLIENT_SECRET" not in env
    assert (env["SPIRIS_FYS_NAMESPACE"]["value"], env["SPIRIS_FYS_NAME"]["value"]) == ("clients", "acme-2025")
    assert container["command"][:2] == ["spiris-sync", "run"]
    assert container["command"][container["command"].index("--company-key") + 1] == "conn-uid"
    assert container["command"][container["command"].index("--mode") + 1] == "full"
    assert container["command"][container["command"].index("--fiscal-year-id") + 1] == FY_ID
    volumes = {v["name"]: v for v in pod["volumes"]}
    assert volumes["token"]["secret"]["secretName"] == "acme-spiris-token"
    assert volumes["token"]["secret"]["items"] == [{"key": "access-token.json", "path": "access-token.json"}]
    assert "emptyDir" in volumes["tmp"]
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert mounts == {"/var/run/spiris/token", "/tmp"}
    text = json.dumps(job)
    assert not any(word in text for word in SECRET_WORDS)


def test_job_names_are_deterministic_and_short() -> None:
    assert _job(3)["metadata"]["name"] == _job(3)["metadata"]["name"] == "acme-2025-sync-3"
    long_name = "x" * 80
    name = sync_jobs.job_name(long_name, 12)
    assert len(name) <= 63 and name.endswith("-sync-12") and name == sync_jobs.job_name(long_name, 12)
    assert sync_jobs.job_name("y" * 80, 12) != name


@pytest.mark.parametrize(
    ("status", "phase", "outcome"),
    [
        ({}, "Pending", None),
        ({"active": 1, "startTime": "t"}, "Running", None),
        ({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]}, "Finished", "Succeeded"),
        (
            {
                "conditions": [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "PodFailurePolicy",
                        "message": "Container sync for pod a/b failed with exit code 3 matching FailJob rule",
                    }
                ]
            },
            "Finished",
            "ConsentRequired",
        ),
        (
            {
                "conditions": [
                    {
                        "type": "Failed",
                        "status": "True",
                        "reason": "PodFailurePolicy",
                        "message": "failed with exit code 6",
                    }
                ]
            },
            "Finished",
            "Degraded",
        ),
        (
            {"conditions": [{"type": "Failed", "status": "True", "reason": "DeadlineExceeded"}]},
            "Finished",
            "DeadlineExceeded",
        ),
        (
            {"conditions": [{"type": "Failed", "status": "True", "reason": "BackoffLimitExceeded"}]},
            "Finished",
            "Failed",
        ),
    ],
)
def test_job_state(status: dict, phase: str, outcome: str | None) -> None:
    state = sync_jobs.job_state({"status": status})
    assert (state.phase, state.outcome) == (phase, outcome)


def test_cap_admits_at_most_limit_concurrently() -> None:
    running: list[int] = []
    cap = JobCap(limit=3, count_running=lambda: len(running))
    admitted = []

    def ask(i: int) -> None:
        with cap.slot() as allowed:
            if allowed:
                time.sleep(0.01)  # widen the window a racy check would lose
                running.append(i)
                admitted.append(i)

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(admitted) == 3
    running.clear()
    with cap.slot() as allowed:
        assert allowed


CONN_WITH_YEARS = {
    "metadata": {"name": "acme", "namespace": "clients", "uid": "conn-uid"},
    "spec": {"sync": {"latestFiscalYears": 2, "schedule": "6h"}},
    "status": {
        "fiscalYears": [
            {"id": "a", "startDate": "2023-01-01", "endDate": "2023-12-31", "locked": True},
            {"id": "b", "startDate": "2024-01-01", "endDate": "2024-12-31", "locked": True},
            {"id": "c", "startDate": "2025-07-01", "endDate": "2026-06-30", "locked": False},
        ]
    },
}


def test_latest_years_children() -> None:
    children = fiscal_year_children.desired_children(CONN_WITH_YEARS)
    assert [c["metadata"]["name"] for c in children] == ["acme-2025-07", "acme-2024"]
    assert children[0]["spec"] == {
        "connectionRef": {"name": "acme"},
        "startDate": "2025-07-01",
        "schedule": "6h",
    }
    assert children[1]["spec"] == {"connectionRef": {"name": "acme"}, "fiscalYear": 2024}  # closed: once
    assert children[0]["metadata"]["ownerReferences"][0]["uid"] == "conn-uid"
    existing = [
        *children,
        {
            "metadata": {
                "name": "acme-2023",
                "labels": children[1]["metadata"]["labels"],
                "ownerReferences": children[1]["metadata"]["ownerReferences"],
            }
        },
        {"metadata": {"name": "hand-made", "labels": {}, "ownerReferences": []}},
    ]
    assert fiscal_year_children.surplus_children(CONN_WITH_YEARS, existing) == ["acme-2023"]
    off = {**CONN_WITH_YEARS, "spec": {}}
    assert fiscal_year_children.desired_children(off) == []


def test_settings_from_env_hide_secrets() -> None:
    settings = load_settings(
        {
            "SPIRIS_CLIENT_SECRET": "very-secret-value",
            "SPIRIS_LINK_SIGNING_KEY": "another-secret-value",
            "DATABASE_URL": "postgresql://u:pw-secret@h/db",
            "SPIRIS_MAX_CONCURRENT_JOBS": "2",
            "SPIRIS_WATCH_NAMESPACES": "a, b",
        }
    )
    assert settings.max_concurrent_jobs == 2 and settings.namespaces == ("a", "b")
    text = repr(settings)
    assert "very-secret-value" not in text and "another-secret-value" not in text and "pw-secret" not in text


def test_spec_errors_the_schema_cannot_catch_become_conditions() -> None:
    from spiris_operator.connection_reconciler import ConnectionContext, reconcile_connection
    from spiris_operator.fiscal_year_reconciler import FysContext, reconcile_fiscal_year_sync

    # These paths never reach Kubernetes or Spiris, so no clients are needed.
    conn_ctx = ConnectionContext(
        kube=None, settings=load_settings({}), refresher=None, reader=None, holder="t"
    )  # type: ignore[arg-type]
    connection = {
        "metadata": {"name": "acme", "namespace": "clients", "uid": "u", "generation": 3},
        "spec": {"consent": {"linkTTL": "0s"}},
    }
    result = reconcile_connection(connection, conn_ctx)
    assert result.status["phase"] == "Failed"
    ready = conditions.find(result.status["conditions"], "Ready")
    assert ready is not None and ready["reason"] == "InvalidSpec" and ready["observedGeneration"] == 3
    assert any(n.type == "Warning" for n in result.events)

    fys_ctx = FysContext(
        kube=None,  # type: ignore[arg-type]
        settings=load_settings({}),
        cap=JobCap(limit=1, count_running=lambda: 0),
        read_run=lambda key, year: None,
    )
    fys = {**FYS, "spec": {**FYS["spec"], "schedule": "a b c d e"}}
    fys_result = reconcile_fiscal_year_sync(fys, fys_ctx)
    assert fys_result.status["phase"] == "Pending"
    ready = conditions.find(fys_result.status["conditions"], "Ready")
    assert ready is not None and ready["reason"] == "InvalidSchedule"


def test_job_skips_documents_only_when_the_spec_says_so() -> None:
    settings = JobSettings(client_id="cid")
    default = sync_jobs.build_job(
        fys=FYS,
        connection=CONNECTION,
        run=1,
        fiscal_year=2025,
        fiscal_year_id=FY_ID,
        settings=settings,
        trigger="initial",
    )
    assert "--skip-documents" not in default["spec"]["template"]["spec"]["containers"][0]["command"]
    ledger_only = {**FYS, "spec": {**FYS["spec"], "include": {"ledger": True, "documents": False}}}
    job = sync_jobs.build_job(
        fys=ledger_only,
        connection=CONNECTION,
        run=1,
        fiscal_year=2025,
        fiscal_year_id=FY_ID,
        settings=settings,
        trigger="initial",
    )
    assert job["spec"]["template"]["spec"]["containers"][0]["command"][-1] == "--skip-documents"


def test_in_cluster_login_uses_the_pods_service_variables_not_cluster_dns() -> None:
    from spiris_operator.in_cluster import api_server_url

    assert api_server_url({"KUBERNETES_SERVICE_HOST": "10.0.0.1", "KUBERNETES_SERVICE_PORT": "443"}) == \
        "https://10.0.0.1:443"
    assert api_server_url({"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "6443"}) == \
        "https://[fd00::1]:6443"
    assert api_server_url({}) is None
