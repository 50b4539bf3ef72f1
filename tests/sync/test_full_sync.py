"""Two fiscal years, 5,000 vouchers and ~1,500 documents of a seeded company sync completely and exactly."""

from __future__ import annotations

import psycopg
import pytest
from testkit.ledger_checks import assert_objects_match_sha256, latest_run


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_two_fiscal_years_sync_completely(make_stack) -> None:
    stack = make_stack(vouchers_per_year=2500, documents_ratio=0.3, seed=7)
    results = {year: stack.run_in_process(year) for year in (2024, 2025)}

    documents_total = 0
    for year, result in results.items():
        truth = stack.truth(year)
        assert result.outcome == "succeeded", result.summary()
        assert result.counts.vouchers == truth["vouchers"]
        assert result.counts.rows == truth["rows"]
        expected_documents = truth["voucher_attachments"] + truth["voucher_customer_invoices"]
        assert result.counts.documents == expected_documents
        assert result.counts.missing_documents == 0
        assert result.reconciliation is not None and result.reconciliation["balanced"] is True
        assert result.reconciliation["differences"] == []
        assert result.reconciliation["vouchersChecked"] == truth["vouchers"]
        documents_total += expected_documents
        run = latest_run(stack.database_url)
        assert run["outcome"] == "succeeded" and run["balanced"] is True

        # Per-account sums equal the sandbox's seeded truth, to the öre.
        fy_id = result.fiscal_year_id
        with psycopg.connect(stack.database_url) as conn:
            sums = dict(
                conn.execute(
                    """SELECT r.account_number::text, sum(r.debit)::text || '/' || sum(r.credit)::text
                    FROM spiris.voucher_rows r JOIN spiris.vouchers v ON v.company_key = r.company_key
                        AND v.id = r.voucher_id
                    WHERE v.fiscal_year_id = %s GROUP BY 1""",
                    (fy_id,),
                ).fetchall()
            )
            # Every voucher's documents are linked: each attachment id and each customer-invoice source.
            unlinked = conn.execute(
                """SELECT count(*) FROM spiris.vouchers v, unnest(v.attachment_ids) a(id)
                WHERE v.fiscal_year_id = %s AND NOT EXISTS (
                    SELECT 1 FROM spiris.voucher_documents vd JOIN spiris.documents d
                      ON d.company_key = vd.company_key AND d.id = vd.document_id
                    WHERE vd.voucher_id = v.id AND d.spiris_id = a.id)""",
                (fy_id,),
            ).fetchone()
        assert unlinked == (0,)
        expected_sums = {
            account: f"{entry['debit']}/{entry['credit']}"
            for account, entry in truth["accounts"].items()
            if entry["rows"]
        }
        assert sums == expected_sums

    assert documents_total >= 1400
    assert assert_objects_match_sha256(stack.s3, stack.bucket, stack.database_url) >= 1400
