"""The operator's long-lived parts, built once at startup and shared by all handlers via Kopf's memo.

Also the production implementations of the seams the reconcilers depend on: the Spiris reader over
``spiris_client``, the OAuth refresher, and the read-back of a finished run from ``spiris_store``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass, field
from typing import Any

from spiris_client.oauth import SpirisOAuth

from spiris_operator import sync_jobs
from spiris_operator.connection_reconciler import ConnectionContext
from spiris_operator.fiscal_year_reconciler import FysContext, RunReport
from spiris_operator.job_cap import JobCap
from spiris_operator.kube_api import KubeApi, connect
from spiris_operator.metrics import OperatorMetrics
from spiris_operator.settings import OperatorSettings
from spiris_operator.spiris_reader import ClientSpirisReader

__all__ = ["Runtime", "build_runtime"]

logger = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything handlers share; ``locks`` serialise reconciles of one object (timer vs. Secret events)."""

    settings: OperatorSettings
    kube: KubeApi
    metrics: OperatorMetrics
    connection_ctx: ConnectionContext
    fys_ctx: FysContext
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    def lock(self, key: str) -> asyncio.Lock:
        return self.locks.setdefault(key, asyncio.Lock())


def _count_running(kube: KubeApi, namespaces: tuple[str, ...]) -> int:
    scopes: list[str | None] = list(namespaces) if namespaces else [None]
    running = 0
    for namespace in scopes:
        for job in kube.list_jobs(namespace, selector=sync_jobs.active_job_selector()):
            if sync_jobs.job_state(job).phase != "Finished":
                running += 1
    return running


def _run_reader(settings: OperatorSettings) -> Any:
    def read(company_key: str, job_name: str) -> RunReport | None:
        if not settings.store.database_url:
            return None
        from spiris_store import ledger
        from spiris_store.connection import connect as db_connect

        try:
            with db_connect(settings.store.database_url) as conn:
                run = ledger.run_of_job(conn, company_key=company_key, job_name=job_name)
        except Exception as exc:  # the status stays useful without counts; the reason goes to the log
            logger.warning("could not read the sync run from Postgres: %s", type(exc).__name__)
            return None
        if run is None:
            return None
        counts = run.counts
        return RunReport(
            counts={
                "accounts": counts.accounts,
                "vouchers": counts.vouchers,
                "rows": counts.rows,
                "documents": counts.documents,
                "missingDocuments": counts.missing_documents,
            },
            reconciliation=_reconciliation(run.reconciliation),
            full_pass=run.listed_whole_year,
        )

    return read


def _reconciliation(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """The status form of a run's reconciliation: account differences plus the SIE 4 comparison's."""
    if raw is None:
        return None
    differences = raw.get("differences")
    count = len(differences) if isinstance(differences, list | dict) else int(differences or 0)
    result: dict[str, Any] = {"balanced": bool(raw.get("balanced", count == 0)), "differences": count}
    sie4 = raw.get("sie4")
    if isinstance(sie4, dict):
        sie4_differences = sum(int(sie4.get(k) or 0) for k in ("missingInCopy", "extraInCopy", "differing"))
        result["differences"] = count + sie4_differences
        result["sie4"] = {
            "equal": bool(sie4.get("equal")),
            "matched": int(sie4.get("matched") or 0) + int(sie4.get("matchedInOtherRowOrder") or 0),
            "vouchers": int(sie4.get("vouchersInExport") or 0),
            "differences": sie4_differences,
            "error": sie4.get("error"),
        }
    return result


def build_runtime(settings: OperatorSettings) -> Runtime:
    """Connect to Kubernetes and wire the reconcilers (no network calls to Spiris yet)."""
    kube = connect(settings.kubeconfig)
    metrics = OperatorMetrics()
    oauth = SpirisOAuth(
        settings.client_id,
        settings.client_secret,
        # The operator only refreshes (no redirect URI in that grant); the consent flow belongs to the web.
        # Without a public URL there is none, and none is made up from an empty one.
        redirect_uri=settings.redirect_uri or None,
        identity_url=settings.identity_url,
        timeout=settings.refresh_timeout.total_seconds(),
    )
    holder = f"{socket.gethostname()}-{os.getpid()}"
    connection_ctx = ConnectionContext(
        kube=kube,
        settings=settings,
        refresher=oauth,
        reader=ClientSpirisReader(settings.api_url),
        holder=holder,
    )
    cap = JobCap(
        limit=settings.max_concurrent_jobs,
        headroom=settings.on_demand_headroom,
        count_running=lambda: _count_running(kube, settings.namespaces),
    )
    fys_ctx = FysContext(kube=kube, settings=settings, cap=cap, read_run=_run_reader(settings))
    return Runtime(
        settings=settings, kube=kube, metrics=metrics, connection_ctx=connection_ctx, fys_ctx=fys_ctx
    )
