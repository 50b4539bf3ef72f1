"""`spiris-api`: serve the read API and the auditor's viewer with uvicorn.

Configuration comes from the environment (`spiris_read.settings`); `--host`/`--port` override
`SPIRIS_API_HOST`/`SPIRIS_API_PORT`. uvicorn's access log is off: viewer URLs carry their signed link in
the path, and a log line is no place for a credential.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

import uvicorn

from spiris_read.settings import ApiSettings
from spiris_read.wiring import build_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spiris-api", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("SPIRIS_API_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("SPIRIS_API_PORT", "8090")))
    parser.add_argument("--log-level", default=os.environ.get("SPIRIS_LOG_LEVEL", "INFO"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    try:
        settings = ApiSettings.from_env()
    except KeyError as exc:
        print(f"spiris-api: missing environment variable {exc.args[0]}", file=sys.stderr)
        return 2
    uvicorn.run(
        build_app(settings),
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
