"""Listing a fiscal year's vouchers page by page into the ledger, resumable after a crash.

Incremental mode lists vouchers modified since the last good run's watermark minus a look-back window (the
next watermark is the first page's ``Meta.ServerTimeUtc``), falling back to a full re-list when Spiris
refuses the query; full mode re-lists the year and marks what Spiris no longer lists as vanished, only when
the listing is provably complete. Both orders end in ``Id`` so the pages partition the year. Each page is
upserted with its checkpoint in one transaction; the checkpoint's ``state`` keeps the pass's query, so a
rerun continues at the next page with the same query.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid
from typing import Any

import psycopg
from spiris_client.api import SpirisApi
from spiris_client.errors import BadRequest
from spiris_client.models import Page, Voucher
from spiris_store import ledger

from spiris_sync.fiscal_year_plan import Mode, listing_mode
from spiris_sync.ledger_records import voucher_record
from spiris_sync.progress import ProgressReporter

logger = logging.getLogger(__name__)

PHASE = "vouchers"
INCREMENTAL_ORDER = "ModifiedUtc,Id"
FULL_ORDER = "VoucherDate,Id"


@dataclasses.dataclass(frozen=True)
class VoucherListing:
    """What one voucher pass did (possibly across a resume)."""

    requested_mode: Mode
    mode_used: Mode
    fallback_reason: str | None
    filter_from: datetime.datetime | None
    next_watermark: datetime.datetime | None
    fetched: int
    inserted: int
    updated: int
    pages: int
    vanished: int
    vanish_check_skipped: str | None
    resumed: bool


def _iso(value: datetime.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _from_iso(value: Any) -> datetime.datetime | None:
    return datetime.datetime.fromisoformat(value) if isinstance(value, str) and value else None


def _utc_literal(value: datetime.datetime) -> str:
    # Spiris filters take unquoted ISO date-time literals; always send UTC with a Z, milliseconds included.
    utc = value.astimezone(datetime.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def modified_since_filter(since: datetime.datetime) -> str:
    """The ``$filter`` of an incremental pass."""
    return f"ModifiedUtc gt {_utc_literal(since)}"


class VoucherPass:
    """One voucher listing of one fiscal year; ``run()`` does it (or finishes an interrupted one)."""

    def __init__(
        self,
        *,
        api: SpirisApi,
        conn: psycopg.Connection[Any],
        company_key: str,
        fiscal_year_id: str,
        run_id: int,
        requested_mode: Mode,
        last_watermark: datetime.datetime | None,
        lookback: datetime.timedelta,
        progress: ProgressReporter,
    ) -> None:
        self._api = api
        self._conn = conn
        self._company_key = company_key
        self._fy_text = fiscal_year_id
        self._fy = uuid.UUID(fiscal_year_id)
        self._run_id = run_id
        self._requested = requested_mode
        self._last_watermark = last_watermark
        self._lookback = lookback
        self._progress = progress

    # -- the pass's memory in the checkpoint --------------------------------------------------------------

    def _load_resumable(self) -> dict[str, Any] | None:
        checkpoint = ledger.get_checkpoint(
            self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
        )
        if checkpoint is None:
            return None
        state = dict(checkpoint.state)
        state["page"] = checkpoint.page
        state["started_at"] = checkpoint.started_at
        state["run_id"] = checkpoint.run_id
        # A full run must not finish an interrupted incremental pass (it would miss vanished vouchers); the
        # other way round is fine: an interrupted full pass is at least as thorough.
        if self._requested == "full" and state.get("mode") != "full":
            logger.info("discarding an interrupted incremental voucher pass: this run is a full one")
            ledger.clear_checkpoints(
                self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
            )
            return None
        return state

    def _listing(self, state: dict[str, Any], *, resumed: bool) -> VoucherListing:
        return VoucherListing(
            requested_mode=self._requested,
            mode_used=state["mode"],
            fallback_reason=state.get("fallback_reason"),
            filter_from=_from_iso(state.get("filter_from")),
            next_watermark=_from_iso(state.get("next_watermark")),
            fetched=int(state.get("fetched", 0)),
            inserted=int(state.get("inserted", 0)),
            updated=int(state.get("updated", 0)),
            pages=int(state.get("page", 0)),
            vanished=int(state.get("vanished", 0)),
            vanish_check_skipped=state.get("vanish_check_skipped"),
            resumed=resumed,
        )

    # -- the pass -----------------------------------------------------------------------------------------

    def run(self) -> VoucherListing:
        state = self._load_resumable()
        resumed = state is not None
        if state is not None and state.get("done"):
            if state.get("run_id") == self._run_id:
                self._progress.set(
                    vouchers_done=int(state.get("fetched", 0)), vouchers_total=int(state.get("total", 0))
                )
                return self._listing(state, resumed=True)
            # An earlier run listed everything and then failed (documents pass, reconciliation): vouchers
            # booked since would never be fetched by this run, so list again, incrementally from that
            # pass's watermark.
            watermark = _from_iso(state.get("next_watermark"))
            logger.info(
                "an earlier run's voucher pass completed; catching up from its watermark %s", watermark
            )
            ledger.clear_checkpoints(
                self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
            )
            if watermark is not None:
                self._last_watermark = watermark
                if self._requested == "full" and state.get("mode") == "full":
                    self._requested = "incremental"
            state = None
        if state is None:
            mode = listing_mode(self._requested, watermark=self._last_watermark)
            filter_from = (
                self._last_watermark - self._lookback
                if mode == "incremental" and self._last_watermark is not None
                else None
            )
            state = {"mode": mode, "filter_from": _iso(filter_from), "page": 0, "fetched": 0, "total": 0}
        else:
            logger.info("resuming the voucher pass after page %s", state["page"])
        self._progress.set(
            vouchers_done=int(state.get("fetched", 0)), vouchers_total=int(state.get("total", 0))
        )

        pages = self._pages(state)
        for page in pages:
            self._commit_page(page, state)
        self._finish(state)
        return self._listing(state, resumed=resumed)

    def _query(self, state: dict[str, Any]) -> tuple[str | None, str]:
        if state["mode"] == "incremental":
            since = _from_iso(state.get("filter_from"))
            assert since is not None
            return modified_since_filter(since), INCREMENTAL_ORDER
        return None, FULL_ORDER

    def _pages(self, state: dict[str, Any]) -> Any:
        start_page = int(state["page"]) + 1
        filter_, order = self._query(state)
        iterator = self._api.vouchers(self._fy_text, filter=filter_, orderby=order, start_page=start_page)
        try:
            first = next(iterator, None)
        except BadRequest as exc:
            if state["mode"] != "incremental" or not exc.is_query_error or start_page != 1:
                raise
            reason = (
                f"Spiris rejected the ModifiedUtc filter (ErrorCode {exc.error_code}); "
                "fell back to a full re-list"
            )
            logger.warning("%s", reason)
            state.update({"mode": "full", "filter_from": None, "fallback_reason": reason})
            filter_, order = self._query(state)
            iterator = self._api.vouchers(self._fy_text, filter=filter_, orderby=order, start_page=1)
            first = next(iterator, None)
        if first is None:
            return
        yield first
        yield from iterator

    def _commit_page(self, page: Page[Voucher], state: dict[str, Any]) -> None:
        number = page.meta.current_page or int(state["page"]) + 1
        if number == 1 or not state.get("next_watermark"):
            state["next_watermark"] = _iso(page.meta.server_time_utc)
            state.setdefault("first_total", page.meta.total_results)
        state["total"] = max(page.meta.total_results, int(state.get("fetched", 0)) + len(page.items))
        records = [voucher_record(v, fiscal_year_id=self._fy) for v in page.items]
        with self._conn.transaction():
            result = ledger.upsert_vouchers(
                self._conn, company_key=self._company_key, vouchers=records, run_id=self._run_id
            )
            state["fetched"] = int(state.get("fetched", 0)) + len(records)
            state["inserted"] = int(state.get("inserted", 0)) + result.inserted
            state["updated"] = int(state.get("updated", 0)) + result.updated
            state["last_total"] = page.meta.total_results
            state["page"] = number
            self._save(state, page=number)
        self._progress.set(vouchers_done=state["fetched"], vouchers_total=state["total"])

    def _save(self, state: dict[str, Any], *, page: int) -> None:
        persisted = {k: v for k, v in state.items() if k not in ("page", "started_at", "run_id")}
        ledger.set_checkpoint(
            self._conn,
            company_key=self._company_key,
            fiscal_year_id=self._fy,
            phase=PHASE,
            page=page,
            run_id=self._run_id,
            watermark=_from_iso(state.get("next_watermark")),
            state=persisted,
        )

    def _finish(self, state: dict[str, Any]) -> None:
        with self._conn.transaction():
            seen_since, complete = self._listing_complete(state)
            if state["mode"] == "full":
                state["vanished"], state["vanish_check_skipped"] = self._mark_vanished(
                    seen_since=seen_since, complete=complete
                )
            elif complete is not None and self._last_watermark is not None:
                # Paging by page number while Spiris' data moves can let a voucher slip between two pages
                # unseen; then the watermark stays where it was, so the next run lists that window again.
                logger.warning("%s; the watermark is not advanced", complete)
                state["next_watermark"] = _iso(self._last_watermark)
                state["watermark_held"] = complete
            state["done"] = True
            self._save(state, page=int(state["page"]))

    def _listing_complete(self, state: dict[str, Any]) -> tuple[datetime.datetime, str | None]:
        """When this pass began, and None if every voucher Spiris counted was seen (else why not)."""
        checkpoint = ledger.get_checkpoint(
            self._conn, company_key=self._company_key, fiscal_year_id=self._fy, phase=PHASE
        )
        seen_since = ledger.database_now(self._conn) if checkpoint is None else checkpoint.started_at
        seen = ledger.vouchers_synced_since(
            self._conn, company_key=self._company_key, fiscal_year_id=self._fy, since=seen_since
        )
        first_total = int(state.get("first_total", 0))
        last_total = int(state.get("last_total", first_total))
        if seen == first_total == last_total:
            return seen_since, None
        return seen_since, (
            f"listing not provably complete (Spiris reported {first_total} then {last_total} vouchers, "
            f"{seen} distinct seen)"
        )

    def _mark_vanished(
        self, *, seen_since: datetime.datetime, complete: str | None
    ) -> tuple[int, str | None]:
        if complete is not None:
            reason = f"{complete}; vanished vouchers are detected by the next full run"
            logger.warning("%s", reason)
            return 0, reason
        vanished = ledger.mark_vanished(
            self._conn, company_key=self._company_key, fiscal_year_id=self._fy, seen_since=seen_since
        )
        if vanished:
            logger.info("%d vouchers no longer listed by Spiris were marked vanished", vanished)
        return vanished, None
