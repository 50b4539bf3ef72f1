"""Sync Jobs: the manifest of one run of ``spiris-sync``, its deterministic name, and what a finished Job
means.

The name follows from the FiscalYearSync and its run counter, so an operator restarted between deciding and
recording recreates the same name (a 409, not a second Job). The worker gets the Spiris fiscal-year id, the
access token only as a mounted file and credentials only as ``secretKeyRef``; a ``podFailurePolicy`` fails
the Job at once on the exit codes no retry fixes and on a yielded time slice (exit 8: the operator, not the
Job, runs it again, so the slot frees up), and :func:`job_state` reads the outcome from the exit code in the
Failed condition (both from ``spiris_sync.job_contract``). The run's priority class goes in as
``SPIRIS_SYNC_PRIORITY``, and background runs get the documents pass's time slice.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spiris_connection import token_secret
from spiris_connection.child_names import bounded_name, label_value
from spiris_store.budget_priority import Priority
from spiris_sync.job_contract import FINAL_EXIT_CODES, OUTCOME_OF_EXIT_CODE, ExitCode, JobOutcome

from spiris_operator.settings import JobSettings

__all__ = [
    "FYS_LABEL",
    "JOB_LABELS",
    "RUN_LABEL",
    "JobState",
    "active_job_selector",
    "build_job",
    "fys_job_selector",
    "job_name",
    "job_state",
]

FYS_LABEL = "spiris.senseworks.io/fiscalyearsync"
RUN_LABEL = "spiris.senseworks.io/run"
JOB_LABELS = {
    "app.kubernetes.io/name": "spiris-sync",
    "app.kubernetes.io/part-of": "spiris",
    "app.kubernetes.io/component": "sync-job",
    "app.kubernetes.io/managed-by": "spiris-operator",
}
TOKEN_MOUNT = "/var/run/spiris/token"
_EXIT_CODE = re.compile(r"exit code (\d+)")
#: The classes whose documents pass runs in time slices (a person's or a new connection's run never yields).
TIME_SLICED = frozenset({Priority.SCHEDULED, Priority.BACKFILL})


def job_name(fys_name: str, run: int) -> str:
    """``{fys}-sync-{run}``, shortened with a hash when the FiscalYearSync's name is long (Job names ≤ 63, as
    the ``job-name`` label of its pods)."""
    return bounded_name(fys_name, f"-sync-{run}")


def fys_job_selector(fys_name: str) -> str:
    """Label selector for all Jobs of one FiscalYearSync (``kubectl get jobs -l ...``)."""
    return f"app.kubernetes.io/component=sync-job,{FYS_LABEL}={label_value(fys_name)}"


def active_job_selector() -> str:
    """Label selector for all sync Jobs the operator ever created."""
    return "app.kubernetes.io/component=sync-job,app.kubernetes.io/managed-by=spiris-operator"


def _owner(fys: Mapping[str, Any]) -> dict[str, Any]:
    metadata = fys["metadata"]
    return {
        "apiVersion": "spiris.senseworks.io/v1alpha1",
        "kind": "FiscalYearSync",
        "name": metadata["name"],
        "uid": metadata["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }


def _literal(name: str, value: str) -> dict[str, Any]:
    return {"name": name, "value": value}


def _secret_ref(name: str, secret: str, key: str) -> dict[str, Any]:
    return {"name": name, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}}


def build_job(
    *,
    fys: Mapping[str, Any],
    connection: Mapping[str, Any],
    run: int,
    fiscal_year: int,
    fiscal_year_id: str,
    settings: JobSettings,
    trigger: str,
    priority: Priority = Priority.SCHEDULED,
) -> dict[str, Any]:
    """The batch/v1 Job for run number ``run`` of ``fys`` (of ``connection``), ready to create. The worker
    syncs exactly the Spiris fiscal year ``fiscal_year_id``; ``fiscal_year`` (its start year) is a label;
    ``priority`` is the run's class at the shared budget."""
    fys_meta = fys["metadata"]
    conn_meta = connection["metadata"]
    spec = fys.get("spec") or {}
    name = job_name(fys_meta["name"], run)
    labels = {
        **JOB_LABELS,
        token_secret.CONNECTION_LABEL: label_value(conn_meta["name"]),
        FYS_LABEL: label_value(fys_meta["name"]),
        RUN_LABEL: str(run),
    }
    mode = str(spec.get("mode") or "Incremental").lower()
    command = [
        "spiris-sync",
        "run",
        "--company-key",
        str(conn_meta["uid"]),
        "--fiscal-year-id",
        fiscal_year_id,
        "--fiscal-year",
        str(fiscal_year),
        "--mode",
        mode,
    ]
    if (spec.get("include") or {}).get("documents") is False:
        command.append("--skip-documents")
    env = [
        # Only the access token: the worker never refreshes, so it never gets the refresh token.
        _literal("SPIRIS_TOKEN_FILE", f"{TOKEN_MOUNT}/{token_secret.ACCESS_TOKEN_KEY}"),
        _literal("SPIRIS_API_URL", settings.api_url),
        _literal("SPIRIS_IDENTITY_URL", settings.identity_url),
        _literal("SPIRIS_CLIENT_ID", settings.client_id),
        _literal("SPIRIS_FYS_NAMESPACE", fys_meta["namespace"]),
        _literal("SPIRIS_FYS_NAME", fys_meta["name"]),
        _literal("SPIRIS_JOB_NAME", name),
        _literal("SPIRIS_SYNC_TRIGGER", trigger),
        _literal("SPIRIS_SYNC_PRIORITY", priority.env_value),
        _secret_ref("DATABASE_URL", settings.database_secret, settings.database_secret_key),
        _literal("S3_ENDPOINT", settings.s3_endpoint),
        _literal("S3_BUCKET", settings.s3_bucket),
        _secret_ref("S3_ACCESS_KEY", settings.s3_secret, settings.s3_access_key_key),
        _secret_ref("S3_SECRET_KEY", settings.s3_secret, settings.s3_secret_key_key),
    ]
    if priority in TIME_SLICED and settings.documents_time_slice_seconds > 0:
        env.append(_literal("SPIRIS_SYNC_TIME_SLICE_SECONDS", str(settings.documents_time_slice_seconds)))
    env.extend(_literal(name, value) for name, value in settings.download_env)
    if settings.s3_region:
        env.append(_literal("S3_REGION", settings.s3_region))
    if settings.s3_secure:
        env.append(_literal("S3_SECURE", settings.s3_secure))
    container = {
        "name": "sync",
        "image": settings.image,
        "imagePullPolicy": settings.image_pull_policy,
        "command": command,
        "env": env,
        "volumeMounts": [
            {"name": "token", "mountPath": TOKEN_MOUNT, "readOnly": True},
            {"name": "tmp", "mountPath": "/tmp"},
        ],
        "securityContext": {
            "runAsNonRoot": True,
            "readOnlyRootFilesystem": True,
            "allowPrivilegeEscalation": False,
            "capabilities": {"drop": ["ALL"]},
            "seccompProfile": {"type": "RuntimeDefault"},
        },
        "resources": {
            "requests": {"cpu": "100m", "memory": "256Mi"},
            "limits": {"memory": "1Gi"},
        },
    }
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "metadata": {
            "name": name,
            "namespace": fys_meta["namespace"],
            "labels": labels,
            "annotations": {
                "spiris.senseworks.io/trigger": trigger,
                "spiris.senseworks.io/priority": priority.env_value,
            },
            "ownerReferences": [_owner(fys)],
        },
        "spec": {
            "backoffLimit": settings.backoff_limit,
            "activeDeadlineSeconds": settings.active_deadline_seconds,
            "ttlSecondsAfterFinished": settings.ttl_seconds_after_finished,
            "podFailurePolicy": {
                "rules": [
                    {
                        "action": "FailJob",
                        "onExitCodes": {
                            "containerName": "sync",
                            "operator": "In",
                            "values": [int(code) for code in FINAL_EXIT_CODES],
                        },
                    },
                    {
                        # Not a failure, but no pod retry either: the Job ends and frees its slot, and the
                        # operator queues the next slice (backoffLimit is never spent on it).
                        "action": "FailJob",
                        "onExitCodes": {
                            "containerName": "sync",
                            "operator": "In",
                            "values": [int(ExitCode.YIELDED)],
                        },
                    },
                ]
            },
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "restartPolicy": "Never",
                    "serviceAccountName": settings.service_account,
                    **(
                        {"imagePullSecrets": [{"name": name} for name in settings.image_pull_secrets]}
                        if settings.image_pull_secrets
                        else {}
                    ),
                    "automountServiceAccountToken": True,
                    "securityContext": {
                        "runAsNonRoot": True,
                        **(
                            {"runAsUser": 10001, "runAsGroup": 10001, "fsGroup": 10001}
                            if settings.pin_user_and_group
                            else {}
                        ),
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [container],
                    "volumes": [
                        {
                            "name": "token",
                            "secret": {
                                "secretName": token_secret.secret_name(conn_meta["name"]),
                                "items": [
                                    {
                                        "key": token_secret.ACCESS_TOKEN_KEY,
                                        "path": token_secret.ACCESS_TOKEN_KEY,
                                    }
                                ],
                                "defaultMode": 0o400,
                            },
                        },
                        {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}},
                    ],
                },
            },
        },
    }


