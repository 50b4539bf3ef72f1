"""The test/admin control API under `/_sandbox/` (JSON, no auth; the sandbox only ever binds 127.0.0.1).

Seeded truth (companies, users, per-account sums), statistics, the clock, fault switches, rate-limit settings,
data changes for incremental-sync tests, token revocation ("password changed") and a shortcut that issues
tokens without the browser flow. Routes and payloads are listed in docs/architecture.md ("Sandbox").
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spiris_sandbox.balances import truth
from spiris_sandbox.clock import format_utc
from spiris_sandbox.company_data import PRODUCT_VARIANTS, CompanyData
from spiris_sandbox.data_changes import add_vouchers, change_vouchers, company_summary, delete_attachment
from spiris_sandbox.identity_store import Grant
from spiris_sandbox.state import SandboxState


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:
        return {}
    payload = json.loads(raw)
    if not isinstance(payload, dict):
        raise ValueError("expected a JSON object")
    return payload


def _bad(message: str, status: int = 400) -> Response:
    return JSONResponse({"error": message}, status_code=status)


async def _books(request: Request, state: SandboxState) -> CompanyData | None:
    """The books of the path's `{number}` company (built in a thread on first use), or None if unknown."""
    try:
        number = int(request.path_params["number"])
    except ValueError:
        return None
    if number not in state.world.profiles:
        return None
    return await asyncio.to_thread(state.world.company, number)


async def companies(request: Request) -> Response:
    state = _state(request)
    summaries = []
    for number in state.world.profiles:
        books = await asyncio.to_thread(state.world.company, number)
        summaries.append(company_summary(books))
    return JSONResponse(summaries)


async def company(request: Request) -> Response:
    state = _state(request)
    books = await _books(request, state)
    if books is None:
        return _bad("unknown company", 404)
    return JSONResponse(company_summary(books))


async def users(request: Request) -> Response:
    state = _state(request)
    return JSONResponse(
        [
            {
                "id": user.id,
                "email": user.email,
                "password": user.password,
                "name": user.name,
                "companies": user.companies,
                "permissions": {str(k): v for k, v in user.permissions.items()},
                "default_company": user.default_company,
            }
            for user in state.world.users
        ]
    )


async def seeded_truth(request: Request) -> Response:
    state = _state(request)
    books = await _books(request, state)
    if books is None:
        return _bad("unknown company", 404)
    year = books.fiscal_year(str(request.path_params["fiscal_year_id"]).lower())
    if year is None:
        return _bad("unknown fiscal year", 404)
    with books.lock:
        return JSONResponse(truth(books, year))


async def stats(request: Request) -> Response:
    return JSONResponse(_state(request).stats.snapshot())


async def stats_reset(request: Request) -> Response:
    _state(request).stats.reset()
    return JSONResponse({"ok": True})


def _clock_body(state: SandboxState) -> dict[str, Any]:
    return {"now": format_utc(state.clock.now()), "epoch": state.clock.time()}


async def clock(request: Request) -> Response:
    state = _state(request)
    if request.method == "POST":
        try:
            body = await _body(request)
            state.clock.advance(float(body.get("advance_seconds", 0)))
        except (ValueError, TypeError) as exc:
            return _bad(str(exc))
    return JSONResponse(_clock_body(state))


def _apply_company_state(state: SandboxState, change: dict[str, Any]) -> None:
    number = int(change["number"])
    profile = state.world.profiles[number]
    for name in ("has_api_module", "active", "startup_guide_completed", "licence_accepted"):
        if name in change:
            setattr(profile, name, bool(change[name]))
    if "company_status" in change:
        status = int(change["company_status"])
        if status not in (0, 1, 2):
            raise ValueError("company_status must be 0 (Inactive), 1 (Active) or 2 (ReadOnly)")
        profile.active = status != 0
        profile.read_only = status == 2
    if "product_variant" in change:
        variant = int(change["product_variant"])
        if variant not in PRODUCT_VARIANTS:
            raise ValueError(f"product_variant must be one of {sorted(PRODUCT_VARIANTS)}")
        profile.product_variant = variant
    profile.sync_settings()
    if "permission" in change:
        permission = str(change["permission"])
        if permission not in ("full", "readonly", "none"):
            raise ValueError("permission must be full, readonly or none")
        user = state.world.user_by_email(str(change.get("email", state.world.users[0].email)))
        if user is None:
            raise ValueError("unknown user")
        user.permissions[number] = permission


def _revoke(state: SandboxState, email: str) -> bool:
    user = state.world.user_by_email(email)
    if user is None:
        return False
    user.token_generation += 1
    return True


async def faults(request: Request) -> Response:
    state = _state(request)
    if request.method == "DELETE":
        state.faults.clear()
    elif request.method == "POST":
        try:
            body = await _body(request)
            state.faults.update(body)
            if body.get("expire_links"):
                state.links.expire_all(now=state.clock.time())
            if "revoke_user" in body and not _revoke(state, str(body["revoke_user"])):
                return _bad("unknown user", 404)
            for change in body.get("companies", []) + ([body["company"]] if "company" in body else []):
                _apply_company_state(state, change)
            if "rate_limit_per_minute" in body:
                state.limiter.per_minute = int(body["rate_limit_per_minute"])
            if "retry_after_header" in body:
                state.retry_after_header = bool(body["retry_after_header"])
            if "download_ttl_seconds" in body:
                state.links.ttl_seconds = int(body["download_ttl_seconds"])
        except (ValueError, TypeError, KeyError) as exc:
            return _bad(f"invalid fault payload: {exc}")
    return JSONResponse(
        {
            **state.faults.snapshot(),
            "rate_limit_per_minute": state.limiter.per_minute,
            "retry_after_header": state.retry_after_header,
            "download_ttl_seconds": state.links.ttl_seconds,
        }
    )


