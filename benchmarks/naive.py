"""The naive baseline: how an integration that fetches one object at a time would sync the same year.

It lists vouchers at Spiris' default page size (50) only to learn their ids, then fetches every voucher one by
one (`GET /vouchers/{fy}/{id}`), every attachment's metadata one by one (`GET /attachments/{id}`) and every
customer invoice's print. It uses `spiris_client` like the worker, stores nothing (only its calls matter), and
runs unthrottled: its floor time is computed from its call count. Because the sandbox answers a single-voucher
GET in ~45 ms even unthrottled, the full-size run executes the per-voucher fetches for the first
`execute_vouchers` vouchers only and counts the rest from the listing (each listed voucher costs exactly one
voucher GET, one GET per attachment id and one print per customer invoice — the executed part checks that
arithmetic against the sandbox's own count).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import Any

from call_floor import calls_by_template
from harness import CLIENT_ID, BenchSandbox
from spiris_client.api import SpirisApi
from spiris_client.models import Voucher
from spiris_client.tokens import StaticTokenProvider

DEFAULT_PAGE_SIZE = 50
CUSTOMER_INVOICE_TYPES = frozenset({14, 15, 23, 24})
VOUCHER = "/v2/vouchers/{fiscal_year_id}/{voucher_id}"
ATTACHMENT = "/v2/attachments/{attachment_id}"
PRINT = "/v2/customerinvoices/{invoice_id}/print"


def _per_voucher(voucher: Voucher) -> Counter[str]:
    """The calls the naive baseline spends on one voucher after listing it."""
    calls: Counter[str] = Counter({VOUCHER: 1})
    calls[ATTACHMENT] += len(voucher.attachments.attachment_ids) if voucher.attachments else 0
    if voucher.source_id and voucher.voucher_type in CUSTOMER_INVOICE_TYPES:
        calls[PRINT] += 1
    return calls


def run_naive(
    sandbox: BenchSandbox, *, company: int, fiscal_year_id: str, execute_vouchers: int | None = None
) -> dict[str, Any]:
    """Run the baseline and return its calls by template (executed ones from the sandbox's stats)."""
    grant = sandbox.control("POST", "tokens", json={"company": company, "client_id": CLIENT_ID})
    token = grant["access_token"]
    sandbox.reset_stats()
    began = time.perf_counter()
    computed: Counter[str] = Counter()
    expected_executed: Counter[str] = Counter()
    executed = 0
    with SpirisApi(sandbox.api_url, token_provider=StaticTokenProvider(token)) as api:
        api.fiscal_years()
        for _page in api.accounts(fiscal_year_id, page_size=DEFAULT_PAGE_SIZE):
            pass
        listed = [v for page in api.vouchers(fiscal_year_id, page_size=DEFAULT_PAGE_SIZE) for v in page.items]
        for listed_voucher in listed:
            if execute_vouchers is not None and executed >= execute_vouchers:
                computed += _per_voucher(listed_voucher)
                continue
            executed += 1
            voucher = api.voucher(fiscal_year_id, listed_voucher.id)
            expected_executed += _per_voucher(voucher)
            for attachment_id in voucher.attachments.attachment_ids if voucher.attachments else ():
                api.attachment(attachment_id)
            if voucher.source_id and voucher.voucher_type in CUSTOMER_INVOICE_TYPES:
                for _chunk in api.customer_invoice_print(voucher.source_id):
                    pass
    seconds = time.perf_counter() - began
    counted = calls_by_template(sandbox.stats(), client_id=CLIENT_ID)
    arithmetic_ok = all(counted.get(t, 0) == n for t, n in expected_executed.items())
    calls = dict(sorted((Counter(counted) + computed).items()))
    return {
        "calls": sum(calls.values()),
        "calls_by_template": calls,
        "executed_vouchers": executed,
        "counted_from_listing_vouchers": len(listed) - executed,
        "per_voucher_arithmetic_matches_sandbox": arithmetic_ok,
        "seconds": seconds,
    }
