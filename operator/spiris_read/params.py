"""Path and query parameters, parsed strictly: anything malformed is a 400 problem, never a 500 or a query
that silently matches nothing.

Namespaces and connection names follow Kubernetes' rules (DNS-1123 label / subdomain); a fiscal year is the
calendar year it starts in (1900 to 2200, as the CRD) or its Spiris id; voucher and document ids are uuids;
row numbers are 1-based.
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Mapping

from spiris_store.read_records import FiscalYearRef, VoucherFilter

from spiris_read.cursors import VoucherCursor, decode_cursor
from spiris_read.problems import MalformedRequest

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def namespace(value: str) -> str:
    if not _LABEL.match(value):
        raise MalformedRequest(f"{value[:80]!r} is not a Kubernetes namespace name.")
    return value


def connection_name(value: str) -> str:
    if not _SUBDOMAIN.match(value):
        raise MalformedRequest(f"{value[:80]!r} is not a Kubernetes object name.")
    return value


def year(value: str) -> int:
    if not re.fullmatch(r"\d{4}", value) or not 1900 <= int(value) <= 2200:
        raise MalformedRequest(f"{value[:20]!r} is not a fiscal year (the year it starts in, e.g. 2024).")
    return int(value)


def fiscal_year(value: str) -> FiscalYearRef:
    """A fiscal year in a path: the calendar year it starts in (four digits) or its Spiris id (a uuid)."""
    if re.fullmatch(r"\d{4}", value):
        return year(value)
    if re.fullmatch(r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}", value):
        return uuid.UUID(value)
    raise MalformedRequest(
        f"{value[:40]!r} is not a fiscal year (the year it starts in, e.g. 2024, or its fiscal-year id)."
    )


def an_id(value: str, *, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(value) if len(value) <= 40 else uuid.UUID("x")
    except ValueError:
        raise MalformedRequest(f"{value[:60]!r} is not a {what} id (a uuid).") from None


def row_no(value: str) -> int:
    if not re.fullmatch(r"[0-9]{1,6}", value) or int(value) < 1:
        raise MalformedRequest(f"{value[:20]!r} is not a row number (1, 2, ...).")
    return int(value)


def _date(query: Mapping[str, str], key: str) -> datetime.date | None:
    text = query.get(key)
    if text is None or text == "":
        return None
    try:
        if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            raise ValueError(text)
        return datetime.date.fromisoformat(text)
    except ValueError:
        raise MalformedRequest(f"{key} must be a date (YYYY-MM-DD).") from None


def _flag(query: Mapping[str, str], key: str) -> bool | None:
    text = query.get(key)
    if text is None or text == "":
        return None
    if text in ("true", "false"):
        return text == "true"
    raise MalformedRequest(f"{key} must be true or false.")


def voucher_filter(query: Mapping[str, str]) -> VoucherFilter:
    number = query.get("number") or None
    if number is not None and (len(number) > 40 or not number.isprintable()):
        raise MalformedRequest("number must be a voucher number such as A33.")
    account_text = query.get("account") or None
    account = None
    if account_text is not None:
        if not re.fullmatch(r"[0-9]{1,9}", account_text):
            raise MalformedRequest("account must be an account number such as 1930.")
        account = int(account_text)
    return VoucherFilter(
        number=number,
        date_from=_date(query, "from"),
        date_to=_date(query, "to"),
        account=account,
        has_documents=_flag(query, "hasDocuments"),
        missing_documents=_flag(query, "missingDocuments"),
    )


def cursor(query: Mapping[str, str]) -> VoucherCursor | None:
    text = query.get("cursor")
    if not text:
        return None
    if len(text) > 400:
        raise MalformedRequest("The cursor is not one this API handed out.")
    return decode_cursor(text)


def limit(query: Mapping[str, str]) -> int:
    text = query.get("limit")
    if text is None or text == "":
        return DEFAULT_LIMIT
    if not re.fullmatch(r"[0-9]{1,4}", text) or not 1 <= int(text) <= MAX_LIMIT:
        raise MalformedRequest(f"limit must be between 1 and {MAX_LIMIT}.")
    return int(text)
