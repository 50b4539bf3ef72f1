"""One sync run of one fiscal year, from token file to run record: the pipeline the Job executes.

company settings → fiscal years (resolve the year) → accounts → voucher pages → reconciliation → documents →
run record. The ledger and its checks come first, at the run's priority in the shared budget; a first sync's
documents pass then drops to BACKFILL, so every new company's ledger is granted before anyone's document
backfill. A SCHEDULED or BACKFILL documents pass with a time slice may yield (exit 8) with its checkpoint
kept. Each step's failure is translated into the worker's small set of expected failures (exit codes),
recorded on the ``sync_runs`` row when the database still answers, and never leaks a token into a message.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

import httpx
import psycopg
from spiris_client import errors as client_errors
from spiris_client.api import SpirisApi
from spiris_client.download_policy import DownloadPolicy
from spiris_client.downloads import Downloader
from spiris_client.oauth import TokenSet
from spiris_client.tokens import FileTokenProvider
from spiris_store import errors as store_errors
from spiris_store import ledger, run_lock
from spiris_store.budget import BudgetWait
from spiris_store.budget_priority import Priority
from spiris_store.connection import connect
from spiris_store.documents import DocumentStore
from spiris_store.records import RunCounts, RunOutcome

from spiris_sync import reconciliation, sie_comparison
from spiris_sync.document_fetcher import DocumentFetcher
from spiris_sync.document_pass import DocumentPass, DocumentsSummary, concurrent_uploads
from spiris_sync.exit_codes import (
    ConfigurationError,
    ConsentRequiredFailure,
    RunInProgress,
    SpirisUnavailableFailure,
    StorageUnavailableFailure,
    SyncFailure,
)
from spiris_sync.fiscal_year_plan import FiscalYearPlan, Mode, listing_mode, resolve_fiscal_year
from spiris_sync.job_contract import ExitCode
from spiris_sync.ledger_records import account_record, company_record, fiscal_year_record
from spiris_sync.progress import BudgetStatus, ProgressReporter
from spiris_sync.rate_budget import PerThreadRateBudget
from spiris_sync.settings import SyncSettings
from spiris_sync.voucher_pages import PHASE as VOUCHER_PHASE
from spiris_sync.voucher_pages import VoucherListing, VoucherPass

logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class RunResult:
    """What the CLI reports: outcome, exit code, counts, API calls, reconciliation."""

    outcome: str
    exit_code: ExitCode
    company_key: str
    fiscal_year: int
    fiscal_year_id: str | None
    mode: str
    run_id: int | None
    counts: RunCounts
    api_calls: int
    api_calls_by_endpoint: dict[str, int]
    reconciliation: dict[str, Any] | None
    listing: dict[str, Any] | None
    error: str | None
    #: The run in the shared budget: priorities used and seconds waited (``_BudgetUse.as_json``).
    budget: dict[str, Any] | None = None

    def summary(self) -> dict[str, Any]:
        """The JSON summary line (no tokens, no URLs)."""
        return {
            "outcome": self.outcome,
            "exitCode": int(self.exit_code),
            "companyKey": self.company_key,
            "fiscalYear": self.fiscal_year,
            "fiscalYearId": self.fiscal_year_id,
            "mode": self.mode,
            "runId": self.run_id,
            "counts": dataclasses.asdict(self.counts),
            "apiCalls": {"total": self.api_calls, "byEndpoint": self.api_calls_by_endpoint},
            "reconciliation": self.reconciliation,
            "listing": self.listing,
            "budget": self.budget,
            "error": self.error,
        }


def read_token(path: str) -> TokenSet:
    """The mounted ``token.json``; a missing or unreadable file is a configuration error."""
    try:
        with open(path, "rb") as handle:
            return TokenSet.from_json(handle.read())
    except FileNotFoundError:
        raise ConfigurationError(
            f"token file not found: {path} (check SPIRIS_TOKEN_FILE and the token Secret)"
        ) from None
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"token file {path} is unreadable: {type(exc).__name__}") from None


def translate(exc: BaseException) -> SyncFailure | None:
    """The expected failure an exception stands for, or None when it is unexpected."""
    if isinstance(exc, SyncFailure):
        return exc
    if isinstance(exc, client_errors.ConsentRequired | client_errors.Unauthorized):
        return ConsentRequiredFailure(
            "Spiris no longer accepts this connection's authorization: the client company must consent again "
            f"({exc})"
        )
    if isinstance(exc, client_errors.Forbidden):
        if exc.is_scope or exc.is_permission or exc.is_module:
            # Only a new consent (other scopes, another user, the right company) fixes these.
            return ConsentRequiredFailure(f"Spiris refused access ({exc}). {exc.guidance}")
        # The company's state (startup guide, licence, inactive) is fixed in Spiris, not by consenting again.
        return SpirisUnavailableFailure(f"Spiris refused access ({exc}). {exc.guidance}")
    if isinstance(
        exc, client_errors.SpirisUnavailable | client_errors.RateLimited | client_errors.ServerError
    ):
        return SpirisUnavailableFailure(f"Spiris is unavailable: {exc}")
    if isinstance(exc, httpx.TransportError):
        return SpirisUnavailableFailure(f"Spiris is unreachable: {type(exc).__name__}")
    if isinstance(exc, store_errors.StorageUnavailable):
        return StorageUnavailableFailure(f"storage is unavailable: {exc}")
    if isinstance(exc, psycopg.OperationalError):
        return StorageUnavailableFailure(
            "Postgres connection failed: "
            + (str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__)
        )
    return None


#: Only background work gives way at a time slice; a person's "sync now" and a first ledger never yield.
_SLICED_PRIORITIES = frozenset({Priority.SCHEDULED, Priority.BACKFILL})
#: How old the stored company details (name, organisation number …) may be before a run reads them again.
COMPANY_DETAILS_MAX_AGE_SECONDS = 24 * 3600.0


def documents_priority(priority: Priority) -> Priority:
    """The class of a run's documents pass: a first sync's documents are backfill, the rest keep theirs."""
    return Priority.BACKFILL if priority == Priority.FIRST_SYNC else priority


class _BudgetUse:
    """The run's place in the shared budget, published as ``status.budget`` and kept for the run record."""

    def __init__(self, budget: PerThreadRateBudget, progress: ProgressReporter) -> None:
        self._budget = budget
        self._progress = progress
        self._priorities = [budget.priority]
        self._queue_position: int | None = None
        progress.set_budget(BudgetStatus(priority=budget.priority.env_value))

    def switch(self, priority: Priority) -> None:
        if priority == self._budget.priority:
            return
        self._budget.priority = priority
        self._priorities.append(priority)
        self._queue_position = None  # a place in another class's queue
        self._publish()

    def waited(self, wait: BudgetWait) -> None:
        """``on_wait`` of the budget, called in whichever thread waited."""
        self._queue_position = wait.queue_position
        self._publish()

    def _publish(self) -> None:
        self._progress.set_budget(
            BudgetStatus(
                priority=self._budget.priority.env_value,
                queue_position=self._queue_position,
                wait_seconds=self._budget.waited_seconds_total,
            )
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "priority": self._priorities[0].env_value,
            "documentsPriority": self._priorities[-1].env_value,
            "waitSeconds": round(self._budget.waited_seconds_total, 3),
            "lastQueuePosition": self._queue_position,
        }


