"""The whole product end to end, as `make demo` runs it; then a change in Spiris picked up on schedule.

A real Chromium gives consent through our pages and the sandbox's login, company picker and consent dialog;
the real operator turns the connection Ready, creates the FiscalYearSyncs for the two latest years and runs
the real worker in Jobs — made by the real Job controller, run by the node agent under the chart's
sync ServiceAccount — against real Postgres and SeaweedFS. The test then checks the rows
in Postgres against the sandbox's seeded truth, the bytes in S3 against their recorded sha256, the CR
statuses and the Job outcomes; changes vouchers in the sandbox; and waits for the next *scheduled* run to be
an incremental one that picks the change up. Finally: nothing it started is left running.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest
from spiris_localstack.consent_browser import CHROMIUM, give_consent
from spiris_localstack.flow_report import compare_with_truth, verify_objects
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.local_flow import (
    FlowProgress,
    condition_status,
    wait_for_consent_url,
    wait_for_ready,
    watch_syncs,
)
from spiris_localstack.processes import pid_alive
from spiris_localstack.stack import LocalStack, StackOptions
from testkit.paths import CHART, CRDS, KUBEPLANE_SOURCE
from testkit.sandbox_control import SandboxControl

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(600)]

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "e2e"


#: What the test's stack started, checked to be gone after the module's stack stops.
started_pids: dict[str, int] = {}


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    options = StackOptions(
        vouchers_per_year=120,
        schedule="1m",
        schedule_jitter=0.0,
        namespace="e2e",
        connection_name="e2e-company",
        crd_dir=CRDS,
        chart_dir=CHART,
        kubeplane=kubeplane_binary(source_dir=KUBEPLANE_SOURCE),
    )
    started = LocalStack(options=options)
    with started:
        yield started
    for name, pid in started_pids.items():
        assert not pid_alive(pid), f"{name} (pid {pid}) is still running after stop()"



def test_demo_flow_then_scheduled_incremental_sync(
    stack: LocalStack, sandbox_control: SandboxControl
) -> None:
    assert stack.postgres is not None and stack.s3 is not None
    started_pids.update(stack.pids())
    lines: list[str] = []

    stack.apply_connection()
    consent_url = wait_for_consent_url(stack)
    user = sandbox_control.users()[0]
    result = give_consent(
        consent_url,
        email=user["email"],
        password=user["password"],
        company=stack.options.company,
        screenshots=ARTIFACTS,
    )
    company = sandbox_control.company(stack.options.company)
    assert company["name"] in result.heading

    connection = wait_for_ready(stack, timeout=60)
    status = connection["status"]
    assert status["phase"] == "Connected"
    assert status["company"]["corporateIdentityNumber"] == company["org_number"]
    assert condition_status(connection, "Authorized") == "True"
    assert len(status["fiscalYears"]) >= 2
    company_key = connection["metadata"]["uid"]

    progress = FlowProgress()
    watch_syncs(stack, company_key=company_key, expected=2, say=lines.append, progress=progress, timeout=300)
    assert len(progress.summaries) == 2
    # Progress was published while the Jobs ran, not only at the end.
    assert any(" Running " in line and "vouchers" in line for line in lines), lines

    # The rows in Postgres equal the sandbox's seeded truth, year by year.
    for name, summary in progress.summaries.items():
        truth = sandbox_control.truth(stack.options.company, summary.fiscal_year_id)
        assert compare_with_truth(summary, truth) == [], name
        assert summary.total_debit == summary.total_credit
        assert summary.vouchers_with_documents > 0
        assert summary.example is not None and summary.example.documents

    # The bytes in S3 match their recorded sha256 and sizes.
    assert (
        verify_objects(
            stack.postgres.dsn, stack.s3.client(), bucket="spiris-documents", company_key=company_key
        )
        == []
    )

    # The CR statuses and the Job outcomes say the same.
    syncs = stack.list_objects("fiscalyearsyncs")
    assert len(syncs) == 2
    for fys in syncs:
        fys_status = fys["status"]
        summary = progress.summaries[fys["metadata"]["name"]]
        assert fys_status["phase"] == "Succeeded"
        assert fys_status["counts"]["vouchers"] == summary.vouchers
        assert fys_status["counts"]["rows"] == summary.rows
        assert fys_status["reconciliation"]["balanced"] is True
        assert fys_status["progress"]["percent"] == 100
        # Open years re-sync on the schedule; a locked (closed) year only on demand.
        assert bool(fys_status.get("nextSyncTime")) is not fys_status["period"]["locked"]
        owner = fys["metadata"]["ownerReferences"][0]
        assert owner["kind"] == "SpirisConnection" and owner["uid"] == company_key
    jobs = stack.list_objects("jobs", group="batch", version="v1")
    assert len(jobs) >= 2
    for job in jobs:
        conditions = {c["type"]: c["status"] for c in job["status"].get("conditions") or []}
        assert conditions.get("Complete") == "True", job["status"]
        assert job["spec"]["template"]["spec"]["securityContext"]["runAsNonRoot"] is True

    # What a platform team sees with the same-version kubectl against the real API server.
    assert stack.kube is not None
    kubectl = [str(stack.kube.kubectl), "--kubeconfig", stack.kube.admin_kubeconfig, "-n", "e2e"]
    shown = subprocess.run([*kubectl, "get", "spc,fys"], capture_output=True, text=True, timeout=30,
                           check=True)
    assert "e2e-company" in shown.stdout and shown.stdout.count("Succeeded") == 2, shown.stdout
    job_name = jobs[0]["metadata"]["name"]
    logs = subprocess.run([*kubectl, "logs", f"job/{job_name}"], capture_output=True, text=True, timeout=30,
                          check=False)
    assert logs.returncode == 0 and logs.stdout.strip(), logs.stderr

    # Change data in Spiris: the next *scheduled* run must be incremental and pick it up.
    latest = max(progress.summaries.values(), key=lambda s: s.start)
    changed = sandbox_control.change_vouchers(
        stack.options.company, count=3, fiscal_year_id=latest.fiscal_year_id
    )
    added = sandbox_control.add_vouchers(
        stack.options.company, count=2, fiscal_year_id=latest.fiscal_year_id, with_attachments=True
    )
    before = time.monotonic()
    watch_syncs(stack, company_key=company_key, expected=1, say=lines.append, progress=progress, timeout=240)
    assert time.monotonic() - before < 200

    truth = sandbox_control.truth(stack.options.company, latest.fiscal_year_id)
    fresh = next(s for s in progress.summaries.values() if s.fiscal_year_id == latest.fiscal_year_id)
    assert compare_with_truth(fresh, truth) == []
    assert fresh.vouchers == latest.vouchers + 2
    with psycopg.connect(stack.postgres.dsn) as conn:
        texts = dict(
            conn.execute(
                "SELECT id::text, text FROM spiris.vouchers WHERE company_key = %s AND id = ANY(%s::uuid[])",
                (company_key, changed + added),
            ).fetchall()
        )
        run = conn.execute(
            """SELECT mode, vouchers_fetched, outcome FROM spiris.sync_runs
               WHERE company_key = %s AND fiscal_year_id = %s ORDER BY id DESC LIMIT 1""",
            (company_key, latest.fiscal_year_id),
        ).fetchone()
        total = conn.execute(
            """SELECT coalesce(sum(debit_total), 0) FROM spiris.vouchers
               WHERE company_key = %s AND fiscal_year_id = %s""",
            (company_key, latest.fiscal_year_id),
        ).fetchone()
    assert set(texts) == {v.lower() for v in changed + added}
    assert all("(ändrad)" in (texts[v.lower()] or "") for v in changed)
    assert run is not None and run[0] == "incremental" and run[2] == "succeeded"
    # Only what changed was fetched again (the look-back window may add a few recent ones, never the year).
    assert 5 <= run[1] < latest.vouchers // 2
    assert total is not None and Decimal(total[0]) == Decimal(truth["total_debit"])