async def quirks(request: Request) -> Response:
    """`GET|POST /_sandbox/quirks`: the production-quirk switches (`POST {"unstable_ties": false, ...}`)."""
    state = _state(request)
    if request.method == "POST":
        try:
            state.quirks.update(await _body(request))
        except (ValueError, TypeError) as exc:
            return _bad(f"invalid quirks payload: {exc}")
    return JSONResponse(state.quirks.snapshot())


async def rate_limit(request: Request) -> Response:
    state = _state(request)
    try:
        body = await _body(request)
        if "per_minute" in body:
            state.limiter.per_minute = int(body["per_minute"])
        if "retry_after_header" in body:
            state.retry_after_header = bool(body["retry_after_header"])
        if body.get("reset"):
            state.limiter.reset()
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return JSONResponse(
        {"per_minute": state.limiter.per_minute, "retry_after_header": state.retry_after_header}
    )


async def revoke_user(request: Request) -> Response:
    if not _revoke(_state(request), str(request.path_params["email"])):
        return _bad("unknown user", 404)
    return JSONResponse({"ok": True})


async def issue_tokens(request: Request) -> Response:
    """Tokens without the browser: `{company, scope?, email?}` → the same JSON `/connect/token` returns."""
    state = _state(request)
    try:
        body = await _body(request)
        number = int(body.get("company", 1))
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    user = state.world.user_by_email(str(body.get("email", state.world.users[0].email)))
    if user is None or number not in user.companies:
        return _bad("unknown user or company not accessible to the user", 404)
    scope = str(
        body.get(
            "scope", "ea:api offline_access ea:accounting_readonly ea:sales_readonly ea:purchase_readonly"
        )
    )
    grant = Grant(
        client_id=str(body.get("client_id", state.config.client_id)),
        user_id=user.id,
        company=number,
        scopes=frozenset(scope.split()),
    )
    return JSONResponse(
        state.identity.issue_tokens(grant=grant, now=state.clock.time(), generation=user.token_generation)
    )


async def change(request: Request) -> Response:
    state = _state(request)
    books = await _books(request, state)
    if books is None:
        return _bad("unknown company", 404)
    try:
        body = await _body(request)
        ids = change_vouchers(
            books,
            clock=state.clock,
            count=int(body.get("count", 0)),
            ids=body.get("ids"),
            fiscal_year_id=body.get("fiscal_year_id"),
        )
    except KeyError as exc:
        return _bad(f"not found: {exc}", 404)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return JSONResponse({"changed": ids})


async def add(request: Request) -> Response:
    state = _state(request)
    books = await _books(request, state)
    if books is None:
        return _bad("unknown company", 404)
    try:
        body = await _body(request)
        with_attachments = body.get("with_attachments")
        ids = add_vouchers(
            books,
            clock=state.clock,
            seed=state.config.seed,
            count=int(body.get("count", 1)),
            with_attachments=None if with_attachments is None else bool(with_attachments),
            fiscal_year_id=body.get("fiscal_year_id"),
            documents_ratio=state.config.documents_ratio,
        )
    except KeyError as exc:
        return _bad(f"not found: {exc}", 404)
    except (ValueError, TypeError) as exc:
        return _bad(str(exc))
    return JSONResponse({"added": ids})


async def remove_attachment(request: Request) -> Response:
    state = _state(request)
    books = await _books(request, state)
    if books is None:
        return _bad("unknown company", 404)
    unlink = request.query_params.get("unlink", "false").lower() in ("true", "1")
    if not delete_attachment(
        books, str(request.path_params["attachment_id"]), unlink=unlink, clock=state.clock
    ):
        return _bad("unknown attachment", 404)
    return JSONResponse({"deleted": True})


def control_routes() -> list[Route]:
    return [
        Route("/_sandbox/companies", companies, methods=["GET"]),
        Route("/_sandbox/companies/{number}", company, methods=["GET"]),
        Route("/_sandbox/companies/{number}/vouchers/change", change, methods=["POST"]),
        Route("/_sandbox/companies/{number}/vouchers/add", add, methods=["POST"]),
        Route(
            "/_sandbox/companies/{number}/attachments/{attachment_id}", remove_attachment, methods=["DELETE"]
        ),
        Route("/_sandbox/users", users, methods=["GET"]),
        Route("/_sandbox/users/{email}/revoke", revoke_user, methods=["POST"]),
        Route("/_sandbox/truth/{number}/{fiscal_year_id}", seeded_truth, methods=["GET"]),
        Route("/_sandbox/stats", stats, methods=["GET"]),
        Route("/_sandbox/stats/reset", stats_reset, methods=["POST"]),
        Route("/_sandbox/clock", clock, methods=["GET", "POST"]),
        Route("/_sandbox/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sandbox/quirks", quirks, methods=["GET", "POST"]),
        Route("/_sandbox/ratelimit", rate_limit, methods=["POST"]),
        Route("/_sandbox/tokens", issue_tokens, methods=["POST"]),
    ]
