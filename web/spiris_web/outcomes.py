"""Every page the web component can end on, with its HTTP status.

Handlers decide *which* outcome applies; the page renderer turns an outcome into a template, texts (from
`i18n`) and a status code. Keeping the list in one place makes "a clear page for every failure" checkable.
"""

from __future__ import annotations

from enum import Enum


class Outcome(Enum):
    """A result page; the value is its message-key prefix in `i18n`."""

    SUCCESS = "success"
    CONNECTED_READ_ONLY = "connected_read_only"
    CONNECTED_WITHOUT_INVOICES = "connected_without_invoices"
    LINK_INVALID = "link_invalid"
    LINK_EXPIRED = "link_expired"
    LINK_USED = "link_used"
    LINK_REPLACED = "link_replaced"
    LINK_UNKNOWN = "link_unknown"
    FORM_EXPIRED = "form_expired"
    STATE_INVALID = "state_invalid"
    STATE_EXPIRED = "state_expired"
    DECLINED = "declined"
    AUTHORIZATION_FAILED = "authorization_failed"
    WRONG_COMPANY = "wrong_company"
    ALREADY_CONNECTED = "already_connected"
    COMPANY_NOT_BOUND = "company_not_bound"
    MISSING_PERMISSION = "missing_permission"
    MISSING_MODULE = "missing_module"
    VARIANT_WITHOUT_BOOKKEEPING = "variant_without_bookkeeping"
    COMPANY_INACTIVE = "company_inactive"
    SPIRIS_UNAVAILABLE = "spiris_unavailable"
    SERVICE_UNAVAILABLE = "service_unavailable"
    NOT_CONFIGURED = "not_configured"
    NOT_FOUND = "not_found"

    @property
    def status_code(self) -> int:
        return _STATUS[self]

    @property
    def is_failure(self) -> bool:
        return self not in _CONNECTED


_CONNECTED = frozenset({Outcome.SUCCESS, Outcome.CONNECTED_READ_ONLY, Outcome.CONNECTED_WITHOUT_INVOICES})

_STATUS: dict[Outcome, int] = {
    Outcome.SUCCESS: 200,
    Outcome.CONNECTED_READ_ONLY: 200,
    Outcome.CONNECTED_WITHOUT_INVOICES: 200,
    Outcome.VARIANT_WITHOUT_BOOKKEEPING: 403,
    Outcome.LINK_INVALID: 400,
    Outcome.LINK_EXPIRED: 410,
    Outcome.LINK_USED: 410,
    Outcome.LINK_REPLACED: 410,
    Outcome.LINK_UNKNOWN: 404,
    Outcome.FORM_EXPIRED: 403,
    Outcome.STATE_INVALID: 400,
    Outcome.STATE_EXPIRED: 410,
    Outcome.DECLINED: 403,
    Outcome.AUTHORIZATION_FAILED: 400,
    Outcome.WRONG_COMPANY: 409,
    Outcome.ALREADY_CONNECTED: 409,
    Outcome.COMPANY_NOT_BOUND: 403,
    Outcome.MISSING_PERMISSION: 403,
    Outcome.MISSING_MODULE: 403,
    Outcome.COMPANY_INACTIVE: 403,
    Outcome.SPIRIS_UNAVAILABLE: 502,
    Outcome.SERVICE_UNAVAILABLE: 503,
    Outcome.NOT_CONFIGURED: 503,
    Outcome.NOT_FOUND: 404,
}
