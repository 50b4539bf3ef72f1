"""`spiris-web`: serve the consent pages and OAuth callback with uvicorn.

Configuration comes from the environment (docs/architecture.md); `--host`/`--port` override
`SPIRIS_WEB_HOST`/`SPIRIS_WEB_PORT`. uvicorn's access log is disabled because it would print callback query
strings (codes); the app writes its own redacted JSON access log instead. With a required setting missing it
serves in the not-configured mode (spiris_web.not_configured); a malformed one exits with code 2.
"""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn
from prometheus_client import start_http_server
from starlette.applications import Starlette

from spiris_web.app import create_app, create_not_configured_app
from spiris_web.logging_json import configure_logging
from spiris_web.metrics import WebMetrics
from spiris_web.not_configured import MissingSettings
from spiris_web.settings import (
    DEFAULT_IDENTITY_URL,
    DEFAULT_PRODUCT_NAME,
    SettingsError,
    WebSettings,
    missing_settings,
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spiris-web", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SPIRIS_WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SPIRIS_WEB_PORT", "8080")))
    # 0: /metrics only on the main port. In the chart it has a port of its own, so that a NetworkPolicy
    # narrowing the public port to the ingress controller does not hide it from Prometheus.
    parser.add_argument(
        "--metrics-port", type=int, default=int(os.environ.get("SPIRIS_WEB_METRICS_PORT") or "0")
    )
    parser.add_argument("--log-level", default=os.environ.get("SPIRIS_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    metrics = WebMetrics()
    try:
        app = _app(metrics)
    except SettingsError as exc:
        print(f"spiris-web: {exc}", file=sys.stderr)
        return 2
    if args.metrics_port:
        start_http_server(args.metrics_port, addr=args.host, registry=metrics.registry)
    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        access_log=False,
        log_config=None,
        proxy_headers=True,
        server_header=False,
    )
    return 0


def _app(metrics: WebMetrics) -> Starlette:
    """The configured app, or the not-configured one (logging its first report) while a value is missing."""
    missing = missing_settings()
    if not missing:
        return create_app(WebSettings.from_env(), metrics=metrics)
    report = MissingSettings(missing)
    report.log_if_due()
    return create_not_configured_app(
        report,
        public_url=os.environ.get("SPIRIS_WEB_PUBLIC_URL", ""),
        identity_url=os.environ.get("SPIRIS_IDENTITY_URL") or DEFAULT_IDENTITY_URL,
        product_name=os.environ.get("SPIRIS_WEB_PRODUCT_NAME") or DEFAULT_PRODUCT_NAME,
        metrics=metrics,
    )


if __name__ == "__main__":
    raise SystemExit(main())
