"""Whether an object seen for the first time (after a start or a failover) needs a reconcile now.

A new leader lists every object. Reconciling them all would cost a few requests each and, at thousands of
objects, put a change made during the failover behind thousands of no-op passes. So an object whose status
already answers its spec — observed generation current, every request annotation handled, a settled phase,
its token Secret the one it verified — is only scheduled at its due time; anything else is reconciled at
once. What the status cannot show alone (the token Secret, the connection's readiness) is checked when the
other object's first sight arrives, whichever comes first. Plain functions, tested without Kubernetes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spiris_sync.job_contract import ConditionType, Phase, Reason

from spiris_operator.connection_reconciler import ROTATE_ANNOTATION, VERIFY_ANNOTATION
from spiris_operator.fiscal_year_reconciler import SYNC_REQUEST_ANNOTATION

__all__ = ["connection_settled", "sync_settled", "sync_waits_for_connection", "token_matches"]

_CONNECTION_PHASES = {
    Phase.CONNECTED,
    Phase.PENDING_CONSENT,
    Phase.RECONSENT_REQUIRED,
    Phase.SUSPENDED,
    Phase.FAILED,
}
_SYNC_PHASES = {Phase.SUCCEEDED, Phase.DEGRADED, Phase.FAILED}


def _annotation(body: Mapping[str, Any], name: str) -> str:
    return str(((body.get("metadata") or {}).get("annotations") or {}).get(name) or "")


def _generation_observed(body: Mapping[str, Any]) -> bool:
    generation = (body.get("metadata") or {}).get("generation")
    return (body.get("status") or {}).get("observedGeneration") == generation


def connection_settled(body: Mapping[str, Any]) -> bool:
    """The connection's own status answers its spec and annotations (the token Secret is checked apart)."""
    status = body.get("status") or {}
    if not _generation_observed(body) or status.get("phase") not in _CONNECTION_PHASES:
        return False
    rotate = _annotation(body, ROTATE_ANNOTATION)
    verify = _annotation(body, VERIFY_ANNOTATION)
    return (not rotate or rotate == status.get("handledRotation")) and (
        not verify or verify == status.get("handledVerifyRequest")
    )


def token_matches(connection: Mapping[str, Any], secret_version: str | None) -> bool:
    """The connection's status describes the token Secret as it is (None: no Secret exists or was seen)."""
    status = connection.get("status") or {}
    phase = status.get("phase")
    if phase in {Phase.SUSPENDED, Phase.FAILED}:
        return True
    if secret_version is None:
        return phase != Phase.CONNECTED
    if phase == Phase.CONNECTED:
        return status.get("verifiedTokenVersion") == secret_version
    if phase == Phase.RECONSENT_REQUIRED:
        return status.get("rejectedTokenVersion") == secret_version
    return False  # a token appeared for a connection still waiting for consent


def sync_waits_for_connection(body: Mapping[str, Any]) -> bool:
    """A Pending sync whose only reason is its connection not being Ready (settled while that holds)."""
    status = body.get("status") or {}
    ready: Mapping[str, Any] = next(
        (c for c in status.get("conditions") or [] if c.get("type") == ConditionType.READY), {}
    )
    return status.get("phase") == Phase.PENDING and ready.get("reason") == Reason.CONNECTION_NOT_READY


def sync_settled(body: Mapping[str, Any]) -> bool:
    """The sync's status answers its spec and annotations, and no Job of it is being followed."""
    status = body.get("status") or {}
    if not _generation_observed(body):
        return False
    requested = _annotation(body, SYNC_REQUEST_ANNOTATION)
    if requested and requested != status.get("lastHandledSyncRequest"):
        return False
    return status.get("phase") in _SYNC_PHASES or sync_waits_for_connection(body)
