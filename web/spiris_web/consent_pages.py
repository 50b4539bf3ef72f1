"""`GET /consent/{token}` (the explanation page) and `POST /consent/{token}` (off to Spiris).

The GET verifies the link against the live SpirisConnection, binds the browser with the signed cookie and
renders the explanation with a CSRF token tied to that cookie and this link. The POST re-verifies everything,
mints the OAuth state and PKCE pair (verifier encrypted into a callback-scoped cookie) and answers with a 303
to the configured Spiris authorize endpoint — the only external redirect this component ever sends.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from spiris_client.oauth import DEFAULT_SCOPES
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from spiris_web.browser_binding import BROWSER_COOKIE, CsrfError
from spiris_web.connections import KubernetesUnavailable
from spiris_web.link_validation import CurrentLink, LinkRefused, resolve_link
from spiris_web.logging_json import logger
from spiris_web.outcomes import Outcome
from spiris_web.web_context import WebContext


def connection_scopes(connection: dict[str, Any]) -> Sequence[str]:
    """`spec.scopes` when set, else the read-only default; `ea:api` and `offline_access` always included."""
    requested = [str(s) for s in ((connection.get("spec") or {}).get("scopes") or DEFAULT_SCOPES)]
    for mandatory in ("offline_access", "ea:api"):
        if mandatory not in requested:
            requested.insert(0, mandatory)
    return requested


def display_name(connection: dict[str, Any]) -> str:
    spec = connection.get("spec") or {}
    return str(spec.get("displayName") or (connection.get("metadata") or {}).get("name") or "")


def expected_orgnr(connection: dict[str, Any]) -> str:
    return str((connection.get("spec") or {}).get("expectedCorporateIdentityNumber") or "")


def _format_expiry(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC")


async def _current_link(ctx: WebContext, request: Request, token: str) -> CurrentLink | Response:
    """The verified link, or the page explaining why it cannot be used."""
    try:
        return await run_in_threadpool(
            resolve_link, ctx.store, token=token, signing_key=ctx.settings.link_keys
        )
    except LinkRefused as exc:
        logger.info("consent link refused", extra={"reason": exc.reason, "outcome": exc.outcome.value})
        return _page(ctx, request, exc.outcome, token=token, step="consent")
    except KubernetesUnavailable as exc:
        logger.error("consent link check failed", extra={"cause": str(exc)})
        return _page(ctx, request, Outcome.SERVICE_UNAVAILABLE, token=token, step="consent")


def _page(ctx: WebContext, request: Request, outcome: Outcome, *, token: str, step: str) -> Response:
    ctx.metrics.pages.labels(step=step, outcome=outcome.value).inc()
    return ctx.pages.outcome(request, outcome, switch_path=f"/consent/{token}")


def consent_routes(ctx: WebContext) -> list[Route]:
    """The two consent endpoints."""

    async def show(request: Request) -> Response:
        token = str(request.path_params["token"])
        current = await _current_link(ctx, request, token)
        if isinstance(current, Response):
            return current
        nonce = ctx.binding.read_nonce(request.cookies.get(BROWSER_COOKIE))
        fresh_nonce = nonce is None
        if nonce is None:
            nonce = ctx.binding.new_nonce()
        connection = current.connection
        response = ctx.pages.render(
            request,
            template="consent.html",
            status_code=200,
            switch_path=f"/consent/{token}",
            values={
                "display_name": display_name(connection),
                "orgnr": expected_orgnr(connection),
                "expires": _format_expiry(current.claims.expires_at),
            },
            context={
                "display_name": display_name(connection),
                "orgnr": expected_orgnr(connection),
                "show_expiry": True,
                "form_action": f"/consent/{token}",
                "csrf_token": ctx.binding.issue_csrf_token(nonce=nonce, link_jti=current.claims.jti),
            },
        )
        if fresh_nonce:
            ctx.binding.set_cookie(response, nonce)
        ctx.metrics.pages.labels(step="consent", outcome="shown").inc()
        return response

    async def start(request: Request) -> Response:
        token = str(request.path_params["token"])
        current = await _current_link(ctx, request, token)
        if isinstance(current, Response):
            return current
        form = await request.form()
        csrf = form.get("csrf_token")
        nonce = ctx.binding.read_nonce(request.cookies.get(BROWSER_COOKIE))
        try:
            ctx.binding.verify_csrf_token(
                csrf if isinstance(csrf, str) else None, nonce=nonce, link_jti=current.claims.jti
            )
        except CsrfError as exc:
            logger.warning("consent form refused", extra={"reason": str(exc)})
            return _page(ctx, request, Outcome.FORM_EXPIRED, token=token, step="authorize")
        assert nonce is not None  # verify_csrf_token refuses a missing nonce
        claims = current.claims
        flow = ctx.states.start(
            namespace=claims.namespace, name=claims.name, uid=claims.uid, link_jti=claims.jti, nonce=nonce
        )
        url = ctx.spiris.authorization_url(
            state=flow.state, code_verifier=flow.code_verifier, scopes=connection_scopes(current.connection)
        )
        if not url.startswith(ctx.settings.authorize_url + "?"):
            # Defence in depth: nothing but the configured authorize endpoint may ever be a redirect target.
            logger.error("authorize URL outside the configured identity host; refusing to redirect")
            return _page(ctx, request, Outcome.SERVICE_UNAVAILABLE, token=token, step="authorize")
        response = RedirectResponse(url, status_code=303)
        ctx.states.set_flow_cookie(response, flow)
        ctx.metrics.authorize_redirects.inc()
        logger.info(
            "sent to Spiris authorize", extra={"namespace": claims.namespace, "connection": claims.name}
        )
        return response

    return [
        Route("/consent/{token}", show, methods=["GET"]),
        Route("/consent/{token}", start, methods=["POST"]),
    ]

