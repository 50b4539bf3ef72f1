"""Which watch events mean work: fingerprints of what a reconcile depends on, compared event to event.

Most watch events are echoes of the operator's own status writes or of a worker's progress patches;
reconciling on each would double the requests for nothing. So an object is reconciled when its *input*
changed — spec (generation), the annotations that ask for something, deletion — and a FiscalYearSync also
when what it reads from its connection (readiness, fiscal years) or its Job's state changed. The first sight
of an object (the initial listing after a start or failover) always counts. Plain functions, tested without
Kubernetes.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from spiris_operator import conditions, sync_jobs
from spiris_operator.connection_reconciler import ROTATE_ANNOTATION, VERIFY_ANNOTATION
from spiris_operator.fiscal_year_reconciler import SYNC_REQUEST_ANNOTATION

__all__ = [
    "connection_input",
    "connection_output_for_children",
    "fiscal_year_sync_input",
    "job_owner",
    "job_progress",
]


def _annotations(body: Mapping[str, Any], *names: str) -> tuple[str, ...]:
    annotations = (body.get("metadata") or {}).get("annotations") or {}
    return tuple(str(annotations.get(name) or "") for name in names)


def _key(*parts: Any) -> str:
    return json.dumps(parts, sort_keys=True, default=str)


def connection_input(body: Mapping[str, Any]) -> str:
    """What a connection's reconcile depends on in its own object."""
    metadata = body.get("metadata") or {}
    return _key(
        metadata.get("generation"),
        metadata.get("deletionTimestamp"),
        _annotations(body, ROTATE_ANNOTATION, VERIFY_ANNOTATION),
    )


def connection_output_for_children(body: Mapping[str, Any]) -> str:
    """What a FiscalYearSync reads from its connection: a change wakes the connection's syncs."""
    status = body.get("status") or {}
    return _key(
        status.get("phase"),
        conditions.is_true(status.get("conditions"), "Ready"),
        status.get("fiscalYears"),
        (body.get("metadata") or {}).get("uid"),
    )


def fiscal_year_sync_input(body: Mapping[str, Any]) -> str:
    """What a FiscalYearSync's reconcile depends on in its own object."""
    metadata = body.get("metadata") or {}
    return _key(
        metadata.get("generation"),
        metadata.get("deletionTimestamp"),
        _annotations(body, SYNC_REQUEST_ANNOTATION),
    )


def job_owner(job: Mapping[str, Any]) -> str | None:
    """The name of the FiscalYearSync that owns a sync Job (its controller owner reference)."""
    for owner in (job.get("metadata") or {}).get("ownerReferences") or []:
        if owner.get("kind") == "FiscalYearSync":
            return str(owner.get("name"))
    return None


def job_progress(job: Mapping[str, Any]) -> str:
    """The state of a Job as the FiscalYearSync reconcile sees it (running, or finished with an outcome)."""
    state = sync_jobs.job_state(job)
    return _key(state.phase, state.outcome)
