"""A full sync as the worker's database role: the rows it needs it may write, the schema it may not touch.

`make_stack` migrates as the owner and hands the worker a `spiris_writer` login (as the chart does with
`database.worker`), so every sync test runs with these privileges; this one says so explicitly, on a small
company, and then tries the DDL the role is denied (README "Database roles").
"""

from __future__ import annotations

import psycopg
import pytest


@pytest.mark.timeout(120)
def test_full_sync_as_the_worker_role_which_cannot_change_the_schema(make_stack) -> None:
    stack = make_stack(vouchers_per_year=40, documents_ratio=0.3, seed=11, fiscal_years=(2025,))
    with psycopg.connect(stack.database_url) as conn:
        assert conn.info.user == "spiris_worker"
    result = stack.run_in_process(2025, mode="full", document_workers=2)
    truth = stack.truth(2025)
    assert result.outcome == "succeeded", result.summary()
    assert result.counts.vouchers == truth["vouchers"]
    assert result.counts.documents == truth["voucher_attachments"] + truth["voucher_customer_invoices"]
    # A second, incremental run updates its own rows (watermarks, checkpoints, runs) as the same role.
    assert stack.run_in_process(2025).outcome == "succeeded"
    for statement in (
        "DROP TABLE spiris.vouchers",
        "ALTER TABLE spiris.sync_runs DROP COLUMN job_name",
        "CREATE TABLE spiris.scratch (id int)",
        "TRUNCATE spiris.voucher_rows",
    ):
        with psycopg.connect(stack.database_url) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
