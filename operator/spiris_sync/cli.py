"""The ``spiris-sync`` console script: ``migrate`` and ``run`` (the Job's entrypoint).

Expected failures end with one human sentence on stderr and their exit code (see ``exit_codes``), never a
traceback; ``run`` always prints one JSON summary line on stdout at the end (counts, API calls,
reconciliation, outcome — never tokens). Logging goes to stderr; ``--verbose`` shows the pipeline's steps.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import uuid
import warnings
from collections.abc import Sequence
from typing import Any

from spiris_sync.exit_codes import SyncFailure
from spiris_sync.job_contract import ExitCode
from spiris_sync.progress import ProgressListener, ProgressReporter, TerminalProgress
from spiris_sync.settings import SyncSettings, load_store_settings, load_sync_settings

logger = logging.getLogger("spiris_sync")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="spiris-sync", description="Sync Spiris ledgers and documents.")
    parser.add_argument("--verbose", "-v", action="store_true", help="log the pipeline's steps to stderr")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="apply the database schema (idempotent)")
    migrate.add_argument("--database-url", help="Postgres URL (env DATABASE_URL)")

    run = commands.add_parser("run", help="sync one fiscal year of one company")
    run.add_argument(
        "--company-key", required=True, help="our stable key of the company (the connection's uid)"
    )
    run.add_argument(
        "--fiscal-year-id",
        type=_fiscal_year_id,
        help="the Spiris fiscal-year id to sync (what the operator passes; decides when given)",
    )
    run.add_argument(
        "--fiscal-year",
        type=int,
        help="calendar year the fiscal year starts in (by hand; with --fiscal-year-id only the run's label)",
    )
    run.add_argument("--mode", choices=("incremental", "full"), default="incremental")
    run.add_argument(
        "--progress", action="store_true", help="show progress bars even when stderr is no terminal"
    )
    run.add_argument(
        "--document-workers", type=int, default=4, help="parallel document downloads (default 4)"
    )
    run.add_argument(
        "--skip-documents",
        action="store_true",
        help="sync the ledger only; fetch no documents (FiscalYearSync spec.include.documents: false)",
    )
    for flag, variable in (
        ("--database-url", "DATABASE_URL"),
        ("--s3-endpoint", "S3_ENDPOINT"),
        ("--s3-access-key", "S3_ACCESS_KEY"),
        ("--s3-secret-key", "S3_SECRET_KEY"),
        ("--s3-bucket", "S3_BUCKET"),
        ("--s3-region", "S3_REGION"),
        ("--s3-secure", "S3_SECURE"),
        ("--api-url", "SPIRIS_API_URL"),
        ("--identity-url", "SPIRIS_IDENTITY_URL"),
        ("--token-file", "SPIRIS_TOKEN_FILE"),
        ("--client-id", "SPIRIS_CLIENT_ID"),
        ("--rate-limit-per-minute", "SPIRIS_RATE_LIMIT_PER_MINUTE"),
        ("--lookback-seconds", "SPIRIS_SYNC_LOOKBACK_SECONDS"),
        ("--full-pass-every-seconds", "SPIRIS_SYNC_FULL_PASS_EVERY_SECONDS"),
        ("--trigger", "SPIRIS_SYNC_TRIGGER"),
        ("--priority", "SPIRIS_SYNC_PRIORITY"),
        ("--time-slice-seconds", "SPIRIS_SYNC_TIME_SLICE_SECONDS"),
    ):
        run.add_argument(flag, help=f"(env {variable})")
    return parser


def _fiscal_year_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a Spiris fiscal-year id (a GUID): {value!r}") from None


def _fail(message: str, code: ExitCode) -> int:
    print(f"spiris-sync: {message}", file=sys.stderr)
    return int(code)


def _migrate(args: argparse.Namespace) -> int:
    from spiris_store import errors as store_errors
    from spiris_store.migrate import migrate

    settings = load_store_settings(vars(args), os.environ)
    try:
        revision = migrate(settings.database_url)
    except store_errors.StorageUnavailable as exc:
        return _fail(f"storage is unavailable: {exc}", ExitCode.STORAGE_UNAVAILABLE)
    print(json.dumps({"migrated": True, "revision": revision}))
    return int(ExitCode.OK)


def _listeners(args: argparse.Namespace, settings: SyncSettings) -> list[ProgressListener]:
    listeners: list[ProgressListener] = []
    if args.progress or sys.stderr.isatty():
        listeners.append(TerminalProgress())
    namespace, name = settings.fys_namespace, settings.fys_name
    if namespace and name:
        from spiris_sync.kube_progress import FiscalYearSyncStatusProgress, custom_objects_api

        kubeconfig = settings.kubeconfig
        listeners.append(
            FiscalYearSyncStatusProgress(
                namespace=namespace, name=name, api_factory=lambda: custom_objects_api(kubeconfig)
            )
        )
    return listeners


def _run(args: argparse.Namespace) -> int:
    # authlib announces its own internal deprecations at import (forcing them on with an "always" filter);
    # that notice is not for the person reading this process's stderr.
    with warnings.catch_warnings():
        from authlib.deprecate import AuthlibDeprecationWarning

        warnings.simplefilter("ignore", AuthlibDeprecationWarning)
        from spiris_sync.run import run_sync, translate

    settings = load_sync_settings(vars(args), os.environ)
    summary: dict[str, Any] = {
        "companyKey": args.company_key,
        "fiscalYear": args.fiscal_year,
        "fiscalYearId": str(args.fiscal_year_id) if args.fiscal_year_id else None,
        "mode": args.mode,
    }
    progress = ProgressReporter(_listeners(args, settings))
    try:
        result = run_sync(
            settings,
            company_key=args.company_key,
            fiscal_year=args.fiscal_year,
            fiscal_year_id=args.fiscal_year_id,
            mode=args.mode,
            progress=progress,
            document_workers=max(1, args.document_workers),
            include_documents=not args.skip_documents,
        )
    except Exception as exc:
        failure = translate(exc)
        progress.finish(outcome="failed")
        if failure is None:
            logger.error("unexpected failure", exc_info=args.verbose)
            failure = SyncFailure(f"unexpected error: {type(exc).__name__}: {exc}")
        summary.update(failure.context)
        summary.update({"outcome": "failed", "exitCode": int(failure.exit_code), "error": failure.message})
        print(json.dumps(summary, ensure_ascii=False))
        return _fail(failure.message, failure.exit_code)
    print(json.dumps(result.summary(), ensure_ascii=False, default=str))
    if result.exit_code == ExitCode.DEGRADED:
        print(f"spiris-sync: completed, but degraded: {result.error}", file=sys.stderr)
    elif result.exit_code == ExitCode.YIELDED:
        print(
            f"spiris-sync: the documents pass used its time slice of {settings.time_slice_seconds:g} s and "
            "stopped; the ledger is complete and the next run continues the documents",
            file=sys.stderr,
        )
    return int(result.exit_code)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Parallel document uploads outgrow urllib3's per-host pool now and then; that is not worth a warning.
    logging.getLogger("urllib3.connectionpool").setLevel(logging.ERROR)
    try:
        if args.command == "migrate":
            return _migrate(args)
        return _run(args)
    except SyncFailure as failure:
        return _fail(failure.message, failure.exit_code)
    except KeyboardInterrupt:
        return _fail("interrupted", ExitCode.UNEXPECTED)


if __name__ == "__main__":
    sys.exit(main())
