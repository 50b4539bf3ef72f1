"""`kubectl-spiris` (run as `kubectl spiris …`): status, consent links, syncs with a progress bar, documents,
viewer links and SIE 4 exports.

    kubectl spiris status
    kubectl spiris link NAME [--rotate]
    kubectl spiris sync NAME --year 2024
    kubectl spiris open NAME --year 2024 --voucher A33 [--browser]
    kubectl spiris view NAME --year 2024
    kubectl spiris sie NAME --year 2024 -o company-2024.se

`--year` is the calendar year a fiscal year starts in, or the fiscal year's Spiris id (a GUID, as
`kubectl get fys` shows it): the id names one year when a company has two starting in one calendar year.

Global flags as kubectl: `--kubeconfig`, `--context`, `-n/--namespace`; `--api-url` (or
`$SPIRIS_READ_API_URL`) is the read API, called with the kubeconfig's bearer token (or `--token`).
Exit codes: 0 done, 1 a refusal or failure (printed), 2 usage, 3 a sync that ended Failed or timed out.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import webbrowser
from pathlib import Path
from typing import Any, TextIO

from spiris_kubectl import kube_context
from spiris_kubectl.cluster import Cluster, PluginError
from spiris_kubectl.read_api import ReadApi
from spiris_kubectl.sync_progress import follow
from spiris_kubectl.year_ref import parse_year_ref


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kubectl spiris", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--kubeconfig")
    parser.add_argument("--context")
    parser.add_argument("-n", "--namespace")
    parser.add_argument("--api-url", default=os.environ.get("SPIRIS_READ_API_URL"))
    parser.add_argument("--token", default=os.environ.get("SPIRIS_READ_API_TOKEN"))
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("status", help="connections and fiscal years in one table")
    link = commands.add_parser("link", help="print (or renew) a connection's consent link")
    link.add_argument("name")
    link.add_argument("--rotate", action="store_true")
    sync = commands.add_parser("sync", help="request a sync of a year and follow it")
    sync.add_argument("name")
    sync.add_argument("--year", type=parse_year_ref, required=True)
    sync.add_argument("--timeout", type=float, default=3600)
    sync.add_argument("--no-wait", action="store_true")
    open_ = commands.add_parser("open", help="the document URLs behind a voucher")
    open_.add_argument("name")
    open_.add_argument("--year", type=parse_year_ref, required=True)
    open_.add_argument("--voucher", required=True, help="voucher number, e.g. A33")
    open_.add_argument("--browser", action="store_true", help="open the first document in a browser")
    view = commands.add_parser("view", help="a signed link to the auditor's viewer for a year")
    view.add_argument("name")
    view.add_argument("--year", type=parse_year_ref, required=True)
    sie = commands.add_parser("sie", help="the year as a SIE 4 file")
    sie.add_argument("name")
    sie.add_argument("--year", type=parse_year_ref, required=True)
    sie.add_argument("-o", "--output", required=True)
    return parser


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for row in rows:
        out.write("   ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() + "\n")


def _ready(obj: dict[str, Any]) -> str:
    for condition in (obj.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Ready":
            return str(condition.get("status"))
    return "Unknown"


def status_rows(connections: list[dict[str, Any]], syncs: list[dict[str, Any]]) -> list[list[str]]:
    rows = [
        [
            "CONNECTION",
            "COMPANY",
            "PHASE",
            "READY",
            "YEAR",
            "SYNC",
            "PROGRESS",
            "VOUCHERS",
            "DOCUMENTS",
            "MISSING",
            "LAST SYNC",
        ]
    ]
    for connection in sorted(connections, key=lambda c: c["metadata"]["name"]):
        name = connection["metadata"]["name"]
        status = connection.get("status") or {}
        head = [
            name,
            str((status.get("company") or {}).get("name") or ""),
            str(status.get("phase") or ""),
            _ready(connection),
        ]
        years = [s for s in syncs if ((s.get("spec") or {}).get("connectionRef") or {}).get("name") == name]
        if not years:
            rows.append([*head, "-", "", "", "", "", "", ""])
        for fys in sorted(years, key=lambda s: (s.get("spec") or {}).get("fiscalYear") or 0):
            fs = fys.get("status") or {}
            counts = fs.get("counts") or {}
            percent = (fs.get("progress") or {}).get("percent")
            rows.append(
                [
                    *head,
                    str((fys.get("spec") or {}).get("fiscalYear") or fs.get("year") or ""),
                    str(fs.get("phase") or ""),
                    f"{percent}%" if percent is not None else "",
                    str(counts.get("vouchers", "")),
                    str(counts.get("documents", "")),
                    str(counts.get("missingDocuments", "")),
                    str(fs.get("lastSyncTime") or ""),
                ]
            )
    return rows


def _read_api(args: argparse.Namespace, context: kube_context.KubeContext) -> ReadApi:
    if not args.api_url:
        raise PluginError("the read API's URL is needed: --api-url or SPIRIS_READ_API_URL")
    token = args.token or context.bearer_token
    if not token:
        raise PluginError(
            "the read API needs a bearer token: use a token kubeconfig, --token or SPIRIS_READ_API_TOKEN"
        )
    return ReadApi(args.api_url, token)


def _link(cluster: Cluster, name: str, *, rotate: bool, out: TextIO) -> int:
    before = (cluster.connection(name).get("status") or {}).get("consentUrl")
    if rotate:
        cluster.request_rotation(name)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            current = (cluster.connection(name).get("status") or {}).get("consentUrl")
            if current and current != before:
                out.write(f"{current}\n")
                return 0
            time.sleep(1)
        raise PluginError("the operator did not publish a new consent link within 60 s")
    if not before:
        phase = (cluster.connection(name).get("status") or {}).get("phase")
        raise PluginError(f"{name} has no consent link (phase {phase})")
    out.write(f"{before}\n")
    return 0


def _open(api: ReadApi, namespace: str, args: argparse.Namespace, out: TextIO) -> int:
    page = api.vouchers(namespace, args.name, args.year, number=args.voucher, limit="5")
    if not page["items"]:
        raise PluginError(f"no voucher {args.voucher} in {args.year}")
    voucher = api.voucher(namespace, args.name, page["items"][0]["id"])
    if not voucher["documents"]:
        missing = ", ".join(m["reason"] for m in voucher["missingDocuments"]) or "none linked"
        raise PluginError(f"voucher {args.voucher} has no stored documents ({missing})")
    urls = []
    for document in voucher["documents"]:
        link = api.content_link(namespace, args.name, document["id"])
        urls.append(link["url"])
        out.write(f"{link['url']}\n")
    if args.browser:
        webbrowser.open(urls[0])
    return 0


def run(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    context = kube_context.load(kubeconfig=args.kubeconfig, context=args.context, namespace=args.namespace)
    cluster = Cluster(context.api_client, context.namespace)
    if args.command == "status":
        _table(status_rows(cluster.connections(), cluster.fiscal_year_syncs()), out)
        return 0
    if args.command == "link":
        return _link(cluster, args.name, rotate=args.rotate, out=out)
    if args.command == "sync":
        name, stamp = cluster.request_sync(args.name, args.year)
        err.write(f"fiscalyearsync/{name}: sync requested at {stamp}\n")
        if args.no_wait:
            return 0
        try:
            status = follow(
                lambda: cluster.get_fiscal_year_sync(name), request=stamp, timeout=args.timeout, out=err
            )
        except TimeoutError as exc:
            err.write(f"kubectl spiris: {exc}\n")
            return 3
        counts = status.get("counts") or {}
        out.write(
            f"{status.get('phase')}: {counts.get('vouchers', 0)} vouchers, {counts.get('documents', 0)} "
            f"documents, {counts.get('missingDocuments', 0)} missing\n"
        )
        return 3 if status.get("phase") == "Failed" else 0
    api = _read_api(args, context)
    if args.command == "open":
        return _open(api, context.namespace, args, out)
    if args.command == "view":
        out.write(f"{api.viewer_link(context.namespace, args.name, args.year)['url']}\n")
        return 0
    if args.command == "sie":
        Path(args.output).write_bytes(api.sie(context.namespace, args.name, args.year))
        err.write(f"wrote {args.output}\n")
        return 0
    return 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return run(args, sys.stdout, sys.stderr)
    except PluginError as exc:
        print(f"kubectl spiris: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
