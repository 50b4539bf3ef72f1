"""Publishes a run's progress into its FiscalYearSync's status while the Job runs.

When ``SPIRIS_FYS_NAMESPACE`` and ``SPIRIS_FYS_NAME`` are set, every progress update becomes a JSON merge
patch of the FiscalYearSync ``/status`` subresource (``status.progress``, ``status.budget`` — the run's
priority, queue position and budget wait — and ``status.phase: Running``), at most one patch per interval
plus a final one, so a 5,000-voucher run does not flood the API server. The
Kubernetes API being unreachable is logged as a warning and never fails the sync: the ledger is what matters,
the progress is a courtesy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from spiris_sync.job_contract import Phase
from spiris_sync.progress import ProgressSnapshot

logger = logging.getLogger(__name__)

GROUP = "spiris.senseworks.io"
VERSION = "v1alpha1"
PLURAL = "fiscalyearsyncs"
REQUEST_TIMEOUT_SECONDS = 5.0


def custom_objects_api(kubeconfig: str | None = None) -> Any:
    """A CustomObjectsApi from ``kubeconfig`` (the worker's ``KUBECONFIG`` setting) or ~/.kube/config, else
    the in-cluster service account."""
    import kubernetes

    # The kubernetes package is untyped; keep it behind Any.
    client: Any = kubernetes.client
    config: Any = kubernetes.config
    if kubeconfig:
        api_client = config.new_client_from_config(config_file=kubeconfig)
    else:
        try:
            config.load_incluster_config()
            api_client = client.ApiClient()
        except config.ConfigException:
            api_client = config.new_client_from_config()
    return client.CustomObjectsApi(api_client)


class FiscalYearSyncStatusProgress:
    """A :class:`~spiris_sync.progress.ProgressListener` that merge-patches ``status.progress``."""

    def __init__(
        self,
        *,
        namespace: str,
        name: str,
        min_interval: float = 2.0,
        api_factory: Callable[[], Any] = custom_objects_api,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._namespace = namespace
        self._name = name
        self._min_interval = min_interval
        self._api_factory = api_factory
        self._api: Any = None
        self._clock = clock
        self._last_attempt: float | None = None
        self._pending: ProgressSnapshot | None = None
        self._warned = False

    def update(self, snapshot: ProgressSnapshot) -> None:
        self._pending = snapshot
        now = self._clock()
        if self._last_attempt is not None and now - self._last_attempt < self._min_interval:
            return
        self._send(snapshot)

    def finish(self, snapshot: ProgressSnapshot, *, outcome: str) -> None:
        # The final phase (Succeeded/Degraded/Failed) is the operator's to set once the Job ends; the worker
        # only
        # makes sure the last counters are visible.
        self._send(snapshot)

    def _send(self, snapshot: ProgressSnapshot) -> None:
        self._last_attempt = self._clock()
        self._pending = None
        status: dict[str, Any] = {"progress": snapshot.as_status(), "phase": Phase.RUNNING}
        if snapshot.budget is not None:
            status["budget"] = snapshot.budget.as_status()
        body = {"status": status}
        try:
            if self._api is None:
                self._api = self._api_factory()
            self._api.patch_namespaced_custom_object_status(
                GROUP,
                VERSION,
                self._namespace,
                PLURAL,
                self._name,
                body,
                _content_type="application/merge-patch+json",
                _request_timeout=REQUEST_TIMEOUT_SECONDS,
            )
        except Exception as exc:
            if not self._warned:
                logger.warning(
                    "could not publish progress to FiscalYearSync %s/%s (%s); the sync continues",
                    self._namespace,
                    self._name,
                    type(exc).__name__,
                )
                self._warned = True
            return
        self._warned = False
