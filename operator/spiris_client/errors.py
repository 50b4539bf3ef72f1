"""The one exception hierarchy of the Spiris client.

Callers catch at the level they care about: `SpirisError` for anything from Spiris, `SpirisApiError` for an
answered API request (with its `ErrorCode`/`ErrorId`), `SpirisUnavailable` when Spiris could not be reached
or kept failing after bounded retries, `ConsentRequired` when the refresh token is dead and a person must
consent again, and the download errors for temporary storage links. Messages never contain tokens, codes or
temporary URLs: they are built from status codes, error codes, endpoint templates and Spiris' developer
messages (passed through the redaction in `spiris_client.redaction`).
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from typing import Any

from spiris_client.redaction import redact


class SpirisError(Exception):
    """Base of every error raised by `spiris_client`."""

    def __init__(self, message: str) -> None:
        super().__init__(redact(message))

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


class SpirisApiError(SpirisError):
    """Spiris answered an API request with an error status.

    `error_code` is Spiris' numeric `ErrorCode` (e.g. 4006), `error_id` the correlation id to quote to Spiris
    support, `developer_message` the `DeveloperErrorMessage` and `errors` the optional validation details.
    """

    def __init__(
        self,
        *,
        status: int,
        endpoint: str,
        error_code: int | None = None,
        error_id: str | None = None,
        developer_message: str | None = None,
        errors: Sequence[Mapping[str, Any]] = (),
    ) -> None:
        self.status = status
        self.endpoint = endpoint
        self.error_code = error_code
        self.error_id = error_id
        self.developer_message = redact(developer_message) if developer_message else None
        self.errors = tuple(errors)
        text = f"Spiris API answered {status} on {endpoint}"
        if error_code is not None:
            text += f" (ErrorCode {error_code})"
        if self.developer_message:
            text += f": {self.developer_message}"
        if error_id:
            text += f" [ErrorId {error_id}]"
        super().__init__(text)


QUERY_OPTIONS = (
    "$filter",
    "$orderby",
    "$select",
    "$page",
    "$pagesize",
    "modifiedsinceutc",
    "includematched",
    "includetemporaryurl",
)
"""The query options and parameters we send; a 400 naming one of them is a refusal of the query."""


def names_query_option(error: SpirisApiError) -> bool:
    """Whether `error` points at our query: `Errors[].Field` or the message names a query option."""
    for detail in error.errors:
        fields = {str(k).lower(): v for k, v in detail.items()}
        field = str(fields.get("field") or "").strip().lower()
        if field.startswith("$") or field in QUERY_OPTIONS:
            return True
    message = (error.developer_message or "").lower()
    return any(option in message for option in QUERY_OPTIONS if option.startswith("$"))


class BadRequest(SpirisApiError):
    """400: a bad query (`6000 QueryParameterError`, `6001 InvalidInput`, or — undocumented, as production is
    believed to answer — 2000 DataModelValidationError naming `$filter`) or a business validation error."""

    @property
    def is_query_error(self) -> bool:
        """Spiris refused the query itself (so dropping the filter may help), whatever the code."""
        return self.error_code in (6000, 6001) or names_query_option(self)


class Unauthorized(SpirisApiError):
    """401: the access token was missing, expired or revoked, and renewing it did not help."""


class ForbiddenReason(enum.StrEnum):
    """Why Spiris refused access (403), grouped by what a person has to do about it."""

    COMPANY_STATE = "company_state"  # finish the startup guide, activate the company, accept the licence
    PERMISSION = "permission"  # the consenting user lacks rights in the company
    MODULE = "module"  # the company lacks the API/bookkeeping module or product variant
    SCOPE = "scope"  # the token lacks a scope: consent again with the right scopes
    UNKNOWN = "unknown"


_COMPANY_STATE_CODES = frozenset({4003, 4004, 4012})
_PERMISSION_CODES = frozenset({4005, 4007, 4011, 4019})
_MODULE_CODES = frozenset({4002, 4009})
_SCOPE_CODES = frozenset({4006})

_GUIDANCE = {
    ForbiddenReason.COMPANY_STATE: (
        "The Spiris company is not usable yet: complete the startup guide, accept the licence agreement or "
        "reactivate the company in Spiris, then retry."
    ),
    ForbiddenReason.PERMISSION: (
        "The Spiris user who consented lacks access to this company (program permission 'Full access' is "
        "needed); fix the permission or consent again with another user."
    ),
    ForbiddenReason.MODULE: (
        "The Spiris company lacks the API module (often: the wrong, default company was connected); consent "
        "again and pick the right company."
    ),
    ForbiddenReason.SCOPE: "The connection lacks a required permission scope; consent again.",
    ForbiddenReason.UNKNOWN: "Spiris refused access to this resource.",
}


class Forbidden(SpirisApiError):
    """403: the company state, the user's permissions, the company's modules or the token's scopes forbid
    it."""

    @property
    def reason(self) -> ForbiddenReason:
        code = self.error_code
        if code in _COMPANY_STATE_CODES:
            return ForbiddenReason.COMPANY_STATE
        if code in _SCOPE_CODES:
            return ForbiddenReason.SCOPE
        # "No access to module" arrives with various codes (4002 is shared with another meaning), so the
        # message decides before the permission codes do.
        if "no access to module" in (self.developer_message or "").lower() or code in _MODULE_CODES:
            return ForbiddenReason.MODULE
        if code in _PERMISSION_CODES:
            return ForbiddenReason.PERMISSION
        return ForbiddenReason.UNKNOWN

    @property
    def is_company_state(self) -> bool:
        return self.reason is ForbiddenReason.COMPANY_STATE

    @property
    def is_permission(self) -> bool:
        return self.reason is ForbiddenReason.PERMISSION

    @property
    def is_module(self) -> bool:
        return self.reason is ForbiddenReason.MODULE

    @property
    def is_scope(self) -> bool:
        return self.reason is ForbiddenReason.SCOPE

    @property
    def guidance(self) -> str:
        """A sentence a person can act on."""
        return _GUIDANCE[self.reason]


NOT_FOUND_CODES = frozenset({3000, 3001, 3002, 5007})
"""ResourceNotFound, FiscalYearDoesNotExist, AccountNotFound, ItemToAttachNotFound."""


class NotFound(SpirisApiError):
    """The resource does not exist: a 404, or any answer carrying a not-found ErrorCode (3000-3002, 5007) —
    where the spec declares no 404 (`/attachments/{id}`, `/customerinvoices/{id}/pdf`, ...) Spiris is believed
    to answer 400 with ErrorCode 3000, so `status` may be 400."""


class RateLimited(SpirisApiError):
    """429 that outlasted the bounded waits. `retry_after` is Spiris' advised wait in seconds, when known."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        super().__init__(**kwargs)


