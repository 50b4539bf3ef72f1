"""Spiris (formerly Visma eEkonomi) API client: OAuth, the typed read API, paging, retries and downloads.

The public surface is re-exported here; the modules behind it each hold one concern (`oauth`, `tokens`,
`transport`, `api`, `paging`, `models`, `downloads`, `errors`, `ratelimit`, `redaction`). It imports nothing
else of ours.
"""

from spiris_client.api import PRODUCTION_API_URL, SANDBOX_API_URL, SpirisApi
from spiris_client.backoff import RetryPolicy, parse_retry_after, parse_try_again_seconds
from spiris_client.call_counter import CallCounter, EndpointCalls
from spiris_client.downloads import Downloader
from spiris_client.errors import (
    BadRequest,
    ConsentRequired,
    DownloadError,
    DownloadExpired,
    Forbidden,
    ForbiddenReason,
    NotFound,
    OAuthError,
    RateLimited,
    ServerError,
    SpirisApiError,
    SpirisError,
    SpirisUnavailable,
    Unauthorized,
)
from spiris_client.models import (
    ATTACHED_DOCUMENT_TYPE_NAMES,
    VOUCHER_TYPE_NAMES,
    Account,
    AccountBalance,
    Attachment,
    AttachmentLink,
    CompanySettings,
    CustomerInvoice,
    CustomerInvoiceRow,
    DocumentInfo,
    FiscalYear,
    Meta,
    Page,
    SupplierInvoice,
    SupplierInvoiceRow,
    Voucher,
    VoucherRow,
)
from spiris_client.oauth import (
    DEFAULT_SCOPES,
    PRODUCTION_IDENTITY_URL,
    SANDBOX_IDENTITY_URL,
    SpirisOAuth,
    TokenSet,
    new_code_verifier,
)
from spiris_client.paging import MAX_PAGE_SIZE
from spiris_client.ratelimit import NoRateLimit, RateLimiter, endpoint_template
from spiris_client.redaction import RedactingFilter, install_log_redaction, redact, redact_url
from spiris_client.tokens import FileTokenProvider, StaticTokenProvider, TokenProvider

__all__ = [
    "ATTACHED_DOCUMENT_TYPE_NAMES",
    "DEFAULT_SCOPES",
    "MAX_PAGE_SIZE",
    "PRODUCTION_API_URL",
    "PRODUCTION_IDENTITY_URL",
    "SANDBOX_API_URL",
    "SANDBOX_IDENTITY_URL",
    "VOUCHER_TYPE_NAMES",
    "Account",
    "AccountBalance",
    "Attachment",
    "AttachmentLink",
    "BadRequest",
    "CallCounter",
    "CompanySettings",
    "ConsentRequired",
    "CustomerInvoice",
    "CustomerInvoiceRow",
    "DocumentInfo",
    "DownloadError",
    "DownloadExpired",
    "Downloader",
    "EndpointCalls",
    "FileTokenProvider",
    "FiscalYear",
    "Forbidden",
    "ForbiddenReason",
    "Meta",
    "NoRateLimit",
    "NotFound",
    "OAuthError",
    "Page",
    "RateLimited",
    "RateLimiter",
    "RedactingFilter",
    "RetryPolicy",
    "ServerError",
    "SpirisApi",
    "SpirisApiError",
    "SpirisError",
    "SpirisOAuth",
    "SpirisUnavailable",
    "StaticTokenProvider",
    "SupplierInvoice",
    "SupplierInvoiceRow",
    "TokenProvider",
    "TokenSet",
    "Unauthorized",
    "Voucher",
    "VoucherRow",
    "endpoint_template",
    "install_log_redaction",
    "new_code_verifier",
    "parse_retry_after",
    "parse_try_again_seconds",
    "redact",
    "redact_url",
]
