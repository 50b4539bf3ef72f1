"""What every `/v2` call passes before its handler: faults, bearer token, rate limit, company state, scopes.

Order: slow-response delay; bearer validation (401); per (client, path template) counting and the 429 limiter
(forced 429s first); injected 5xx; the company's state for the token's user (inactive 4004, startup guide
4003, licence 4012, no API module 4002, no access 4011, read-only permission 4007); the endpoint's scopes
(4006); the company's product variant (4009 where the variant lacks the endpoint's feature).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spiris_sandbox import errors
from spiris_sandbox.company_data import CompanyData
from spiris_sandbox.identity_store import AccessToken
from spiris_sandbox.seed import User
from spiris_sandbox.state import SandboxState

ACCOUNTING = frozenset({"ea:accounting", "ea:accounting_readonly"})
SALES = frozenset({"ea:sales", "ea:sales_readonly"})
SALES_FULL = frozenset({"ea:sales"})
PURCHASE = frozenset({"ea:purchase", "ea:purchase_readonly"})


@dataclass
class ApiContext:
    """A request that passed the guard: who asks, for which company, with which books."""

    request: Request
    state: SandboxState
    token: AccessToken
    user: User
    books: CompanyData

    @property
    def company_number(self) -> int:
        return self.books.profile.number


ApiHandler = Callable[[ApiContext], Awaitable[Response]]


def _bearer(request: Request, state: SandboxState) -> AccessToken | Response:
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("bearer "):
        return errors.unauthorized("missing bearer token")
    token = state.identity.access_token(header[7:].strip())
    if token is None:
        return errors.unauthorized("unknown token")
    if token.expires_at <= state.clock.time():
        return errors.unauthorized("token expired")
    user = state.world.user_by_id(token.grant.user_id)
    if user is None or user.token_generation != token.generation:
        return errors.unauthorized("token revoked")
    return token


def _company_state(state: SandboxState, user: User, company: int) -> Response | None:
    profile = state.world.profiles[company]
    if not profile.active:
        return errors.api_error(
            403, errors.COMPANY_NOT_ACTIVE, "ForbiddenRequestException - The company is not active."
        )
    if not profile.startup_guide_completed:
        return errors.api_error(
            403,
            errors.STARTUP_GUIDE_NOT_COMPLETED,
            "ForbiddenRequestException - The startup guide is not completed.",
        )
    if not profile.licence_accepted:
        return errors.api_error(
            403,
            errors.LICENCE_AGREEMENT_NOT_ACCEPTED,
            "ForbiddenRequestException - The licence agreement has not been accepted.",
        )
    if not profile.has_api_module:
        return errors.api_error(
            403, errors.NO_ACCESS_TO_MODULE, "ForbiddenRequestException - No access to module: api_standard"
        )
    permission = user.permissions.get(company, "none")
    if permission == "none":
        return errors.api_error(
            403,
            errors.NO_ACCESS_FOR_AUTHENTICATED_USER,
            "ForbiddenRequestException - The authenticated user does not have access to eAccounting "
            "for this company.",
        )
    if permission != "full":
        return errors.api_error(
            403,
            errors.PERMISSION_DENIED,
            "ForbiddenRequestException - The user does not have permission for this resource.",
        )
    return None


def _variant(state: SandboxState, company: int, feature: str | None) -> Response | None:
    profile = state.world.profiles[company]
    if feature is None or not profile.lacks(feature):
        return None
    return errors.api_error(
        403,
        errors.NO_ACCESS_DUE_TO_PRODUCT_VARIANT,
        "ForbiddenRequestException - The company's product variant does not include this functionality.",
    )


async def _guarded(
    request: Request,
    *,
    template: str,
    scopes: frozenset[str],
    handler: ApiHandler,
    feature: str | None = None,
) -> Response:
    state: SandboxState = request.app.state.sandbox
    if state.faults.slow_ms > 0:
        await asyncio.sleep(state.faults.slow_ms / 1000)
    token = _bearer(request, state)
    if isinstance(token, Response):
        return token
    client_id = token.grant.client_id
    state.stats.request(client_id, template)
    per_minute = state.limiter.per_minute
    if state.faults.take_forced_429():
        state.stats.throttled(client_id, template)
        return errors.rate_limited(
            per_minute=per_minute, retry_seconds=1, retry_after_header=state.retry_after_header
        )
    wait = state.limiter.admit(client_id=client_id, template=template)
    if wait is not None:
        state.stats.throttled(client_id, template)
        return errors.rate_limited(
            per_minute=per_minute, retry_seconds=wait, retry_after_header=state.retry_after_header
        )
    if state.faults.take_server_error():
        code = state.faults.server_error_code
        message = (
            "Internal server error."
            if code == errors.INTERNAL_SERVER_ERROR
            else "Can't reach system dependency."
        )
        return errors.api_error(state.faults.server_error_status, code, message)
    user = state.world.user_by_id(token.grant.user_id)
    if user is None:
        return errors.unauthorized("unknown user")
    refused = _company_state(state, user, token.grant.company)
    if refused is not None:
        return refused
    if "ea:api" not in token.grant.scopes or not (scopes & token.grant.scopes):
        return errors.api_error(
            403,
            errors.NO_ACCESS_TO_SCOPES,
            f"No access to scopes. This endpoint requires one of: {', '.join(sorted(scopes))}.",
        )
    refused = _variant(state, token.grant.company, feature)
    if refused is not None:
        return refused
    books = await asyncio.to_thread(state.world.company, token.grant.company)
    return await handler(ApiContext(request=request, state=state, token=token, user=user, books=books))


def api_route(
    template: str, handler: ApiHandler, *, scopes: frozenset[str], feature: str | None = None
) -> Route:
    """A GET route under the guard; `template` is both the route path and the rate-limit bucket; `feature`
    ("ledger", "sales", "purchase") is what a product variant may lack."""

    async def endpoint(request: Request) -> Response:
        return await _guarded(request, template=template, scopes=scopes, handler=handler, feature=feature)

    return Route(template, endpoint, methods=["GET"])
