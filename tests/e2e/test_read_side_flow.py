"""The read side in the `make run` stack: the banner's `api` and `viewer` lines, and `kubectl spiris` as an
auditor — `open … --voucher A33` prints a URL whose bytes equal the stored document, `sie` writes a file our
reader parses with balances equal to the copy, `status` shows connections and years, and `sync` follows a
requested run with a progress bar."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from spiris_localstack.consent_browser import CHROMIUM, give_consent
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.local_flow import (
    FlowProgress,
    banner,
    wait_for_consent_url,
    wait_for_ready,
    watch_syncs,
)
from spiris_localstack.stack import LocalStack, StackOptions
from spiris_store.sie4 import read_sie4
from testkit.paths import CHART, CRDS, KUBEPLANE_SOURCE
from testkit.sandbox_control import SandboxControl

pytestmark = [pytest.mark.slow, pytest.mark.browser, pytest.mark.timeout(900)]
PLUGIN = str(Path(sys.executable).parent / "kubectl-spiris")


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    options = StackOptions(
        vouchers_per_year=300,
        namespace="reads",
        connection_name="demo-company",
        crd_dir=CRDS,
        chart_dir=CHART,
        kubeplane=kubeplane_binary(source_dir=KUBEPLANE_SOURCE),
    )
    with LocalStack(options=options) as started:
        yield started


def _plugin(stack: LocalStack, *args: str, kubeconfig: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SPIRIS_READ_API_URL": stack.api_url}
    config = kubeconfig or str(stack.work_dir / "auditor.kubeconfig")
    return subprocess.run(
        [PLUGIN, "--kubeconfig", config, "-n", stack.options.namespace, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


def test_banner_and_kubectl_spiris(
    stack: LocalStack, sandbox_control: SandboxControl, tmp_path: Path
) -> None:
    assert stack.postgres is not None and stack.kube is not None
    stack.apply_connection()
    consent_url = wait_for_consent_url(stack)
    lines = banner(stack, consent_url, login=("x", "y"))
    api = [line for line in lines if line.strip().startswith("api ")]
    viewer = [line for line in lines if line.strip().startswith("viewer ")]
    assert api and stack.api_url in api[0]
    assert viewer and "/viewer/" in viewer[0]
    viewer_url = viewer[0].split()[1]
    user = sandbox_control.users()[0]
    give_consent(consent_url, email=user["email"], password=user["password"], company=stack.options.company)
    connection = wait_for_ready(stack, timeout=90)
    watch_syncs(
        stack,
        company_key=connection["metadata"]["uid"],
        expected=2,
        say=lambda _: None,
        progress=FlowProgress(),
        timeout=300,
    )
    company_key = str(connection["metadata"]["uid"])
    year = max(sandbox_control.fiscal_year_ids(1))

    # The banner's viewer link now shows the synced year.
    page = httpx.get(viewer_url + "/vouchers", params={"limit": "1"}, timeout=30)
    assert page.status_code == 200 and page.json()["total"] > 0

    status = _plugin(stack, "status")
    assert status.returncode == 0, status.stderr
    assert "demo-company" in status.stdout and str(year) in status.stdout and "Succeeded" in status.stdout

    # The issue's own example: A33 of 2024 in the `make run` stack (300 vouchers a year) has a document.
    opened = _plugin(stack, "open", "demo-company", "--year", "2024", "--voucher", "A33")
    with psycopg.connect(stack.postgres.dsn) as conn:
        stored = conn.execute(
            """SELECT d.sha256 FROM spiris.vouchers v
            JOIN spiris.fiscal_years fy ON fy.company_key = v.company_key AND fy.id = v.fiscal_year_id
            JOIN spiris.voucher_documents vd ON vd.company_key = v.company_key AND vd.voucher_id = v.id
            JOIN spiris.documents d ON d.company_key = vd.company_key AND d.id = vd.document_id
            WHERE v.company_key = %s AND v.number = 'A33' AND extract(year FROM fy.start_date) = %s""",
            (company_key, 2024),
        ).fetchall()
    assert stored, "A33 of 2024 has no stored document in this seed"
    assert opened.returncode == 0, opened.stderr
    urls = opened.stdout.split()
    hashes = {hashlib.sha256(httpx.get(url, timeout=30).content).hexdigest() for url in urls}
    assert hashes == {row[0] for row in stored}

    target = tmp_path / "year.se"
    exported = _plugin(stack, "sie", "demo-company", "--year", str(year), "-o", str(target))
    assert exported.returncode == 0, exported.stderr
    sie = read_sie4(target.read_bytes())
    with psycopg.connect(stack.postgres.dsn) as conn:
        sums = dict(
            conn.execute(
                """SELECT r.account_number, sum(r.debit) - sum(r.credit) FROM spiris.voucher_rows r
            JOIN spiris.vouchers v ON v.company_key = r.company_key AND v.id = r.voucher_id
            JOIN spiris.fiscal_years fy ON fy.company_key = v.company_key AND fy.id = v.fiscal_year_id
            WHERE v.company_key = %s AND v.vanished_at IS NULL AND extract(year FROM fy.start_date) = %s
            GROUP BY r.account_number""",
                (company_key, year),
            ).fetchall()
        )
    for (index, account), amount in sie.results.items():
        assert index == 0 and Decimal(sums[account]) == amount
    # The fiscal-year id names the same year (what tells two years starting in one calendar year apart).
    with psycopg.connect(stack.postgres.dsn) as conn:
        [(fiscal_year_id,)] = conn.execute(
            "SELECT id FROM spiris.fiscal_years"
            " WHERE company_key = %s AND extract(year FROM start_date) = %s",
            (company_key, year),
        ).fetchall()
    by_id = tmp_path / "year-by-id.se"
    exported = _plugin(stack, "sie", "demo-company", "--year", str(fiscal_year_id), "-o", str(by_id))
    assert exported.returncode == 0, exported.stderr
    assert read_sie4(by_id.read_bytes()).results == sie.results
    for (_, account), closing in sie.closing_balances.items():
        opening = sie.opening_balances.get((0, account), Decimal(0))
        assert closing - opening == Decimal(sums.get(account, 0))

    # A token for this namespace is refused another one's connection.
    foreign = _plugin(stack, "open", "demo-company", "--year", str(year), "--voucher", "A1")
    assert foreign.returncode in (0, 1)
    other = subprocess.run(
        [
            PLUGIN,
            "--kubeconfig",
            str(stack.work_dir / "auditor.kubeconfig"),
            "-n",
            "default",
            "view",
            "demo-company",
            "--year",
            str(year),
        ],
        env={**os.environ, "SPIRIS_READ_API_URL": stack.api_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert other.returncode == 1 and "403" in other.stderr

    # `sync` with the admin's kubeconfig: request a run and follow it to the end with a progress bar.
    synced = _plugin(
        stack,
        "sync",
        "demo-company",
        "--year",
        str(fiscal_year_id),
        "--timeout",
        "300",
        kubeconfig=stack.kube.admin_kubeconfig,
    )
    assert synced.returncode == 0, synced.stderr
    assert "%|" in synced.stderr and synced.stdout.startswith(("Succeeded", "Degraded"))