class ServerError(SpirisApiError):
    """5xx from Spiris. Retried by the client; surfaces as the cause of `SpirisUnavailable`."""


class SpirisUnavailable(SpirisError):
    """Spiris could not be reached, timed out or kept answering 5xx after the bounded retries.

    `attempts` is the number of requests sent for the call; the last underlying error is `__cause__`.
    """

    def __init__(self, message: str, *, attempts: int) -> None:
        self.attempts = attempts
        super().__init__(message)


class OAuthError(SpirisError):
    """The identity server refused a token request for a reason other than a dead grant."""

    def __init__(self, *, error: str, description: str | None = None, status: int | None = None) -> None:
        self.error = error
        self.description = redact(description) if description else None
        self.status = status
        text = f"Spiris identity server refused the token request: {error}"
        if self.description:
            text += f" ({self.description})"
        super().__init__(text)


class ConsentRequired(SpirisError):
    """`invalid_grant`: the refresh token (or code) is used, revoked or expired — the client must consent
    again.

    Never retry this in a loop: after a password change, a revoked integration or a reused rotated refresh
    token, only a person completing the consent flow again restores the connection. Deliberately not an
    `OAuthError`, so a handler for "misconfigured client" cannot swallow it.
    """

    def __init__(self, *, description: str | None = None, status: int | None = None) -> None:
        self.error = "invalid_grant"
        self.description = redact(description) if description else None
        self.status = status
        text = "Spiris refused the grant (invalid_grant): the client must consent again"
        if self.description:
            text += f" ({self.description})"
        super().__init__(text)


class DownloadError(SpirisError):
    """A temporary-URL download failed or was short (never returned silently truncated)."""


class DownloadExpired(DownloadError):
    """The temporary URL kept answering 403/404/410 even after fetching fresh URLs."""


class DownloadRefused(DownloadError):
    """The link (or a redirect hop) points where the worker must not go: not https, a host off the
    allow-list, or a loopback/private/link-local address. Never retried."""


class DownloadTooLarge(DownloadError):
    """The document is larger than the configured cap (decoded bytes). Never retried."""


def api_error_for(status: int, error_code: int | None) -> type[SpirisApiError]:
    """The `SpirisApiError` subclass for an answer: a not-found ErrorCode wins over a 400 status."""
    if error_code in NOT_FOUND_CODES and status in (400, 404):
        return NotFound
    return api_error_for_status(status)


def api_error_for_status(status: int) -> type[SpirisApiError]:
    """The `SpirisApiError` subclass for an HTTP status."""
    if status == 400:
        return BadRequest
    if status == 401:
        return Unauthorized
    if status == 403:
        return Forbidden
    if status == 404:
        return NotFound
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return SpirisApiError
