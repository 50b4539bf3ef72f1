"""The rate-limit hook and the endpoint templates it is keyed by.

Spiris counts 600 requests per minute per OAuth client *and endpoint*, shared by every company we serve, so a
budget must be shared too. `SpirisApi` calls `RateLimiter.acquire(template)` before every request it sends
(retries included) with the path template — e.g. `/v2/vouchers/{fiscalyearId}` — that `endpoint_template()`
derives from the concrete path. The shared implementation lives with the stores; `NoRateLimit` is the default.
"""

from __future__ import annotations

import re
from typing import Protocol


class RateLimiter(Protocol):
    """Blocks until one request to `endpoint_template` may be sent."""

    def acquire(self, endpoint_template: str) -> None: ...


class NoRateLimit:
    """Never waits."""

    def acquire(self, endpoint_template: str) -> None:
        return None


_UUID = r"[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
_DATE = r"\d{4}-\d{2}-\d{2}"
_NUMBER = r"\d+"
_ANY = r"[^/]+"

# (template, pattern of the path after /v2/). Order matters: specific literals before placeholders.
_TEMPLATES: tuple[tuple[str, str], ...] = (
    ("/v2/companysettings", r"companysettings"),
    ("/v2/fiscalyears", r"fiscalyears"),
    ("/v2/fiscalyears/openingbalances", r"fiscalyears/openingbalances"),
    ("/v2/fiscalyears/{fiscalyearId}", rf"fiscalyears/{_ANY}"),
    ("/v2/accounts", r"accounts"),
    ("/v2/accounts/{fiscalyearId}", rf"accounts/{_ANY}"),
    ("/v2/accounts/{fiscalyearId}/{accountNumber}", rf"accounts/{_ANY}/{_ANY}"),
    ("/v2/accountbalances/{date}", rf"accountbalances/{_DATE}"),
    ("/v2/accountbalances/{accountNumber}/{date}", rf"accountbalances/{_NUMBER}/{_DATE}"),
    ("/v2/vouchers", r"vouchers"),
    ("/v2/vouchers/{fiscalyearId}", rf"vouchers/{_ANY}"),
    ("/v2/vouchers/{fiscalyearId}/{voucherId}", rf"vouchers/{_ANY}/{_ANY}"),
    ("/v2/attachments", r"attachments"),
    ("/v2/attachments/{attachmentId}", rf"attachments/{_ANY}"),
    ("/v2/customerinvoices", r"customerinvoices"),
    ("/v2/customerinvoices/{invoiceId}", rf"customerinvoices/{_ANY}"),
    ("/v2/customerinvoices/{invoiceId}/pdf", rf"customerinvoices/{_ANY}/pdf"),
    ("/v2/customerinvoices/{invoiceId}/print", rf"customerinvoices/{_ANY}/print"),
    ("/v2/supplierinvoices", r"supplierinvoices"),
    ("/v2/supplierinvoices/{supplierInvoiceId}", rf"supplierinvoices/{_ANY}"),
    ("/v2/salesdocumentattachments/{attachmentId}.pdf", rf"salesdocumentattachments/{_ANY}\.pdf"),
    ("/v2/salesdocumentattachments/{attachmentId}", rf"salesdocumentattachments/{_ANY}"),
    ("/v2/sie4export/{fromDate}/{toDate}", rf"sie4export/{_DATE}/{_DATE}"),
    ("/v2/documents/{documentId}", rf"documents/{_ANY}"),
)
_COMPILED = tuple((template, re.compile(pattern, re.IGNORECASE)) for template, pattern in _TEMPLATES)


def endpoint_template(path: str) -> str:
    """The rate-limit bucket of a request path (with or without `/v2`, query string ignored, any casing).

    Unknown paths are generalised segment by segment (GUIDs, dates and numbers become placeholders) so that
    they still land in one bucket per endpoint, never one per resource.
    """
    bare = path.split("?", 1)[0].split("#", 1)[0].strip("/")
    if bare.lower().startswith("v2/") or bare.lower() == "v2":
        bare = bare[3:]
    for template, pattern in _COMPILED:
        if pattern.fullmatch(bare):
            return template
    generic = []
    for segment in bare.split("/"):
        if re.fullmatch(_UUID, segment):
            generic.append("{id}")
        elif re.fullmatch(_DATE, segment):
            generic.append("{date}")
        elif re.fullmatch(_NUMBER, segment):
            generic.append("{number}")
        else:
            generic.append(segment.lower())
    return "/v2/" + "/".join(generic) if generic != [""] else "/v2"
