"""SIE 4 export from the copy: what `GET …/fiscal-years/{year}/sie` writes reads back through our own reader
and equals the sandbox's own `/sie4export` of the same year — vouchers, rows, amounts and balances."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from spiris_client import SpirisApi, StaticTokenProvider
from spiris_store.sie4 import Sie4File, read_sie4
from testkit.read_stack import ReadStack

pytestmark = pytest.mark.timeout(600)
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "read"


def _spiris_export(stack: ReadStack, year: int) -> Sie4File:
    token = stack.control.tokens(1)
    with SpirisApi(stack.sandbox.api_url, token_provider=StaticTokenProvider(token["access_token"])) as api:
        info = api.sie4export(datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    assert info.temporary_url
    return read_sie4(httpx.get(info.temporary_url, timeout=60).content)


def _nonzero(values: dict[tuple[int, int], Decimal]) -> dict[tuple[int, int], Decimal]:
    return {k: v for k, v in values.items() if k[0] == 0 and v != 0}


@pytest.mark.parametrize("year", [2024, 2025])
def test_export_equals_spiris_own_export(read_stack: ReadStack, year: int) -> None:
    response = read_stack.get(f"{read_stack.base()}/fiscal-years/{year}/sie")
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"].startswith("attachment; filename=")
    assert response.headers["x-spiris-balances"] == "complete"
    ours = read_sie4(response.content)
    # Kept for independent readers (README: which SIE readers accept the export).
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (ARTIFACTS / f"demo-company-{year}.se").write_bytes(response.content)
    theirs = _spiris_export(read_stack, year)
    assert response.content.startswith(b"#FLAGGA 0\r\n#FORMAT PC8\r\n#SIETYP 4\r\n#PROGRAM ")
    assert ours.format == "PC8" and ours.sie_type == "4" and ours.org_number == theirs.org_number
    assert ours.fiscal_years[0] == theirs.fiscal_years[0]
    assert ours.fiscal_years.get(-1) == theirs.fiscal_years.get(-1)
    # Vouchers, rows and amounts: the same set of (series, number), each with the same rows in order.
    mine = {v.key: v for v in ours.vouchers}
    spiris = {v.key: v for v in theirs.vouchers}
    assert len(mine) == len(ours.vouchers) == len(spiris) == read_stack.truth(year)["vouchers"]
    assert set(mine) == set(spiris)
    for key, voucher in spiris.items():
        copy = mine[key]
        assert copy.date == voucher.date and (copy.text or "") == (voucher.text or ""), key
        assert [(t.account, t.amount) for t in copy.transactions] == [
            (t.account, t.amount) for t in voucher.transactions
        ], key
    # Balances: opening and closing of balance sheet accounts, results of the year.
    assert _nonzero(ours.opening_balances) == _nonzero(theirs.opening_balances)
    assert _nonzero(ours.closing_balances) == _nonzero(theirs.closing_balances)
    assert _nonzero(ours.results) == _nonzero(theirs.results)
    assert set(theirs.accounts) - set(ours.accounts) <= set(theirs.accounts)  # ours: the synced chart
    used = {t.account for v in ours.vouchers for t in v.transactions}
    assert used <= set(ours.accounts)


def test_unknown_year_and_foreign_namespace(read_stack: ReadStack) -> None:
    assert read_stack.get(f"{read_stack.base()}/fiscal-years/2019/sie").status_code == 404
    assert read_stack.get(f"{read_stack.base()}/fiscal-years/2024/sie", token="stranger").status_code == 403
