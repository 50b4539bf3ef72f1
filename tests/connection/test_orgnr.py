"""One organisation-number normaliser for the web and the operator: every spelling Spiris may use for a
company's number is the same company, a different number never is."""

from __future__ import annotations

import pytest
from spiris_connection import orgnr


@pytest.mark.parametrize(
    "reported",
    ["556585-4444", "5565854444", "556585 4444", "556585\u20134444", "556585\u00a04444", " 556585-4444 "],
)
def test_every_spelling_is_the_same_company(reported: str) -> None:
    assert orgnr.same_company(reported, "556585-4444")


@pytest.mark.parametrize("reported", ["556585-4445", "", None, "55658544440"])
def test_other_numbers_are_other_companies(reported: str | None) -> None:
    assert not orgnr.same_company(reported, "556585-4444")
