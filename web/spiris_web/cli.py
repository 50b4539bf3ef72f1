"""`spiris-web`: serve the consent pages and OAuth callback with uvicorn.

Configuration comes from the environment (docs/architecture.md); `--host`/`--port` override
`SPIRIS_WEB_HOST`/`SPIRIS_WEB_PORT`. uvicorn's access log is disabled because it would print callback query
strings (codes); the app writes its own redacted JSON access log instead.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn
from prometheus_client import start_http_server

from spiris_web.app import create_app
from spiris_web.logging_json import configure_logging
from spiris_web.metrics import WebMetrics
from spiris_web.settings import SettingsError, WebSettings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spiris-web", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SPIRIS_WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SPIRIS_WEB_PORT", "8080")))
    # 0: /metrics only on the main port. In the chart it has a port of its own, so that a NetworkPolicy
    # narrowing the public port to the ingress controller does not hide it from Prometheus.
    parser.add_argument("--metrics-port", type=int,
                        default=int(os.environ.get("SPIRIS_WEB_METRICS_PORT") or "0"))
    parser.add_argument("--log-level", default=os.environ.get("SPIRIS_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    try:
        settings = WebSettings.from_env()
    except SettingsError as exc:
        print(f"spiris-web: {exc}", file=sys.stderr)
        return 2
    metrics = WebMetrics()
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.host, registry=metrics.registry)
    uvicorn.run(
        create_app(settings, metrics=metrics),
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
