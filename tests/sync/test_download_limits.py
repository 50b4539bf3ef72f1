"""The worker's download policy end to end: a document over the size cap, and links pointing at a host the
policy does not allow, become missing documents with the reason — the run completes (degraded) instead of
failing at the same batch on every retry, and nothing from a refused link is stored."""

from __future__ import annotations

import psycopg
import pytest
from spiris_store.missing_documents import list_missing_documents

pytestmark = pytest.mark.timeout(180)


def _missing_reasons(database_url: str, company_key: str) -> list[str]:
    with psycopg.connect(database_url) as conn:
        return [m.reason for m in list_missing_documents(conn, company_key=company_key)]


def test_a_document_over_the_cap_is_recorded_missing_with_the_reason(make_stack) -> None:
    stack = make_stack(
        vouchers_per_year=30, documents_ratio=0.3, fiscal_years=(2025,), large_document_bytes=3_000_000
    )
    result = stack.run_in_process(2025, SPIRIS_DOWNLOAD_MAX_BYTES="2000000")
    assert result.outcome == "degraded"
    reasons = _missing_reasons(stack.database_url, stack.company_key)
    assert len([r for r in reasons if r.startswith("too large")]) == 1, reasons
    with psycopg.connect(stack.database_url) as conn:
        biggest = conn.execute("SELECT coalesce(max(size_bytes), 0) FROM spiris.documents").fetchone()
    assert biggest is not None and biggest[0] <= 2_000_000


def test_links_to_another_host_are_refused_and_nothing_is_fetched(make_stack) -> None:
    # The sandbox names its storage "localhost" (same port): not the configured API origin, not allowed.
    stack = make_stack(
        vouchers_per_year=20, documents_ratio=0.5, fiscal_years=(2025,), storage_host="localhost"
    )
    stack.control.reset_stats()
    result = stack.run_in_process(2025)
    assert result.outcome == "degraded"
    reasons = _missing_reasons(stack.database_url, stack.company_key)
    assert reasons and any(r.startswith("download link refused") for r in reasons), reasons
    assert stack.control.stats()["downloads"] == 0
