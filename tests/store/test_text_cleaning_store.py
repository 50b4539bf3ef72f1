"""Text from Spiris with a NUL character or a lone surrogate: as parsed raw, Postgres refuses the whole batch
(the year would stop there on every run); as the client cleans it (U+FFFD), the batch is stored."""

from __future__ import annotations

import json
from typing import Any

import psycopg
import pytest
from spiris_client.fields import loads
from spiris_client.text_cleaning import clean_tree
from spiris_store import ledger
from testkit.store_samples import make_voucher, seed_company

HOSTILE = json.dumps({"VoucherText": "Faktura\u0000 12 \ud800 slut"})


def test_raw_hostile_text_is_refused_by_postgres(conn: psycopg.Connection[Any]) -> None:
    key = seed_company(conn)
    raw = loads(HOSTILE)["VoucherText"]
    with pytest.raises((psycopg.DataError, UnicodeEncodeError)):
        ledger.upsert_vouchers(conn, company_key=key, vouchers=[make_voucher(1, text=raw)], run_id=None)


def test_cleaned_hostile_text_is_stored(conn: psycopg.Connection[Any]) -> None:
    key = seed_company(conn)
    cleaned, count = clean_tree(loads(HOSTILE))
    assert count == 1 and cleaned["VoucherText"] == "Faktura\ufffd 12 \ufffd slut"
    ledger.upsert_vouchers(
        conn, company_key=key, vouchers=[make_voucher(1, text=cleaned["VoucherText"])], run_id=None
    )
    conn.commit()
    stored = conn.execute("SELECT text FROM spiris.vouchers").fetchone()
    assert stored == ("Faktura\ufffd 12 \ufffd slut",)
