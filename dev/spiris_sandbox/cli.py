"""`spiris-sandbox`: run the sandbox in the foreground and print its users and companies.

Example: `spiris-sandbox --port 8085 --seed 1 --client-id demo --client-secret s3cret --redirect-uri
http://127.0.0.1:8080/oauth/callback --vouchers 300 --auto-approve 1`.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys

import uvicorn

from spiris_sandbox.app import build_app
from spiris_sandbox.config import SandboxConfig

# A generated secret may start with '-', which argparse would read as an option; the environment has no such
# trap and, unlike argv, is not world-readable in /proc.
CLIENT_SECRET_ENV = "SPIRIS_SANDBOX_CLIENT_SECRET"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spiris-sandbox", description="Local Spiris (Visma eEkonomi) emulator."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8085, help="0 picks a free port")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--client-id", default=SandboxConfig.client_id)
    parser.add_argument(
        "--client-secret",
        default=os.environ.get(CLIENT_SECRET_ENV, SandboxConfig.client_secret),
        help=f"default ${CLIENT_SECRET_ENV}, which keeps the secret out of the process list",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        default=None,
        help="registered redirect URI (repeatable)",
    )
    parser.add_argument(
        "--vouchers", type=int, default=SandboxConfig.vouchers_per_year, help="vouchers per year"
    )
    parser.add_argument("--documents-ratio", type=float, default=SandboxConfig.documents_ratio)
    parser.add_argument("--large-document-bytes", type=int, default=0)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=SandboxConfig.rate_limit_per_minute,
        help="requests per minute per client and endpoint",
    )
    parser.add_argument("--retry-after", action="store_true", help="send Retry-After on 429")
    parser.add_argument(
        "--auto-approve",
        type=int,
        default=None,
        metavar="N",
        help="skip the login pages and approve company N of the demo user",
    )
    parser.add_argument(
        "--default-company", type=int, default=1, help="0 = the demo user has no default company"
    )
    parser.add_argument("--download-ttl", type=int, default=SandboxConfig.download_ttl_seconds)
    parser.add_argument(
        "--storage-host", default=None, help="host name used in TemporaryUrl (e.g. localhost)"
    )
    parser.add_argument(
        "--fault-server-errors", type=int, default=0, help="answer the next N API calls with 5xx"
    )
    parser.add_argument("--fault-slow-ms", type=int, default=0, help="delay every API call by this many ms")
    parser.add_argument("--fault-force-429", type=int, default=0, help="answer the next N API calls with 429")
    parser.add_argument(
        "--no-quirks",
        action="store_true",
        help="turn off the production quirks (400 not-found, unstable ties, render latency, ErrorCode 2000)",
    )
    parser.add_argument("--access-log", action="store_true")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    config = SandboxConfig(
        seed=args.seed,
        client_id=args.client_id,
        client_secret=args.client_secret,
        redirect_uris=tuple(args.redirect_uris or SandboxConfig.redirect_uris),
        host=args.host,
        port=args.port,
        vouchers_per_year=args.vouchers,
        documents_ratio=args.documents_ratio,
        large_document_bytes=args.large_document_bytes,
        rate_limit_per_minute=args.rate_limit,
        retry_after_header=args.retry_after,
        auto_approve_company=args.auto_approve,
        default_company=args.default_company or None,
        download_ttl_seconds=args.download_ttl,
        storage_host=args.storage_host,
        fault_server_errors=args.fault_server_errors,
        fault_slow_ms=args.fault_slow_ms,
        fault_force_429=args.fault_force_429,
        quirks=not args.no_quirks,
    )
    try:
        app, state = build_app(config)
    except ValueError as error:
        print(f"spiris-sandbox: {error}", file=sys.stderr)
        return 2
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    # proto must be IPPROTO_TCP: asyncio only sets TCP_NODELAY on accepted sockets whose proto says
    # TCP (inherited from this one); with 0, Nagle + the client's delayed ACK add ~40 ms per response.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((config.host, config.port))
    port = sock.getsockname()[1]
    base = f"http://{config.host}:{port}"
    out = sys.stdout
    print(f"Spiris sandbox on {base}  (identity {base}/connect/authorize, API {base}/v2)", file=out)
    print(f"OAuth client: {config.client_id}  redirect URIs: {', '.join(config.redirect_uris)}", file=out)
    for user in state.world.users:
        print(
            f"User {user.email} / password {user.password}  default company: {user.default_company}", file=out
        )
        for number in user.companies:
            profile = state.world.profiles[number]
            notes = []
            if not profile.active:
                notes.append("inactive")
            if not profile.has_api_module:
                notes.append("no API module")
            if user.permissions[number] != "full":
                notes.append(f"permission {user.permissions[number]}")
            suffix = f"  [{', '.join(notes)}]" if notes else ""
            print(f"  company {number}: {profile.name}  org.nr {profile.org_number}{suffix}", file=out)
    if config.auto_approve_company is not None:
        print(
            f"Auto-approving company {config.auto_approve_company} for {state.world.users[0].email}", file=out
        )
    out.flush()
    uv_config = uvicorn.Config(app, log_level="info", access_log=args.access_log, lifespan="off")
    uvicorn.Server(uv_config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
