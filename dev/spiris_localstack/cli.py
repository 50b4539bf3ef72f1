"""`spiris-local`: the README's run command (`make run`) and its automated twin (`make demo`).

`spiris-local run` starts the whole product on this machine — PostgreSQL, S3, the real Kubernetes control
plane with the node agent running its pods, the Spiris sandbox, the web component and the operator — applies a
SpirisConnection with `sync.latestFiscalYears: 2`, prints the consent link, kubeconfig, Postgres DSN and S3
endpoint, and follows the syncs until Ctrl-C. `spiris-local demo` does the same with a headless browser giving
consent, checks the stored ledger and documents against the sandbox's seeded truth, and exits 0 only when
everything matches. `spiris-local kube --dir DIR` starts the control plane and its node alone, writes
DIR/kubeconfig, prints `kubeconfig: <path>` and then `ready`, and runs until SIGINT/SIGTERM. Everything
started is stopped by PID on the way out, whatever happens. The repository's parts are given on the command
line (`--crds`, `--chart`, `--kubeplane` or `--kubeplane-src`); `make` passes them.
"""

from __future__ import annotations

import argparse
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from spiris_localstack.flow_report import compare_with_truth, verify_objects
from spiris_localstack.kube_binary import kubeplane_binary
from spiris_localstack.kube_cluster import LocalKube
from spiris_localstack.local_flow import (
    FlowProgress,
    banner,
    wait_for_consent_url,
    wait_for_ready,
    watch_syncs,
)
from spiris_localstack.processes import MissingBinaryError, ServiceStartError
from spiris_localstack.stack import LocalStack, StackOptions

__all__ = ["main"]


def say(message: str) -> None:
    print(message, flush=True)


def _options(args: argparse.Namespace) -> StackOptions:
    return StackOptions(
        vouchers_per_year=args.vouchers,
        seed=args.seed,
        company=args.company,
        web_port=args.web_port,
        work_dir=Path(args.work_dir) if args.work_dir else None,
        crd_dir=Path(args.crds),
        chart_dir=Path(args.chart),
        kubeplane=_kubeplane(args),
    )


def _kubeplane(args: argparse.Namespace) -> Path:
    return kubeplane_binary(binary=args.kubeplane, source_dir=args.kubeplane_src)


def _add_repository_parts(cmd: argparse.ArgumentParser, *, chart: bool = True) -> None:
    cmd.add_argument("--crds", default="crds", help="the folder of the CRD manifests to install")
    if chart:
        cmd.add_argument("--chart", default="charts/spiris-operator",
                         help="the Helm chart whose ServiceAccounts and RBAC the components run under")
    cmd.add_argument("--kubeplane", default=None, help="the kubeplane binary (default: $SPIRIS_KUBEPLANE)")
    cmd.add_argument("--kubeplane-src", default=None,
                     help="build (or reuse the cached build of) kubeplane from this Go module folder")


def kube_only(args: argparse.Namespace) -> int:
    """`spiris-local kube`: the control plane and its node until a signal."""
    directory = Path(args.dir).resolve()
    kube = LocalKube(binary=_kubeplane(args), crd_dir=Path(args.crds), base_dir=directory)
    try:
        kube.start()
        say(f"kubeconfig: {kube.admin_kubeconfig}")
        say(f"kubectl: {kube.kubectl}  (server {kube.plane.version} at {kube.plane.server}, "
            f"ready in {kube.plane.ready_seconds:.1f} s)")
        say("ready")
        signal.pause()
        return 0
    except KeyboardInterrupt:
        return 0
    except (MissingBinaryError, ServiceStartError) as exc:
        say(f"spiris-local kube failed: {exc}")
        return 1
    finally:
        kube.stop()
        say("control plane stopped.")


def _demo_login(stack: LocalStack) -> tuple[str, str]:
    user = stack.sandbox_json("/_sandbox/users")[0]
    return str(user["email"]), str(user["password"])


