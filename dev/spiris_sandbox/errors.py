"""The Spiris error envelope `{ErrorCode, DeveloperErrorMessage, ErrorId, Errors?}` and the codes the sandbox
uses.

Every 400/403/404/429/5xx from `/v2` goes through `api_error`, so the shape cannot drift between endpoints.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import Response

from spiris_sandbox.json_response import ApiJSONResponse, encode_json

DATA_MODEL_VALIDATION_ERROR = 2000
RESOURCE_NOT_FOUND = 3000
FISCAL_YEAR_DOES_NOT_EXIST = 3001
ACCOUNT_NOT_FOUND = 3002
NO_ACCESS_TO_MODULE = 4002
STARTUP_GUIDE_NOT_COMPLETED = 4003
COMPANY_NOT_ACTIVE = 4004
NO_ACCESS_TO_SCOPES = 4006
PERMISSION_DENIED = 4007
NO_ACCESS_DUE_TO_PRODUCT_VARIANT = 4009
TOO_MANY_REQUESTS = 4010
NO_ACCESS_FOR_AUTHENTICATED_USER = 4011
LICENCE_AGREEMENT_NOT_ACCEPTED = 4012
INTERNAL_SERVER_ERROR = 5000
CANT_REACH_SYSTEM_DEPENDENCY = 5001
QUERY_PARAMETER_ERROR = 6000
INVALID_INPUT = 6001


def error_body(code: int, message: str, *, errors: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"ErrorCode": code, "DeveloperErrorMessage": message, "ErrorId": str(uuid.uuid4())}
    if errors is not None:
        body["Errors"] = errors
    return body


def api_error(
    status: int,
    code: int,
    message: str,
    *,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error response in the Spiris envelope."""
    return ApiJSONResponse(error_body(code, message, errors=errors), status_code=status, headers=headers)


def not_found(code: int, message: str, *, declared_404: bool, as_400: bool) -> Response:
    """A missing resource: 404 where the spec declares one, else (with the `not_found_as_400` quirk) the 400
    production is believed to send, carrying the same ResourceNotFound-family ErrorCode."""
    return api_error(400 if as_400 and not declared_404 else 404, code, message)


def rate_limited(*, per_minute: int, retry_seconds: int, retry_after_header: bool) -> Response:
    """The documented 429: exact content type and message, `Retry-After` only when switched on."""
    message = (
        f"API calls quota exceeded! maximum admitted {per_minute} per Minute. "
        f"Try again in {retry_seconds} seconds."
    )
    headers = {"Retry-After": str(retry_seconds)} if retry_after_header else None
    return Response(
        encode_json(error_body(TOO_MANY_REQUESTS, message)),
        status_code=429,
        headers=headers,
        media_type="application/json;charset=UTF-8",
    )


def unauthorized(description: str) -> Response:
    """401 for a missing, invalid, expired or revoked bearer token (empty body, RFC 6750 header)."""
    return Response(
        b"",
        status_code=401,
        headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{description}"'},
    )
