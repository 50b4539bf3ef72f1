"""A copy proven complete by Spiris itself: our ledger compared voucher by voucher, row by row, with Spiris'
own SIE 4 export of the fiscal year.

`GET /sie4export/{from}/{to}` answers a document with a temporary URL (one call, plus the download); the file
is read with `spiris_store.sie4`. A voucher is keyed by (series, number): SIE writes `#VER "A" "12"`, the API
`NumberSeries: "A"`, `NumberAndNumberSeries: "A12"` (that the number is the series-stripped
`NumberAndNumberSeries` is INFERRED; a copy voucher whose number does not start with its series is compared
by its whole number). Per voucher the date and the rows are compared: rows as (account, debit - credit) in
file order, and when only the order differs the voucher still matches (counted apart). The result — counts,
the first differences of each kind, `equal` — is stored under `sie4` in `sync_runs.reconciliation`.
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import uuid
from collections import Counter
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from spiris_client.api import SpirisApi
from spiris_client.downloads import Downloader
from spiris_client.errors import DownloadError, SpirisApiError
from spiris_store.sie4 import Sie4Error, Sie4File, read_sie4

logger = logging.getLogger(__name__)

MAX_EXPORT_BYTES = 512 * 1024 * 1024
LISTED = 25
"""How many differences of each kind the report lists (the counts are always complete)."""

Row = tuple[int, Decimal]
CopyVoucher = tuple[uuid.UUID, str | None, str | None, datetime.date, list[tuple[int, Decimal, Decimal]]]


@dataclasses.dataclass
class Sie4Comparison:
    """The outcome of one comparison; `equal` only when nothing differs and nothing went wrong."""

    period: str
    vouchers_in_export: int = 0
    vouchers_in_copy: int = 0
    matched: int = 0
    matched_in_other_row_order: int = 0
    rows_in_export: int = 0
    rows_in_copy: int = 0
    missing_in_copy: list[str] = dataclasses.field(default_factory=list)
    missing_in_copy_count: int = 0
    extra_in_copy: list[str] = dataclasses.field(default_factory=list)
    extra_in_copy_count: int = 0
    differing: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    differing_count: int = 0
    duplicate_keys: list[str] = dataclasses.field(default_factory=list)
    error: str | None = None

    @property
    def equal(self) -> bool:
        return (
            self.error is None
            and not self.missing_in_copy_count
            and not self.extra_in_copy_count
            and not self.differing_count
            and not self.duplicate_keys
        )

    @property
    def differences(self) -> int:
        return self.missing_in_copy_count + self.extra_in_copy_count + self.differing_count

    def as_json(self) -> dict[str, Any]:
        return {
            "source": "GET /sie4export/{fromDate}/{toDate}",
            "period": self.period,
            "equal": self.equal,
            "vouchersInExport": self.vouchers_in_export,
            "vouchersInCopy": self.vouchers_in_copy,
            "matched": self.matched,
            "matchedInOtherRowOrder": self.matched_in_other_row_order,
            "rowsInExport": self.rows_in_export,
            "rowsInCopy": self.rows_in_copy,
            "missingInCopy": self.missing_in_copy_count,
            "missingInCopyFirst": self.missing_in_copy,
            "extraInCopy": self.extra_in_copy_count,
            "extraInCopyFirst": self.extra_in_copy,
            "differing": self.differing_count,
            "differingFirst": self.differing,
            "duplicateKeys": self.duplicate_keys,
            "error": self.error,
        }


def copy_key(number: str | None, series: str | None) -> tuple[str, str]:
    """(series, number) of one of our vouchers, as SIE 4 would name it."""
    series = series or ""
    number = number or ""
    if series and number.startswith(series) and len(number) > len(series):
        return (series, number[len(series) :])
    return (series, number)


def _label(key: tuple[str, str]) -> str:
    return f"{key[0]}{key[1]}" if key[0] else key[1]


def _copy_rows(rows: Iterable[tuple[int, Decimal, Decimal]]) -> list[Row]:
    return [(account, debit - credit) for account, debit, credit in rows]


def compare(export: Sie4File, copy: Sequence[CopyVoucher], *, period: str) -> Sie4Comparison:
    """Compare an export's verifications with our vouchers (plain function: no I/O)."""
    report = Sie4Comparison(period=period)
    report.vouchers_in_export = len(export.vouchers)
    report.vouchers_in_copy = len(copy)
    exported: dict[tuple[str, str], tuple[datetime.date, list[Row]]] = {}
    for voucher in export.vouchers:
        if voucher.key in exported:
            report.duplicate_keys.append(_label(voucher.key))
        exported[voucher.key] = (voucher.date, [(t.account, t.amount) for t in voucher.transactions])
        report.rows_in_export += len(voucher.transactions)
    ours: dict[tuple[str, str], tuple[datetime.date, list[Row]]] = {}
    for _id, number, series, day, rows in copy:
        key = copy_key(number, series)
        if key in ours:
            report.duplicate_keys.append(_label(key))
        ours[key] = (day, _copy_rows(rows))
        report.rows_in_copy += len(rows)

    for key in sorted(exported.keys() - ours.keys()):
        report.missing_in_copy_count += 1
        if len(report.missing_in_copy) < LISTED:
            report.missing_in_copy.append(_label(key))
    for key in sorted(ours.keys() - exported.keys()):
        report.extra_in_copy_count += 1
        if len(report.extra_in_copy) < LISTED:
            report.extra_in_copy.append(_label(key))
    for key in sorted(exported.keys() & ours.keys()):
        their_day, their_rows = exported[key]
        our_day, our_rows = ours[key]
        problems: dict[str, Any] = {}
        reordered = False
        if their_day != our_day:
            problems["date"] = {"export": their_day.isoformat(), "copy": our_day.isoformat()}
        if their_rows != our_rows:
            if Counter(their_rows) == Counter(our_rows):
                reordered = True
            else:
                missing = Counter(their_rows) - Counter(our_rows)
                extra = Counter(our_rows) - Counter(their_rows)
                problems["rowsOnlyInExport"] = [
                    {"account": a, "amount": str(v)} for (a, v) in sorted(missing.elements())
                ][:LISTED]
                problems["rowsOnlyInCopy"] = [
                    {"account": a, "amount": str(v)} for (a, v) in sorted(extra.elements())
                ][:LISTED]
        if problems:
            report.differing_count += 1
            if len(report.differing) < LISTED:
                report.differing.append({"voucher": _label(key), **problems})
        elif reordered:
            report.matched_in_other_row_order += 1
        else:
            report.matched += 1
    return report


