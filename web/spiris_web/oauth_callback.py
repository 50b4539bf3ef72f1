"""`GET /oauth/callback`: finish the consent, and `GET /result/{token}`: show its result again.

Order matters and every step can only refuse: verify the state (signature, expiry), bind it to this browser
(cookie nonce) and recover the PKCE verifier from the encrypted flow cookie (clearing it: one attempt per
flow), honour `error=access_denied`, re-check that the link is still current and unused, exchange the code,
read the company settings, refuse a company other than `spec.expectedCorporateIdentityNumber`, check the
company's state, product variant and a probe voucher page (`company_checks`), and only then write the token
Secret — over exactly the version checked at the start, so of two consents racing on one link the second gets
the "already connected" page, changes nothing and is recorded as an unused grant for the operator to surface;
a consent refused after Spiris granted it (the wrong company, a company check) is recorded too, as a Warning
Event on the connection. Whatever fails, no token is written and the page says what to do next. No code, token
or state value is ever logged or rendered.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spiris_client.errors import (
    ConsentRequired,
    Forbidden,
    ForbiddenReason,
    OAuthError,
    SpirisError,
    SpirisUnavailable,
    Unauthorized,
)
from spiris_client.oauth import TokenSet
from spiris_connection.company_identity import CompanyIdentity
from spiris_connection.orgnr import normalise as normalise_orgnr
from spiris_connection.orgnr import same_company
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from spiris_web.browser_binding import BROWSER_COOKIE
from spiris_web.company_checks import CompanyRefused, CompanyState, check_company
from spiris_web.connections import (
    AlreadyConnected,
    GrantInfo,
    KubernetesUnavailable,
    SecretChangedConcurrently,
)
from spiris_web.consent_pages import expected_orgnr
from spiris_web.link_validation import CheckedFlow, LinkRefused, recheck_for_state
from spiris_web.logging_json import logger
from spiris_web.oauth_state import FLOW_COOKIE, StateClaims, StateError, StateExpired
from spiris_web.outcomes import Outcome
from spiris_web.result_link import ResultLinkInvalid
from spiris_web.web_context import WebContext

__all__ = ["callback_routes", "complete_consent", "normalise_orgnr"]

#: Company-check refusals after which Spiris' grant stays live (not a Spiris outage, not a rejected token).
_GRANT_LIVE_REFUSALS = frozenset({
    Outcome.MISSING_PERMISSION, Outcome.MISSING_MODULE, Outcome.VARIANT_WITHOUT_BOOKKEEPING,
    Outcome.COMPANY_INACTIVE,
})
_FORBIDDEN_OUTCOMES = {
    ForbiddenReason.PERMISSION: Outcome.MISSING_PERMISSION,
    ForbiddenReason.MODULE: Outcome.MISSING_MODULE,
    ForbiddenReason.COMPANY_STATE: Outcome.COMPANY_INACTIVE,
    ForbiddenReason.SCOPE: Outcome.AUTHORIZATION_FAILED,
    ForbiddenReason.UNKNOWN: Outcome.MISSING_PERMISSION,
}


class _Refused(Exception):
    """Internal: the callback stops with `outcome` (and display values for the page)."""

    def __init__(self, outcome: Outcome, reason: str, values: dict[str, str] | None = None) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.values = values or {}


def _identify(ctx: WebContext, *, code: str, verifier: str) -> tuple[TokenSet, CompanyIdentity]:
    """Exchange the code and read the company; translate Spiris failures into pages. Blocking."""
    try:
        token = ctx.spiris.exchange_code(code=code, code_verifier=verifier)
    except ConsentRequired:
        raise _Refused(Outcome.AUTHORIZATION_FAILED, "code refused (invalid_grant)") from None
    except OAuthError as exc:
        raise _Refused(Outcome.AUTHORIZATION_FAILED, f"token request refused ({exc.error})") from None
    except SpirisUnavailable:
        raise _Refused(Outcome.SPIRIS_UNAVAILABLE, "identity server unavailable") from None
    try:
        company = ctx.spiris.company_identity(token)
    except Forbidden as exc:
        outcome = _FORBIDDEN_OUTCOMES[exc.reason]
        raise _Refused(outcome, f"company settings forbidden ({exc.reason})") from None
    except Unauthorized:
        raise _Refused(Outcome.AUTHORIZATION_FAILED, "new token rejected by the API") from None
    except SpirisError as exc:
        reason = f"company settings failed ({type(exc).__name__})"
        raise _Refused(Outcome.SPIRIS_UNAVAILABLE, reason) from None
    return token, company


def complete_consent(
    ctx: WebContext, *, state: StateClaims, code: str, verifier: str
) -> tuple[Outcome, dict[str, str]]:
    """Everything after the state is bound to the browser. Blocking (Kubernetes, Spiris): run in a thread."""
    try:
        checked = recheck_for_state(ctx.store, state=state, signing_key=ctx.settings.link_keys)
        connection = checked.connection
        try:
            token, company = _identify(ctx, code=code, verifier=verifier)
        except _Refused as exc:
            if exc.outcome in _GRANT_LIVE_REFUSALS:  # Spiris granted, then refused its company settings
                _note_refused_grant(ctx, connection, None, exc.reason)
            raise
        values = {"company": company.name, "orgnr": company.corporate_identity_number}
        expected = expected_orgnr(connection)
        if expected and not same_company(company.corporate_identity_number, expected):
            _note_refused_grant(ctx, connection, company, "another company than expected was chosen")
            raise _Refused(Outcome.WRONG_COMPANY, "company differs from expectation", {
                **values, "expected_orgnr": expected,
            })
        try:
            outcome = _checked(ctx, token=token, company=company)
        except _Refused as exc:
            if exc.outcome in _GRANT_LIVE_REFUSALS:
                _note_refused_grant(ctx, connection, company, exc.reason)
            raise
        _store(ctx, checked=checked, token=token, state=state, company=company)
    except LinkRefused as exc:
        logger.info("callback link refused", extra={"reason": exc.reason, "outcome": exc.outcome.value,
                                                    "namespace": state.namespace, "connection": state.name})
        return exc.outcome, {}
    except _Refused as exc:
        logger.info("consent refused", extra={"reason": exc.reason, "outcome": exc.outcome.value,
                                              "namespace": state.namespace, "connection": state.name})
        return exc.outcome, exc.values
    except KubernetesUnavailable as exc:
        logger.error("consent could not be stored", extra={"cause": str(exc), "connection": state.name})
        return Outcome.SERVICE_UNAVAILABLE, {}
    ctx.metrics.tokens_stored.inc()
    logger.info("consent stored", extra={"namespace": state.namespace, "connection": state.name,
                                         "company_identifier": company.identifier})
    return outcome, values


def _note_refused_grant(
    ctx: WebContext, connection: Mapping[str, Any], company: CompanyIdentity | None, why: str
) -> None:
    """Spiris granted this consent and we refuse it: the grant stays live there, so leave a record
    (``company`` None: Spiris would not even name the company)."""
    grant = _grant_of(company) if company else GrantInfo(company="the company chosen at Spiris", orgnr="",
                                                             company_id="")
    ctx.store.record_refused_grant(connection=connection, grant=grant, why=why)


def _grant_of(company: CompanyIdentity) -> GrantInfo:
    return GrantInfo(
        company=company.name, orgnr=company.corporate_identity_number, company_id=company.identifier or ""
    )


def _checked(ctx: WebContext, *, token: TokenSet, company: CompanyIdentity) -> Outcome:
    """The company checks (state, variant, probe voucher page), Spiris failures translated into pages."""
    logger.info(
        "company checks",
        extra={
            "company_status": company.company_status,
            "product_variant": company.product_variant,
            "activated_modules": ",".join(company.activated_modules)[:200],
        },
    )
    state = CompanyState(
        company_status=company.company_status,
        product_variant=company.product_variant,
        activated_modules=company.activated_modules,
    )
    try:
        return check_company(state, lambda: ctx.spiris.probe_vouchers(token))
    except CompanyRefused as exc:
        raise _Refused(exc.outcome, exc.reason, {"company": company.name}) from None
    except Unauthorized:
        raise _Refused(Outcome.AUTHORIZATION_FAILED, "new token rejected by the voucher probe") from None
    except SpirisError as exc:
        raise _Refused(Outcome.SPIRIS_UNAVAILABLE, f"voucher probe failed ({type(exc).__name__})") from None


def _store(
    ctx: WebContext, *, checked: CheckedFlow, token: TokenSet, state: StateClaims, company: CompanyIdentity
) -> None:
    grant = _grant_of(company)
    try:
        ctx.store.store_consented_token(
            connection=checked.connection, token=token, link_jti=state.link_jti, state_jti=state.jti,
            checked=checked.record, grant=grant,
        )
    except AlreadyConnected:
        raise _Refused(Outcome.ALREADY_CONNECTED, "another consent was stored first", {
            "company": company.name, "orgnr": company.corporate_identity_number,
        }) from None
    except SecretChangedConcurrently:
        raise _Refused(Outcome.SERVICE_UNAVAILABLE, "token Secret changed concurrently") from None


def callback_routes(ctx: WebContext) -> list[Route]:
    """The callback and the result page behind its language switch."""

    def respond(request: Request, outcome: Outcome, values: dict[str, str], *, clear_flow: bool) -> Response:
        ctx.metrics.pages.labels(step="callback", outcome=outcome.value).inc()
        switch = f"/result/{ctx.results.issue(outcome, values)}"
        response = ctx.pages.outcome(request, outcome, switch_path=switch, values=values)
        if clear_flow:
            ctx.states.clear_flow_cookie(response)
        return response

    async def callback(request: Request) -> Response:
        params = request.query_params
        try:
            state = ctx.states.verify(params.get("state"))
            verifier = ctx.states.code_verifier_for(
                state,
                flow_cookie=request.cookies.get(FLOW_COOKIE),
                nonce=ctx.binding.read_nonce(request.cookies.get(BROWSER_COOKIE)),
            )
        except StateExpired:
            return respond(request, Outcome.STATE_EXPIRED, {}, clear_flow=True)
        except StateError as exc:
            logger.warning("callback state refused", extra={"reason": str(exc)})
            return respond(request, Outcome.STATE_INVALID, {}, clear_flow=False)
        error = params.get("error")
        if error:
            outcome = Outcome.DECLINED if error == "access_denied" else Outcome.AUTHORIZATION_FAILED
            logger.info("consent not given at Spiris", extra={"error": error[:64], "connection": state.name})
            return respond(request, outcome, {}, clear_flow=True)
        code = params.get("code")
        if not code:
            return respond(request, Outcome.AUTHORIZATION_FAILED, {}, clear_flow=True)
        outcome, values = await run_in_threadpool(
            complete_consent, ctx, state=state, code=code, verifier=verifier
        )
        return respond(request, outcome, values, clear_flow=True)

    async def result(request: Request) -> Response:
        try:
            outcome, values = ctx.results.read(str(request.path_params["token"]))
        except ResultLinkInvalid:
            outcome, values = Outcome.NOT_FOUND, {}
        switch = f"/result/{request.path_params['token']}"
        return ctx.pages.outcome(request, outcome, switch_path=switch, values=values)

    return [
        Route("/oauth/callback", callback, methods=["GET"]),
        Route("/result/{token}", result, methods=["GET"]),
    ]
