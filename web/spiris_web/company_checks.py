"""What the callback checks about the connected company while the person is still on the page.

After the code exchange the callback reads `/companysettings` (`CompanyStatus` 0 Inactive, 1 Active, 2
ReadOnly; `ProductVariant` 1 Standard, 2 Invoicing, 3 Bookkeeping, 4 Solo, 5 Pro, 6 InvoicingCollaboration;
`ActivatedModules`) and probes one voucher page, the first thing every sync reads. A refused probe decides
the page by Spiris' ErrorCode: 4002/4009 → the Bokföring module or variant is missing, 4003/4004/4012 → the
company is not usable, anything else that is a 403 (4005, 4007, 4011, 4019 or unknown — which code a user
without full program permission gets is UNKNOWN) → missing permission. An inactive company or a variant
without bookkeeping is refused; a read-only company or the Bookkeeping variant (no customer invoices)
connects, with a page saying what that means. `ActivatedModules` is logged, not judged: its module names are
undocumented (UNKNOWN), so the probe, not a name, proves the ledger is readable.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from spiris_client.errors import Forbidden, ForbiddenReason

from spiris_web.outcomes import Outcome

INACTIVE = 0
READ_ONLY = 2
INVOICING_VARIANTS = frozenset({2, 6})
BOOKKEEPING_VARIANT = 3


@dataclass(frozen=True)
class CompanyState:
    """The company-settings fields the checks read."""

    company_status: int | None
    product_variant: int | None
    activated_modules: tuple[str, ...]


_PROBE_OUTCOMES = {
    ForbiddenReason.MODULE: Outcome.MISSING_MODULE,
    ForbiddenReason.COMPANY_STATE: Outcome.COMPANY_INACTIVE,
    ForbiddenReason.PERMISSION: Outcome.MISSING_PERMISSION,
    ForbiddenReason.SCOPE: Outcome.AUTHORIZATION_FAILED,
    ForbiddenReason.UNKNOWN: Outcome.MISSING_PERMISSION,
}


class CompanyRefused(Exception):
    """The company cannot be connected; `outcome` is the page, `reason` goes to the log."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


def check_company(state: CompanyState, probe: Callable[[], None]) -> Outcome:
    """The success outcome to show, or raise :class:`CompanyRefused`. `probe` reads one voucher page and
    raises the client's errors (Forbidden et al.); other errors propagate to the caller."""
    if state.company_status == INACTIVE:
        raise CompanyRefused(Outcome.COMPANY_INACTIVE, "CompanyStatus 0 (Inactive)")
    if state.product_variant in INVOICING_VARIANTS:
        raise CompanyRefused(
            Outcome.VARIANT_WITHOUT_BOOKKEEPING, f"ProductVariant {state.product_variant} has no bookkeeping"
        )
    try:
        probe()
    except Forbidden as exc:
        raise CompanyRefused(
            _PROBE_OUTCOMES[exc.reason], f"voucher probe refused (ErrorCode {exc.error_code})"
        ) from None
    if state.company_status == READ_ONLY:
        return Outcome.CONNECTED_READ_ONLY
    if state.product_variant == BOOKKEEPING_VARIANT:
        return Outcome.CONNECTED_WITHOUT_INVOICES
    return Outcome.SUCCESS