def fetch_export(
    api: SpirisApi, downloader: Downloader, *, start: datetime.date, end: datetime.date
) -> Sie4File:
    """Ask Spiris for the SIE 4 export of [start, end] and read it (bounded in size)."""
    document = api.sie4export(start, end)
    if not document.temporary_url:
        raise Sie4Error("Spiris gave no download link for the SIE 4 export")
    chunks: list[bytes] = []
    size = 0
    for chunk in downloader.stream(
        document.temporary_url, refresh_url=lambda: api.sie4export(start, end).temporary_url
    ):
        size += len(chunk)
        if size > MAX_EXPORT_BYTES:
            raise Sie4Error(f"the SIE 4 export is larger than {MAX_EXPORT_BYTES} bytes")
        chunks.append(chunk)
    return read_sie4(b"".join(chunks))


def compare_with_export(
    *,
    api: SpirisApi,
    downloader: Downloader,
    copy: Sequence[CopyVoucher],
    start: datetime.date,
    end: datetime.date,
) -> Sie4Comparison:
    """Fetch, read and compare; a refusal or an unreadable export becomes the report's `error`."""
    period = f"{start.isoformat()}..{end.isoformat()}"
    try:
        export = fetch_export(api, downloader, start=start, end=end)
    except (SpirisApiError, DownloadError, Sie4Error) as exc:
        logger.warning("SIE 4 comparison not possible: %s", exc)
        return Sie4Comparison(period=period, error=f"SIE 4 export not available: {exc}"[:500])
    report = compare(export, copy, period=period)
    logger.info(
        "SIE 4 comparison: %d of %d exported vouchers match, %d missing, %d extra, %d differing",
        report.matched + report.matched_in_other_row_order,
        report.vouchers_in_export,
        report.missing_in_copy_count,
        report.extra_in_copy_count,
        report.differing_count,
    )
    return report
