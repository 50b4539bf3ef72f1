"""`spiris_web.company_checks` as plain functions: which page each company state, variant and probe refusal
leads to (the browser tests show the pages; these cover the probe codes the sandbox cannot separate)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from spiris_client.errors import Forbidden
from spiris_web.company_checks import CompanyRefused, CompanyState, check_company
from spiris_web.i18n import MESSAGES
from spiris_web.outcomes import Outcome


def _state(status: int | None = 1, variant: int | None = 5) -> CompanyState:
    return CompanyState(company_status=status, product_variant=variant, activated_modules=("bookkeeping",))


def _refusing(code: int | None, message: str = "") -> Callable[[], None]:
    def probe() -> None:
        raise Forbidden(
            status=403, endpoint="/v2/vouchers/{fiscalyearId}", error_code=code, developer_message=message
        )

    return probe


def _fine() -> None:
    return None


@pytest.mark.parametrize(
    ("state", "outcome"),
    [
        (_state(), Outcome.SUCCESS),
        (_state(status=None, variant=None), Outcome.SUCCESS),
        (_state(status=2), Outcome.CONNECTED_READ_ONLY),
        (_state(variant=3), Outcome.CONNECTED_WITHOUT_INVOICES),
        (_state(variant=1), Outcome.SUCCESS),
        (_state(variant=4), Outcome.SUCCESS),
    ],
)
def test_readable_companies(state: CompanyState, outcome: Outcome) -> None:
    assert check_company(state, _fine) is outcome
    assert not outcome.is_failure and outcome.status_code == 200


@pytest.mark.parametrize(
    ("state", "probe", "outcome"),
    [
        (_state(status=0), _fine, Outcome.COMPANY_INACTIVE),
        (_state(variant=2), _fine, Outcome.VARIANT_WITHOUT_BOOKKEEPING),
        (_state(variant=6), _fine, Outcome.VARIANT_WITHOUT_BOOKKEEPING),
        (_state(), _refusing(4007), Outcome.MISSING_PERMISSION),
        (_state(), _refusing(4011), Outcome.MISSING_PERMISSION),
        (_state(), _refusing(4019), Outcome.MISSING_PERMISSION),
        (_state(), _refusing(None), Outcome.MISSING_PERMISSION),  # any 403: the production code is unknown
        (_state(), _refusing(4002, "No access to module: bookkeeping"), Outcome.MISSING_MODULE),
        (_state(), _refusing(4009), Outcome.MISSING_MODULE),
        (_state(), _refusing(4004), Outcome.COMPANY_INACTIVE),
        (_state(), _refusing(4003), Outcome.COMPANY_INACTIVE),
    ],
)
def test_refused_companies(state: CompanyState, probe: Callable[[], None], outcome: Outcome) -> None:
    with pytest.raises(CompanyRefused) as caught:
        check_company(state, probe)
    assert caught.value.outcome is outcome and outcome.is_failure


def test_every_new_page_has_both_languages() -> None:
    for outcome in (
        Outcome.CONNECTED_READ_ONLY,
        Outcome.CONNECTED_WITHOUT_INVOICES,
        Outcome.VARIANT_WITHOUT_BOOKKEEPING,
    ):
        for language in ("sv", "en"):
            for part in ("title", "body", "next"):
                assert MESSAGES[language][f"{outcome.value}.{part}"]