def run(stack: LocalStack, *, automated: bool, screenshots: Path | None) -> int:
    """The flow on a started stack; returns the process exit code."""
    connection = stack.apply_connection()
    consent_url = wait_for_consent_url(stack)
    login = _demo_login(stack)
    for line in banner(stack, consent_url, login=login):
        say(line)
    if automated:
        from spiris_localstack.consent_browser import give_consent

        say("giving consent in a headless browser …")
        result = give_consent(
            consent_url,
            email=login[0],
            password=login[1],
            company=stack.options.company,
            screenshots=screenshots,
        )
        say(f"  browser ended on: {result.heading}")
    else:
        say("open the consent link in a browser and approve; waiting … (Ctrl-C stops everything)")
    connection = wait_for_ready(stack, timeout=120.0 if automated else float("inf"))
    company = (connection.get("status") or {}).get("company") or {}
    say(f"connection Ready: {company.get('name')} ({company.get('corporateIdentityNumber')})")
    company_key = str(connection["metadata"]["uid"])
    progress = FlowProgress()
    expected = stack.options.latest_fiscal_years
    if not automated:
        watch_syncs(
            stack,
            company_key=company_key,
            expected=expected,
            say=say,
            progress=progress,
            until_all_finished=False,
            timeout=float("inf"),
        )
        return 0
    watch_syncs(stack, company_key=company_key, expected=expected, say=say, progress=progress, timeout=600.0)
    return _check_against_truth(stack, progress, company_key=company_key)


def _check_against_truth(stack: LocalStack, progress: FlowProgress, *, company_key: str) -> int:
    assert stack.postgres is not None and stack.s3 is not None
    problems: list[str] = []
    for name, summary in sorted(progress.summaries.items()):
        truth = stack.sandbox_json(f"/_sandbox/truth/{stack.options.company}/{summary.fiscal_year_id}")
        problems += [f"{name}: {p}" for p in compare_with_truth(summary, truth)]
        if summary.vouchers_with_documents == 0:
            problems.append(f"{name}: no voucher has a document")
    problems += verify_objects(
        stack.postgres.dsn, stack.s3.client(), bucket=stack.options.bucket, company_key=company_key
    )
    if problems:
        say("demo FAILED — the stores differ from the sandbox:")
        for problem in problems:
            say(f"  {problem}")
        return 1
    say(
        "demo OK — every fiscal year matches the sandbox: vouchers, rows, per-account sums, documents, bytes."
    )
    return 0


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spiris-local", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (("run", "the flow for a person with a browser"), ("demo", "the flow, automated")):
        cmd = sub.add_parser(name, help=text)
        cmd.add_argument("--vouchers", type=int, default=300, help="vouchers per fiscal year in the sandbox")
        cmd.add_argument("--seed", type=int, default=1)
        cmd.add_argument("--company", type=int, default=1, help="which sandbox company to connect (1-based)")
        cmd.add_argument("--web-port", type=int, default=0, help="port of the consent pages (0 = free port)")
        cmd.add_argument("--work-dir", default=None, help="where logs go (default: a new temp dir)")
        cmd.add_argument(
            "--screenshots", default=None, help="demo: save every consent page's screenshot here"
        )
        _add_repository_parts(cmd)
    kube = sub.add_parser("kube", help="the Kubernetes control plane and its node alone")
    kube.add_argument(
        "--dir", required=True, help="where the plane keeps its state; DIR/kubeconfig is written"
    )
    _add_repository_parts(kube, chart=False)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)  # also when started with SIGINT ignored (a background job)
    if args.command == "kube":
        return kube_only(args)
    automated = args.command == "demo"
    try:
        options = _options(args)
    except MissingBinaryError as exc:
        say(f"spiris-local {args.command} failed: {exc}")
        return 1
    stack = LocalStack(options=options, announce=lambda m: say(f"· {m}"))
    try:
        stack.start()
        return run(
            stack, automated=automated, screenshots=Path(args.screenshots) if args.screenshots else None
        )
    except KeyboardInterrupt:
        say("\nstopping …")
        return 0 if not automated else 130
    except (MissingBinaryError, ServiceStartError, TimeoutError) as exc:
        say(f"spiris-local {args.command} failed: {exc}")
        say(f"  logs: {stack.work_dir}")
        return 1
    finally:
        stack.stop()
        say("everything this run started has stopped.")


if __name__ == "__main__":
    sys.exit(main())
