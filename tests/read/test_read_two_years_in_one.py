"""Two fiscal years starting in one calendar year (a short first year, then a changed year end), read through
the API: each is reached by its Spiris fiscal-year id, the calendar year alone answers 409 naming both ids,
and the list, vouchers, SIE 4 export and viewer link keep the two apart."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from spiris_sandbox.server import SandboxServer
from spiris_store.sie4 import read_sie4
from spiris_sync.run import run_sync
from spiris_sync.settings import load_sync_settings
from testkit.read_stack import ReadStack, _connection
from testkit.sandbox import start_sandbox
from testkit.sync_stack import SyncStack, write_token

pytestmark = pytest.mark.timeout(600)
PERIODS = (("2024-01-01", "2024-06-30"), ("2024-07-01", "2025-06-30"))
NAME = "split-years"


@pytest.fixture(scope="module")
def split(read_stack: ReadStack, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A second connection in the read stack's home namespace whose company keeps books in two fiscal years
    that both start in 2024, each synced in full by the real worker by its fiscal-year id."""
    sandbox: SandboxServer = start_sandbox(
        vouchers_per_year=12, rate_limit_per_minute=100000, fiscal_year_periods=PERIODS
    )
    try:
        token_file = Path(tmp_path_factory.mktemp("split-years")) / "token.json"
        write_token(sandbox, token_file, company=1)
        worker = SyncStack(
            sandbox=sandbox,
            database_url=read_stack.owner_dsn,
            s3=read_stack.s3,
            bucket=read_stack.bucket,
            token_file=token_file,
        )
        try:
            years = {fy["start"]: fy for fy in worker.control.company(1)["fiscal_years"]}
            org = worker.control.company(1)["org_number"]
            uid = _connection(read_stack.kube.rest, read_stack.home, NAME, org)
            worker.company_key = uid
            settings = load_sync_settings({}, worker.env())
            for fy in years.values():
                fy_id = uuid.UUID(fy["id"])
                run_sync(settings, company_key=uid, fiscal_year=None, fiscal_year_id=fy_id, mode="full")
        finally:
            worker.control.close()
        yield {start: {**fy, "id": str(fy["id"]).lower()} for start, fy in years.items()}
    finally:
        sandbox.stop()


def test_a_year_is_addressed_by_its_id_and_an_ambiguous_calendar_year_is_a_409(
    read_stack: ReadStack, split: dict[str, Any]
) -> None:
    base = read_stack.base(NAME)
    short, long = split["2024-01-01"], split["2024-07-01"]
    listed = read_stack.get(f"{base}/fiscal-years").json()["items"]
    assert [(y["year"], y["id"], y["startDate"]) for y in listed] == [
        (2024, short["id"], "2024-01-01"),
        (2024, long["id"], "2024-07-01"),
    ]

    ambiguous = read_stack.get(f"{base}/fiscal-years/2024/vouchers")
    assert ambiguous.status_code == 409, ambiguous.text
    assert ambiguous.headers["content-type"].startswith("application/problem+json")
    problem = ambiguous.json()
    assert problem["status"] == 409 and sorted(problem["fiscalYearIds"]) == sorted([short["id"], long["id"]])
    assert short["id"] in problem["detail"] and long["id"] in problem["detail"]
    assert read_stack.get(f"{base}/fiscal-years/2024/sie").status_code == 409

    for year in (short, long):
        page = read_stack.get(f"{base}/fiscal-years/{year['id']}/vouchers", params={"limit": "500"})
        assert page.status_code == 200, page.text
        items = page.json()["items"]
        assert len(items) == page.json()["total"] == year["vouchers"] > 0
        detail = read_stack.get(f"{base}/vouchers/{items[0]['id']}").json()
        assert detail["fiscalYearId"] == year["id"] and detail["fiscalYear"] == 2024
        sie = read_stack.get(f"{base}/fiscal-years/{year['id'].upper()}/sie")
        assert sie.status_code == 200, sie.text
        assert sie.headers["content-disposition"].endswith(f'-{year["start"]}.se"')
        parsed = read_sie4(sie.content)
        assert parsed.fiscal_years[0][0].isoformat() == year["start"] and len(parsed.vouchers) == len(items)

    # A viewer link minted for one of the two shows that year's vouchers only.
    link = read_stack.post(f"{base}/fiscal-years/{long['id']}/viewer-links")
    assert link.status_code == 201, link.text
    viewer_path = link.json()["url"].split("/viewer/", 1)[1]
    assert read_stack.get(f"/viewer/{viewer_path}", token=None).status_code == 200
    vouchers = read_stack.get(f"/viewer/{viewer_path}/vouchers", token=None).json()
    assert vouchers["total"] == long["vouchers"]

    unknown = read_stack.get(f"{base}/fiscal-years/00000000-0000-4000-8000-000000000000/vouchers")
    assert unknown.status_code == 404
    assert read_stack.get(f"{base}/fiscal-years/not-a-year/vouchers").status_code == 400
