"""The consent-to-documents flow on the local stack: what `make run` shows a person and `make demo` automates.

Apply a SpirisConnection with `sync.latestFiscalYears`, publish its consent link, wait for consent (a person
in a browser, or the headless browser of `consent_browser`), watch the connection turn Ready and both fiscal
years sync — printing progress lines as `kubectl get fys` would show them — and print a summary read back
from Postgres and S3 as each year finishes. The functions take a started `LocalStack` and return plain
results, so the e2e test calls exactly what the CLI calls.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spiris_localstack import read_side
from spiris_localstack.flow_report import YearSummary, summarise_year
from spiris_localstack.stack import BIN, LocalStack

__all__ = [
    "FINISHED_PHASES",
    "FlowProgress",
    "banner",
    "condition_status",
    "wait_for_consent_url",
    "wait_for_ready",
    "watch_syncs",
]

FINISHED_PHASES = {"Succeeded", "Degraded", "Failed"}


def condition_status(obj: dict[str, Any] | None, type_: str) -> str | None:
    for entry in ((obj or {}).get("status") or {}).get("conditions") or []:
        if entry.get("type") == type_:
            return str(entry.get("status"))
    return None


def wait_for_consent_url(stack: LocalStack, *, timeout: float = 60.0) -> str:
    name = stack.options.connection_name

    def url() -> str | None:
        found = stack.get_object("spirisconnections", name)
        return ((found or {}).get("status") or {}).get("consentUrl")

    return str(stack.wait_for(url, timeout=timeout, what=f"the consent link of {name}"))


def wait_for_ready(stack: LocalStack, *, timeout: float) -> dict[str, Any]:
    name = stack.options.connection_name

    def ready() -> dict[str, Any] | None:
        found = stack.get_object("spirisconnections", name)
        return found if condition_status(found, "Ready") == "True" else None

    result: dict[str, Any] = stack.wait_for(ready, timeout=timeout, what=f"{name} to become Ready")
    return result


def banner(stack: LocalStack, consent_url: str, *, login: tuple[str, str]) -> list[str]:
    """What a person needs to follow the flow: the link, kubectl, Postgres and S3."""
    assert stack.kube is not None and stack.postgres is not None and stack.s3 is not None
    ns = stack.options.namespace
    first_year, year = read_side.year_range(stack)
    auditor = stack.work_dir / "auditor.kubeconfig"
    return [
        "",
        "Spiris operator — local flow is up",
        f"  consent link   {consent_url}",
        f"  sandbox login  {login[0]} / {login[1]}  (pick «{stack.options.company}» in the company picker)",
        f"  kubectl        export KUBECONFIG={stack.kube.admin_kubeconfig} "
        f"PATH={stack.kube.kubectl.parent}:$PATH",
        f"                 kubectl -n {ns} get spc,fys     (wait: kubectl -n {ns} wait spc/"
        f"{stack.options.connection_name} --for=condition=Ready)",
        f"                 (kubectl {stack.kube.plane.version}, the control plane's own; "
        f"a real API server on {stack.kube.plane.server})",
        f"  Postgres       {stack.postgres.dsn}   (schema spiris)",
        f"  S3             http://{stack.s3.endpoint}  bucket {stack.options.bucket}  "
        f"access key {stack.s3.access_key}  secret key {stack.s3.secret_key}",
        f"  metrics        {stack.operator_metrics_url}",
        f"  api            {stack.api_url}/api/v1   (OpenAPI: {stack.api_url}/api/v1/openapi.json)",
        f"                 export SPIRIS_READ_API_URL={stack.api_url} PATH={BIN}:$PATH",
        f"                 kubectl spiris --kubeconfig {auditor} open {stack.options.connection_name} "
        f"--year {first_year} --voucher A33",
        f"  viewer         {read_side.viewer_link(stack, year=year)}   (fiscal year {year}, once synced)",
        f"  logs           {stack.work_dir}",
        "",
    ]


def _progress_line(fys: dict[str, Any]) -> str:
    status = fys.get("status") or {}
    progress = status.get("progress") or {}
    vouchers = progress.get("vouchers") or {}
    documents = progress.get("documents") or {}
    counts = status.get("counts") or {}
    return (
        f"  {fys['metadata']['name']:<28} {status.get('phase', '-'):<10} "
        f"{progress.get('percent', 0):>3}%  vouchers {vouchers.get('done', counts.get('vouchers', 0))}"
        f"/{vouchers.get('total', '?')}  documents {documents.get('done', counts.get('documents', 0))}"
        f"/{documents.get('total', '?')}"
    )


@dataclass
class FlowProgress:
    """What the watcher has seen: finished years (summaries by FYS name) and the last line per FYS."""

    summaries: dict[str, YearSummary] = field(default_factory=dict)
    finished_runs: dict[str, str] = field(default_factory=dict)
    lines: dict[str, str] = field(default_factory=dict)


def watch_syncs(
    stack: LocalStack,
    *,
    company_key: str,
    expected: int,
    say: Callable[[str], None],
    progress: FlowProgress,
    until_all_finished: bool = True,
    timeout: float = 600.0,
) -> FlowProgress:
    """Follow the connection's FiscalYearSyncs, printing progress changes and a summary per finished run.

    Returns once `expected` syncs have each finished a run not reported before this call (or never, with
    `until_all_finished=False`, for `make run`, which the person ends with Ctrl-C).
    """
    assert stack.postgres is not None
    before = dict(progress.finished_runs)

    def step() -> bool:
        items = [
            item
            for item in stack.list_objects("fiscalyearsyncs")
            if (item.get("spec") or {}).get("connectionRef", {}).get("name") == stack.options.connection_name
        ]
        for item in sorted(items, key=lambda i: str(i["metadata"]["name"])):
            name = str(item["metadata"]["name"])
            line = _progress_line(item)
            if progress.lines.get(name) != line:
                progress.lines[name] = line
                say(line)
            status = item.get("status") or {}
            run_marker = f"{status.get('lastSyncTime')}/{status.get('runCounter')}"
            if status.get("phase") in FINISHED_PHASES and progress.finished_runs.get(name) != run_marker:
                progress.finished_runs[name] = run_marker
                fiscal_year_id = status.get("fiscalYearId")
                if fiscal_year_id:
                    assert stack.postgres is not None
                    summary = summarise_year(
                        stack.postgres.dsn, company_key=company_key, fiscal_year_id=str(fiscal_year_id)
                    )
                    progress.summaries[name] = summary
                    say(f"{name} finished: {status.get('phase')}")
                    for text in summary.lines():
                        say(text)
        new_runs = [name for name, marker in progress.finished_runs.items() if before.get(name) != marker]
        return until_all_finished and len(new_runs) >= expected

    stack.wait_for(step, timeout=timeout, what="the fiscal year syncs to finish", interval=1.0)
    return progress
