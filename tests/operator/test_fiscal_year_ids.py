"""Two fiscal years starting in one calendar year (a short first year, then a changed year end), end to end:
operator → Job (``--fiscal-year-id``) → worker; each FiscalYearSync's status, its Job's run record and the
synced vouchers name the same Spiris fiscal year.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from spiris_localstack.node_agent import NodeAgent
from spiris_operator.kube_api import KubeApi
from spiris_sandbox.server import SandboxServer
from testkit.operator_stack import (
    SANDBOX_CONFIG,
    condition,
    consent_token,
    create_connection,
    create_fiscal_year_sync,
    store_consent,
)
from testkit.sandbox import sandbox_server
from testkit.sandbox_control import SandboxControl
from testkit.waiting import wait_for

pytestmark = pytest.mark.timeout(240)

PERIODS = (("2024-01-01", "2024-06-30"), ("2024-07-01", "2025-06-30"))


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """This module's sandbox: company 1 keeps books in two fiscal years that both start in 2024."""
    with sandbox_server(**SANDBOX_CONFIG, fiscal_year_periods=PERIODS) as server:
        yield server


def _status(kube: KubeApi, namespace: str, name: str) -> dict[str, Any]:
    return (kube.get_custom("fiscalyearsyncs", namespace, name) or {}).get("status") or {}


def test_two_fiscal_years_starting_in_one_calendar_year_sync_each_its_own(
    kube: KubeApi,
    kube_namespace: str,
    sandbox: SandboxServer,
    sandbox_control: SandboxControl,
    start_operator,
    spiris_env,
    sync_stack,
    kube_node: NodeAgent,
) -> None:
    start_operator(**spiris_env, **sync_stack)
    truth = {y["start"]: y for y in sandbox_control.company()["fiscal_years"]}
    assert set(truth) == {"2024-01-01", "2024-07-01"}
    connection = create_connection(kube, kube_namespace, "acme", {})
    store_consent(kube, connection, consent_token(sandbox.url))
    wait_for(
        lambda: (
            condition(kube.get_custom("spirisconnections", kube_namespace, "acme"), "Ready").get("status")
            == "True"
        ),
        what="connection Ready",
    )
    syncs = {"acme-short": "2024-01-01", "acme-long": "2024-07-01"}
    for name, start in syncs.items():
        create_fiscal_year_sync(
            kube, kube_namespace, name, {"connectionRef": {"name": "acme"}, "startDate": start}
        )
    for name, start in syncs.items():
        status = wait_for(
            lambda name=name: (
                _status(kube, kube_namespace, name).get("phase") in {"Succeeded", "Degraded", "Failed"}
                and _status(kube, kube_namespace, name)
            ),
            timeout=180,
            what=f"{name} to finish",
        )
        job = f"{name}-sync-1"
        assert status["phase"] in {"Succeeded", "Degraded"}, kube_node.job_log(kube_namespace, job)
        year = truth[start]
        assert status["fiscalYearId"].lower() == year["id"].lower()
        assert status["period"]["startDate"] == start and status["year"] == 2024
        # The counts in status are those of this Job's run, of this year only.
        assert status["counts"]["vouchers"] == year["vouchers"], (name, status["counts"], year)

    company_key = connection["metadata"]["uid"]
    with psycopg.connect(sync_stack["DATABASE_URL"]) as conn:
        runs = conn.execute(
            "SELECT job_name, fiscal_year, fiscal_year_id::text, outcome FROM spiris.sync_runs"
            " WHERE company_key = %s ORDER BY job_name",
            (company_key,),
        ).fetchall()
        vouchers = dict(
            conn.execute(
                "SELECT fiscal_year_id::text, count(*) FROM spiris.vouchers WHERE company_key = %s"
                " GROUP BY fiscal_year_id",
                (company_key,),
            ).fetchall()
        )
    assert [(job, fy, fy_id.lower()) for job, fy, fy_id, _ in runs] == [
        ("acme-long-sync-1", 2024, truth["2024-07-01"]["id"].lower()),
        ("acme-short-sync-1", 2024, truth["2024-01-01"]["id"].lower()),
    ]
    assert {k.lower(): v for k, v in vouchers.items()} == {
        y["id"].lower(): y["vouchers"] for y in truth.values()
    }
