"""Initial schema `spiris`: the ledger, documents, run provenance, checkpoints and the rate budget.

Revision ID: 0001
Revises: none
Create Date: 2026-11-28

The first eight tables are the read contract of the Senseworks UI (names and columns documented in
the README, "The ledger schema"); `sync_checkpoints`, `missing_documents` and `rate_budget` support the
worker.
Written as explicit DDL so the schema reads as it is in Postgres.
"""

from __future__ import annotations

from spiris_store.migrations.statements import execute_all

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

DOCUMENT_SOURCE_CHECK = "IN ('attachment', 'customer_invoice_pdf', 'supplier_invoice_attachment')"

UPGRADE = [
    """
    CREATE TABLE spiris.companies (
        company_key text PRIMARY KEY,
        name text,
        corporate_identity_number text,
        company_identifier text,
        country_code text,
        currency_code text,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
    )
    """,
    "CREATE INDEX companies_corporate_identity_number_idx ON spiris.companies (corporate_identity_number)",
    """
    CREATE TABLE spiris.fiscal_years (
        company_key text NOT NULL REFERENCES spiris.companies (company_key) ON DELETE CASCADE,
        id uuid NOT NULL,
        start_date date NOT NULL,
        end_date date NOT NULL,
        is_locked boolean NOT NULL DEFAULT false,
        bookkeeping_method integer,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_key, id),
        CHECK (end_date >= start_date)
    )
    """,
    "CREATE INDEX fiscal_years_start_idx ON spiris.fiscal_years (company_key, start_date)",
    """
    CREATE TABLE spiris.accounts (
        company_key text NOT NULL,
        fiscal_year_id uuid NOT NULL,
        number bigint NOT NULL,
        name text NOT NULL,
        type integer,
        type_description text,
        vat_code_id uuid,
        vat_code_description text,
        is_active boolean NOT NULL DEFAULT true,
        created_utc timestamptz,
        modified_utc timestamptz,
        synced_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_key, fiscal_year_id, number),
        FOREIGN KEY (company_key, fiscal_year_id)
            REFERENCES spiris.fiscal_years (company_key, id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE spiris.sync_runs (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        company_key text NOT NULL REFERENCES spiris.companies (company_key) ON DELETE CASCADE,
        fiscal_year integer NOT NULL,
        fiscal_year_id uuid,
        mode text NOT NULL CHECK (mode IN ('incremental', 'full')),
        trigger text NOT NULL,
        host text,
        started_at timestamptz NOT NULL DEFAULT now(),
        finished_at timestamptz,
        scopes text[] NOT NULL DEFAULT '{}',
        outcome text NOT NULL DEFAULT 'running'
            CHECK (outcome IN ('running', 'succeeded', 'degraded', 'failed')),
        error text,
        accounts_count integer NOT NULL DEFAULT 0,
        vouchers_count integer NOT NULL DEFAULT 0,
        rows_count integer NOT NULL DEFAULT 0,
        documents_count integer NOT NULL DEFAULT 0,
        missing_documents_count integer NOT NULL DEFAULT 0,
        vanished_count integer NOT NULL DEFAULT 0,
        vouchers_fetched integer NOT NULL DEFAULT 0,
        documents_fetched integer NOT NULL DEFAULT 0,
        api_calls integer NOT NULL DEFAULT 0,
        api_calls_by_endpoint jsonb NOT NULL DEFAULT '{}'::jsonb,
        watermark_used timestamptz,
        next_watermark timestamptz,
        reconciliation jsonb,
        balanced boolean,
        checksums jsonb
    )
    """,
    "CREATE INDEX sync_runs_company_year_idx ON spiris.sync_runs (company_key, fiscal_year, started_at DESC)",
    """
    CREATE TABLE spiris.vouchers (
        company_key text NOT NULL,
        id uuid NOT NULL,
        fiscal_year_id uuid NOT NULL,
        number text,
        number_series text,
        imported_voucher_number text,
        voucher_date date NOT NULL,
        text text,
        voucher_type integer,
        source_id uuid,
        attachment_document_id uuid,
        attachment_document_type integer,
        attachment_ids uuid[] NOT NULL DEFAULT '{}',
        created_utc timestamptz,
        modified_utc timestamptz,
        row_count integer NOT NULL,
        debit_total numeric(18, 2) NOT NULL,
        credit_total numeric(18, 2) NOT NULL,
        content_sha256 text NOT NULL,
        first_synced_at timestamptz NOT NULL DEFAULT now(),
        synced_at timestamptz NOT NULL DEFAULT now(),
        changed_at timestamptz NOT NULL DEFAULT now(),
        vanished_at timestamptz,
        run_id bigint REFERENCES spiris.sync_runs (id) ON DELETE SET NULL,
        PRIMARY KEY (company_key, id),
        FOREIGN KEY (company_key, fiscal_year_id)
            REFERENCES spiris.fiscal_years (company_key, id) ON DELETE CASCADE
    )
    """,
    """CREATE INDEX vouchers_year_date_idx
        ON spiris.vouchers (company_key, fiscal_year_id, voucher_date, number)""",
    """CREATE INDEX vouchers_source_idx
        ON spiris.vouchers (company_key, source_id) WHERE source_id IS NOT NULL""",
    "CREATE INDEX vouchers_modified_idx ON spiris.vouchers (company_key, fiscal_year_id, modified_utc)",
    "CREATE INDEX vouchers_run_idx ON spiris.vouchers (run_id)",
    """
    CREATE TABLE spiris.voucher_rows (
        company_key text NOT NULL,
        voucher_id uuid NOT NULL,
        row_no integer NOT NULL CHECK (row_no >= 1),
        account_number bigint NOT NULL,
        account_description text,
        debit numeric(16, 2) NOT NULL DEFAULT 0,
        credit numeric(16, 2) NOT NULL DEFAULT 0,
        transaction_text text,
        cost_center_item_id1 uuid,
        cost_center_item_id2 uuid,
        cost_center_item_id3 uuid,
        project_id uuid,
        vat_code_id uuid,
        vat_code_and_percent text,
        PRIMARY KEY (company_key, voucher_id, row_no),
        FOREIGN KEY (company_key, voucher_id)
            REFERENCES spiris.vouchers (company_key, id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX voucher_rows_account_idx ON spiris.voucher_rows (company_key, account_number)",
    f"""
    CREATE TABLE spiris.documents (
        company_key text NOT NULL REFERENCES spiris.companies (company_key) ON DELETE CASCADE,
        id uuid NOT NULL DEFAULT gen_random_uuid(),
        source text NOT NULL CHECK (source {DOCUMENT_SOURCE_CHECK}),
        spiris_id uuid NOT NULL,
        sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{{64}}$'),
        object_key text NOT NULL,
        content_type text NOT NULL,
        size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
        original_file_name text,
        spiris_attachment_id uuid,
        spiris_invoice_id uuid,
        spiris_document_type integer,
        stored_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_key, id),
        UNIQUE (company_key, source, spiris_id)
    )
    """,
    "CREATE INDEX documents_sha256_idx ON spiris.documents (sha256)",
    "CREATE INDEX documents_object_key_idx ON spiris.documents (object_key)",
    f"""
    CREATE TABLE spiris.voucher_documents (
        company_key text NOT NULL,
        voucher_id uuid NOT NULL,
        document_id uuid NOT NULL,
        relation text NOT NULL CHECK (relation {DOCUMENT_SOURCE_CHECK}),
        linked_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_key, voucher_id, document_id),
        FOREIGN KEY (company_key, voucher_id)
            REFERENCES spiris.vouchers (company_key, id) ON DELETE CASCADE,
        FOREIGN KEY (company_key, document_id)
            REFERENCES spiris.documents (company_key, id) ON DELETE CASCADE
    )
    """,
    "CREATE INDEX voucher_documents_document_idx ON spiris.voucher_documents (company_key, document_id)",
    """
    CREATE TABLE spiris.sync_checkpoints (
        company_key text NOT NULL REFERENCES spiris.companies (company_key) ON DELETE CASCADE,
        fiscal_year_id uuid NOT NULL,
        phase text NOT NULL,
        page integer NOT NULL DEFAULT 0 CHECK (page >= 0),
        watermark timestamptz,
        state jsonb NOT NULL DEFAULT '{}'::jsonb,
        run_id bigint NOT NULL,
        started_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (company_key, fiscal_year_id, phase)
    )
    """,
    f"""
    CREATE TABLE spiris.missing_documents (
        company_key text NOT NULL,
        voucher_id uuid NOT NULL,
        source text NOT NULL CHECK (source {DOCUMENT_SOURCE_CHECK}),
        spiris_id uuid NOT NULL,
        reason text NOT NULL,
        attempts integer NOT NULL DEFAULT 1,
        last_error text,
        first_seen_at timestamptz NOT NULL DEFAULT now(),
        last_seen_at timestamptz NOT NULL DEFAULT now(),
        last_run_id bigint REFERENCES spiris.sync_runs (id) ON DELETE SET NULL,
        PRIMARY KEY (company_key, voucher_id, source, spiris_id),
        FOREIGN KEY (company_key, voucher_id)
            REFERENCES spiris.vouchers (company_key, id) ON DELETE CASCADE
    )
    """,
    """
    CREATE TABLE spiris.rate_budget (
        client_id text NOT NULL,
        endpoint text NOT NULL,
        tokens double precision NOT NULL,
        capacity double precision NOT NULL CHECK (capacity >= 1),
        refill_per_second double precision NOT NULL CHECK (refill_per_second > 0),
        updated_at timestamptz NOT NULL DEFAULT clock_timestamp(),
        granted_total bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (client_id, endpoint)
    )
    """,
]

DOWNGRADE = [
    f"DROP TABLE IF EXISTS spiris.{table} CASCADE"
    for table in (
        "rate_budget",
        "missing_documents",
        "sync_checkpoints",
        "voucher_documents",
        "documents",
        "voucher_rows",
        "vouchers",
        "sync_runs",
        "accounts",
        "fiscal_years",
        "companies",
    )
]


def upgrade() -> None:
    execute_all(UPGRADE)


def downgrade() -> None:
    execute_all(DOWNGRADE)