class _Counted:
    """The API calls made so far, from the client's own counter (every request Spiris' quota sees)."""

    def __init__(self, api: SpirisApi) -> None:
        self._api = api

    def total(self) -> int:
        return self._api.calls.total.requests

    def by_endpoint(self) -> dict[str, int]:
        return {k: v.requests for k, v in sorted(self._api.calls.per_endpoint().items())}


@contextmanager
def _connection(dsn: str) -> Iterator[psycopg.Connection[Any]]:
    try:
        conn = connect(dsn, autocommit=True)
    except store_errors.StorageUnavailable as exc:
        raise StorageUnavailableFailure(f"Postgres is unavailable: {exc}") from None
    try:
        yield conn
    finally:
        conn.close()


class SyncRun:
    """Runs one fiscal year's sync with everything wired from :class:`SyncSettings`."""

    def __init__(
        self,
        settings: SyncSettings,
        *,
        company_key: str,
        fiscal_year: int | None,
        mode: Mode,
        progress: ProgressReporter,
        document_workers: int = 4,
        include_documents: bool = True,
        fiscal_year_id: uuid.UUID | None = None,
    ) -> None:
        if fiscal_year is None and fiscal_year_id is None:
            raise ConfigurationError("name the fiscal year: --fiscal-year-id or --fiscal-year is required")
        self.settings = settings
        self.company_key = company_key
        # The calendar year is the run's label; with an id given it is corrected from Spiris' answer (0
        # until then when a person gave the id alone).
        self.fiscal_year = fiscal_year or 0
        self.fiscal_year_id = fiscal_year_id
        self.mode = mode
        self.progress = progress
        self.document_workers = document_workers
        self.include_documents = include_documents
        self.periodic_full = False

    def execute(self) -> RunResult:
        token = read_token(self.settings.token_file)
        scopes = tuple((token.scope or "").split())
        with ExitStack() as stack:
            conn = stack.enter_context(_connection(self.settings.database_url))
            self._hold_run_lock(stack)
            budget = PerThreadRateBudget(
                self.settings.database_url,
                client_id=self.settings.client_id,
                per_minute=self.settings.rate_limit_per_minute,
                # The connection's uid: the budget is fair between client companies, not between Jobs.
                company=self.company_key,
                priority=self.settings.priority,
                on_wait=lambda wait: budget_use.waited(wait),
            )
            stack.callback(budget.close)
            budget_use = _BudgetUse(budget, self.progress)
            api = SpirisApi(
                self.settings.api_url,
                # After a 401, wait briefly for the operator's refreshed token to appear in the mounted file.
                token_provider=FileTokenProvider(
                    self.settings.token_file, wait_for_change=2.0, poll_interval=0.5
                ),
                rate_limiter=budget,
            )
            stack.callback(api.close)
            downloader = Downloader(
                policy=DownloadPolicy.from_settings(
                    allowed_hosts=self.settings.download_allowed_hosts,
                    trusted_origin=self.settings.api_url,
                    allow_insecure=self.settings.download_allow_insecure,
                ),
                max_bytes=self.settings.download_max_bytes,
            )
            stack.callback(downloader.close)
            store = DocumentStore(
                self.settings.object_store, connections=concurrent_uploads(self.document_workers)
            )
            try:
                store.ensure_bucket()
            except store_errors.StorageUnavailable as exc:
                raise StorageUnavailableFailure(f"the object store is unavailable: {exc}") from None
            last_watermark = ledger.last_watermark(
                conn,
                company_key=self.company_key,
                fiscal_year=self.fiscal_year,
                fiscal_year_id=self.fiscal_year_id,
            )
            self.periodic_full = self._full_pass_due(conn, last_watermark)
            planned_mode = listing_mode("full" if self.periodic_full else self.mode, watermark=last_watermark)
            run = ledger.start_run(
                conn,
                company_key=self.company_key,
                fiscal_year=self.fiscal_year,
                fiscal_year_id=self.fiscal_year_id,
                mode=planned_mode,
                trigger=self._trigger(),
                scopes=scopes,
                host=self.settings.host,
                job_name=self.settings.job_name,
                watermark_used=last_watermark if planned_mode == "incremental" else None,
            )
            counted = _Counted(api)
            fetcher = DocumentFetcher(
                api=api, downloader=downloader, store=store, company_key=self.company_key
            )
            try:
                return self._sync(
                    conn=conn,
                    api=api,
                    downloader=downloader,
                    fetcher=fetcher,
                    run_id=run.id,
                    last_watermark=last_watermark,
                    planned_mode=planned_mode,
                    counted=counted,
                    budget_use=budget_use,
                )
            except BaseException as exc:
                failure = translate(exc)
                message = (
                    failure.message
                    if failure is not None
                    else f"unexpected error: {type(exc).__name__}: {exc}"
                )
                self._record_failure(run_id=run.id, message=message, counted=counted)
                if failure is None:
                    raise
                failure.context.update(
                    {
                        "runId": run.id,
                        "apiCalls": {"total": counted.total(), "byEndpoint": counted.by_endpoint()},
                        "budget": budget_use.as_json(),
                    }
                )
                if failure is not exc:
                    raise failure from exc
                raise

    def _full_pass_due(self, conn: psycopg.Connection[Any], last_watermark: datetime.datetime | None) -> bool:
        """An incremental run becomes a full one when the last full pass is older than `full_pass_every`: the
        only way to notice what `ModifiedUtc` filtering cannot (deletions, changes that do not bump it)."""
        every = self.settings.full_pass_every
        if self.mode != "incremental" or every is None or last_watermark is None:
            return False
        last_full = ledger.last_full_pass(
            conn,
            company_key=self.company_key,
            fiscal_year=self.fiscal_year,
            fiscal_year_id=self.fiscal_year_id,
        )
        now = datetime.datetime.now(datetime.UTC)
        return last_full is None or now - last_full >= every

    def _hold_run_lock(self, stack: ExitStack) -> None:
        """One run per company and fiscal year: wait for a live one, else exit 7 without touching its run."""
        try:
            stack.enter_context(
                run_lock.run_lock(
                    self.settings.database_url,
                    company_key=self.company_key,
                    fiscal_year=self.fiscal_year,
                    fiscal_year_id=self.fiscal_year_id,
                    wait_seconds=self.settings.lock_wait_seconds,
                )
            )
        except run_lock.RunLockHeld as exc:
            raise RunInProgress(
                f"{exc}; this run did nothing (waited {self.settings.lock_wait_seconds} s)"
            ) from None
        except store_errors.StorageUnavailable as exc:
            raise StorageUnavailableFailure(f"Postgres is unavailable: {exc}") from None

    def _trigger(self) -> str:
        if self.settings.job_name:
            return f"{self.settings.trigger} (job {self.settings.job_name})"
        return self.settings.trigger

    def _record_failure(self, *, run_id: int, message: str, counted: _Counted) -> None:
        """Best effort: the database may be the very thing that failed."""
        try:
            with _connection(self.settings.database_url) as conn:
                ledger.finish_run(
                    conn,
                    run_id=run_id,
                    outcome="failed",
                    counts=RunCounts(),
                    api_calls=counted.total(),
                    api_calls_by_endpoint=counted.by_endpoint(),
                    error=message[:2000],
                )
        except Exception as exc:
            logger.warning("could not record the failed run %s: %s", run_id, type(exc).__name__)

    def _sync(
        self,
        *,
        conn: psycopg.Connection[Any],
        api: SpirisApi,
        downloader: Downloader,
        fetcher: DocumentFetcher,
        run_id: int,
        last_watermark: datetime.datetime | None,
        planned_mode: Mode,
        counted: _Counted,
        budget_use: _BudgetUse,
    ) -> RunResult:
        key = self.company_key
        # /companysettings is one call per run on an endpoint every company's runs share, for details that
        # rarely change: read them when they are older than a day (the same company's other years, and every
        # incremental run in between, reuse them).
        if not ledger.company_details_fresh(conn, key, max_age_seconds=COMPANY_DETAILS_MAX_AGE_SECONDS):
            try:
                settings = api.company_settings()
            except client_errors.Forbidden as exc:
                # Company settings need a sales scope; the ledger does not.
                logger.info("company settings not readable (%s); continuing without them", exc.reason)
                settings = None
            with conn.transaction():
                ledger.upsert_company(conn, company_record(key, settings))
        years = api.fiscal_years()
        plan = resolve_fiscal_year(
            years,
            fiscal_year=self.fiscal_year or None,
            fiscal_year_id=str(self.fiscal_year_id) if self.fiscal_year_id is not None else None,
        )
        fy_uuid = uuid.UUID(plan.fiscal_year_id)
        self.fiscal_year = plan.fiscal_year
        with conn.transaction():
            ledger.upsert_fiscal_years(
                conn,
                company_key=key,
                fiscal_years=[fiscal_year_record(y) for y in years if y.start_date and y.end_date],
            )
        ledger.update_run(conn, run_id=run_id, fiscal_year_id=fy_uuid, fiscal_year=plan.fiscal_year)

        accounts = [
            account_record(a, fiscal_year_id=fy_uuid)
            for page in api.accounts(plan.fiscal_year_id)
            for a in page.items
        ]
        with conn.transaction():
            ledger.upsert_accounts(conn, company_key=key, accounts=accounts)

        listing = VoucherPass(
            api=api,
            conn=conn,
            company_key=key,
            fiscal_year_id=plan.fiscal_year_id,
            run_id=run_id,
            requested_mode=planned_mode if self.periodic_full else self.mode,
            last_watermark=last_watermark,
            lookback=self.settings.lookback,
            progress=self.progress,
        ).run()
        report = self._reconcile(conn=conn, api=api, plan=plan)
        sie4 = None
        if listing.mode_used == "full":
            # Spiris' own SIE 4 export of the year, voucher by voucher and row by row: the proof that the copy
            # is complete (one export call and one download per full run).
            sie4 = sie_comparison.compare_with_export(
                api=api,
                downloader=downloader,
                copy=ledger.vouchers_with_rows(conn, company_key=key, fiscal_year_id=fy_uuid),
                start=plan.start_date,
                end=plan.end_date,
            )
        reconciliation_json = report.as_json()
        if sie4 is not None:
            reconciliation_json["sie4"] = sie4.as_json()
        sie4_differs = sie4 is not None and sie4.error is None and not sie4.equal
        if sie4_differs:
            reconciliation_json["balanced"] = False
        if self.include_documents:
            priority = documents_priority(self.settings.priority)
            budget_use.switch(priority)
            documents = DocumentPass(
                conn=conn,
                fetcher=fetcher,
                company_key=key,
                fiscal_year_id=plan.fiscal_year_id,
                run_id=run_id,
                progress=self.progress,
                workers=self.document_workers,
                time_slice=self.settings.time_slice_seconds if priority in _SLICED_PRIORITIES else None,
            ).run()
        else:
            # FiscalYearSync spec.include.documents: false — the ledger only; nothing is fetched or missed.
            documents = DocumentsSummary(
                vouchers_processed=0, documents_fetched=0, documents_linked=0, missing=0, resumed=False
            )
        counts = ledger.ledger_counts(conn, company_key=key, fiscal_year_id=fy_uuid)
        run_counts = RunCounts(
            accounts=counts.accounts,
            vouchers=counts.vouchers,
            rows=counts.rows,
            documents=counts.documents,
            missing_documents=counts.missing_documents,
            vanished=counts.vanished,
            vouchers_fetched=listing.fetched,
            documents_fetched=documents.documents_fetched,
        )
        degraded = (
            (self.include_documents and counts.missing_documents > 0) or not report.balanced or sie4_differs
        )
        outcome: RunOutcome = "yielded" if documents.yielded else "degraded" if degraded else "succeeded"
        error = None
        if degraded:
            reasons = []
            if self.include_documents and counts.missing_documents:
                reasons.append(
                    f"{counts.missing_documents} documents could not be fetched (retried next run)"
                )
            if report.error is not None:
                reasons.append(f"reconciliation was not possible: {report.error}")
            elif not report.balanced:
                reasons.append(
                    f"reconciliation found {len(report.differences)} account differences and "
                    f"{len(report.unbalanced_vouchers)} unbalanced vouchers"
                )
            if sie4 is not None and sie4_differs:
                reasons.append(
                    f"Spiris' SIE 4 export differs from the copy: {sie4.missing_in_copy_count} missing, "
                    f"{sie4.extra_in_copy_count} extra, {sie4.differing_count} differing"
                )
            error = "; ".join(reasons)
        listing_info = self._listing_info(listing, documents, planned_mode)
        if self.periodic_full:
            # Everything this full pass had to insert, change or mark vanished, the incremental passes since
            # the last full one missed (INFERRED causes: ModifiedUtc not bumped, clock skew beyond the
            # look-back, deletions).
            listing_info["periodicFullPass"] = True
            listing_info["missedByIncremental"] = {
                "inserted": listing.inserted,
                "updated": listing.updated,
                "vanished": listing.vanished,
            }
        with conn.transaction():
            ledger.finish_run(
                conn,
                run_id=run_id,
                outcome=outcome,
                counts=run_counts,
                api_calls=counted.total(),
                api_calls_by_endpoint=counted.by_endpoint(),
                error=error,
                next_watermark=listing.next_watermark,
                reconciliation=reconciliation_json,
                checksums={
                    "listing": listing_info,
                    "vouchers_content_sha256": ledger.vouchers_checksum(
                        conn, company_key=key, fiscal_year_id=fy_uuid
                    ),
                    # Strings from Spiris with NUL or lone surrogates, stored with U+FFFD instead.
                    "textCleaned": api.calls.cleaned_texts,
                    "budget": budget_use.as_json(),
                },
                fiscal_year_id=fy_uuid,
            )
            ledger.clear_checkpoints(conn, company_key=key, fiscal_year_id=fy_uuid, phase=VOUCHER_PHASE)
        self.progress.finish(outcome=outcome)
        exit_code = ExitCode.DEGRADED if degraded else ExitCode.OK
        if documents.yielded:
            exit_code = ExitCode.YIELDED
        return RunResult(
            outcome=outcome,
            exit_code=exit_code,
            company_key=key,
            fiscal_year=self.fiscal_year,
            fiscal_year_id=plan.fiscal_year_id,
            mode=listing.mode_used,
            run_id=run_id,
            counts=run_counts,
            api_calls=counted.total(),
            api_calls_by_endpoint=counted.by_endpoint(),
            reconciliation=reconciliation_json,
            listing=listing_info,
            error=error,
            budget=budget_use.as_json(),
        )

    @staticmethod
    def _listing_info(listing: VoucherListing, documents: DocumentsSummary, planned: Mode) -> dict[str, Any]:
        return {
            "requestedMode": listing.requested_mode,
            "plannedMode": planned,
            "modeUsed": listing.mode_used,
            "fallbackReason": listing.fallback_reason,
            "filterFrom": listing.filter_from.isoformat() if listing.filter_from else None,
            "vouchersFetched": listing.fetched,
            "vouchersInserted": listing.inserted,
            "vouchersUpdated": listing.updated,
            "pages": listing.pages,
            "vanished": listing.vanished,
            "vanishCheckSkipped": listing.vanish_check_skipped,
            "resumed": listing.resumed or documents.resumed,
            "documentsFetched": documents.documents_fetched,
            "documentsLinked": documents.documents_linked,
            "documentsMissingThisRun": documents.missing,
            "documentsYielded": documents.yielded,
        }

    def _reconcile(
        self, *, conn: psycopg.Connection[Any], api: SpirisApi, plan: FiscalYearPlan
    ) -> reconciliation.ReconciliationReport:
        fy = uuid.UUID(plan.fiscal_year_id)
        compare_on = min(plan.end_date, datetime.date.today())
        synced = ledger.account_sums(conn, company_key=self.company_key, fiscal_year_id=fy, up_to=compare_on)
        unbalanced = ledger.unbalanced_vouchers(conn, company_key=self.company_key, fiscal_year_id=fy)
        previous_end = plan.previous.end_date if plan.previous is not None else None
        try:
            return reconciliation.reconcile(
                api=api,
                synced=synced,
                voucher_sums=[(str(u.id), u.number, u.debit_total, u.credit_total) for u in unbalanced],
                vouchers_checked=ledger.live_voucher_count(
                    conn, company_key=self.company_key, fiscal_year_id=fy
                ),
                end_date=compare_on,
                previous_end=previous_end,
            )
        except (client_errors.Forbidden, client_errors.BadRequest, client_errors.NotFound) as exc:
            # The ledger is synced; only the cross-check is impossible. The run says so (degraded).
            reason = exc.guidance if isinstance(exc, client_errors.Forbidden) else str(exc)
            return reconciliation.ReconciliationReport(
                rule=reconciliation.RULE,
                accounts_compared=0,
                differences=(),
                unbalanced_vouchers=(),
                vouchers_checked=0,
                error=f"account balances not readable: {reason}",
            )


def run_sync(
    settings: SyncSettings,
    *,
    company_key: str,
    fiscal_year: int | None,
    mode: Mode,
    progress: ProgressReporter | None = None,
    document_workers: int = 4,
    include_documents: bool = True,
    fiscal_year_id: uuid.UUID | None = None,
) -> RunResult:
    """Run one sync in-process: of the fiscal year with id ``fiscal_year_id`` when given, else of the one
    starting in calendar year ``fiscal_year``; raises :class:`SyncFailure` (or anything unexpected)."""
    return SyncRun(
        settings,
        company_key=company_key,
        fiscal_year=fiscal_year,
        fiscal_year_id=fiscal_year_id,
        mode=mode,
        progress=progress or ProgressReporter(),
        document_workers=document_workers,
        include_documents=include_documents,
    ).execute()