@dataclass(frozen=True)
class JobState:
    """What a Job's status says: ``phase`` is Running, Finished or Pending; ``outcome`` a
    :class:`~spiris_sync.job_contract.JobOutcome` once it finished."""

    phase: str
    outcome: JobOutcome | None = None
    exit_code: int | None = None
    message: str = ""


def job_state(job: Mapping[str, Any]) -> JobState:
    """Interpret a Job's ``status`` the way the real Job controller writes it."""
    status = job.get("status") or {}
    for condition in status.get("conditions") or []:
        if condition.get("status") != "True":
            continue
        kind = condition.get("type")
        if kind in {"Complete", "SuccessCriteriaMet"}:
            return JobState(phase="Finished", outcome=JobOutcome.SUCCEEDED, exit_code=0)
        if kind in {"Failed", "FailureTarget"}:
            message = str(condition.get("message") or "")
            reason = str(condition.get("reason") or "")
            match = _EXIT_CODE.search(message)
            code = int(match.group(1)) if match else None
            if reason == "DeadlineExceeded":  # the Job controller's reason
                outcome = JobOutcome.DEADLINE_EXCEEDED
            elif code is not None:
                outcome = OUTCOME_OF_EXIT_CODE.get(code, JobOutcome.FAILED)
            else:
                outcome = JobOutcome.FAILED
            return JobState(phase="Finished", outcome=outcome, exit_code=code, message=reason)
    if status.get("succeeded"):
        return JobState(phase="Finished", outcome=JobOutcome.SUCCEEDED, exit_code=0)
    if status.get("active") or status.get("startTime"):
        return JobState(phase="Running")
    return JobState(phase="Pending")
