"""The identity server: `GET /connect/authorize` (login, company picker, consent) and `POST /connect/token`.

Authorize validates client, exact redirect URI, `response_type=code` and `ea:api`; with `--auto-approve N` it
redirects straight back with a code for company N of the demo user. Otherwise the user logs in, picks a
company (skipped when the user has a default company unless `prompt=select_account` or
`forceselectcompany:true` asks for it — the §5.5 trap), and allows or denies the listed scopes. The token
endpoint speaks form-encoded OAuth2 with Basic (or body) client authentication, single-use codes, PKCE and
rotating refresh tokens.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from spiris_sandbox.identity_store import Grant, TokenError
from spiris_sandbox.seed import User
from spiris_sandbox.signed_values import sign, unsign
from spiris_sandbox.state import SandboxState

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
SESSION_COOKIE = "sandbox_idsrv_session"
FLOW_SECONDS = 900
SESSION_SECONDS = 8 * 3600

SCOPE_TEXTS: dict[str, str] = {
    "ea:api": "Åtkomst till Bokföring & Fakturering via API",
    "offline_access": "Åtkomst även när du inte är inloggad",
    "ea:accounting": "Läsa och ändra bokföringen",
    "ea:accounting_readonly": "Läsa bokföringen (verifikationer, konton, bilagor)",
    "ea:sales": "Läsa och ändra försäljning (kundfakturor, företagsinställningar)",
    "ea:sales_readonly": "Läsa försäljning (kundfakturor, företagsinställningar)",
    "ea:purchase": "Läsa och ändra inköp (leverantörsfakturor, bilagor)",
    "ea:purchase_readonly": "Läsa inköp (leverantörsfakturor, bilagor)",
    "vls:api": "Åtkomst till Lön Smart via API",
}
KNOWN_SCOPES = frozenset(SCOPE_TEXTS) | {"openid", "profile", "email"}


def _state(request: Request) -> SandboxState:
    state: SandboxState = request.app.state.sandbox
    return state


def _with_query(uri: str, params: dict[str, str]) -> str:
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True) + list(params.items())
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))


def _error_page(request: Request, message: str, code: str, status: int = 400) -> Response:
    return TEMPLATES.TemplateResponse(
        request, "error.html", {"message": message, "code": code}, status_code=status
    )


def _redirect_error(params: dict[str, str], error: str, description: str) -> Response:
    values = {"error": error, "error_description": description}
    if params.get("state"):
        values["state"] = params["state"]
    return RedirectResponse(_with_query(params["redirect_uri"], values), status_code=302)


def _validate(request: Request, params: dict[str, str]) -> Response | None:
    """An error response for an invalid authorize request, or None when it may proceed."""
    config = _state(request).config
    if params.get("client_id") != config.client_id:
        return _error_page(request, "Okänd klient (client_id).", "invalid_client")
    if params.get("redirect_uri") not in config.redirect_uris:
        return _error_page(request, "redirect_uri är inte registrerad för klienten.", "invalid_request")
    if params.get("response_type") != "code":
        return _redirect_error(params, "unsupported_response_type", "Only response_type=code is supported.")
    scopes = set(params.get("scope", "").split())
    if "ea:api" not in scopes:
        return _redirect_error(params, "invalid_scope", "The scope ea:api is required.")
    if not scopes <= KNOWN_SCOPES:
        return _redirect_error(params, "invalid_scope", "Unknown scope requested.")
    method = params.get("code_challenge_method")
    if params.get("code_challenge") and method not in (None, "S256", "plain"):
        return _redirect_error(params, "invalid_request", "Unsupported code_challenge_method.")
    return None


def _issue_and_redirect(request: Request, params: dict[str, str], user: User, company: int) -> Response:
    state = _state(request)
    grant = Grant(
        client_id=params["client_id"],
        user_id=user.id,
        company=company,
        scopes=frozenset(params.get("scope", "").split()),
    )
    challenge = params.get("code_challenge") or None
    code = state.identity.issue_code(
        grant=grant,
        redirect_uri=params["redirect_uri"],
        now=state.clock.time(),
        generation=user.token_generation,
        code_challenge=challenge,
        code_challenge_method=(params.get("code_challenge_method") or "plain") if challenge else None,
    )
    values = {"code": code}
    if params.get("state"):
        values["state"] = params["state"]
    return RedirectResponse(_with_query(params["redirect_uri"], values), status_code=302)


def _wants_picker(params: dict[str, str]) -> bool:
    prompt = params.get("prompt", "").replace("+", " ").split()
    acr = params.get("acr_values", "").replace("+", " ").lower().split()
    return "select_account" in prompt or "forceselectcompany:true" in acr


def _sign_flow(state: SandboxState, payload: dict[str, Any]) -> str:
    return sign(payload, key=state.signing_key, expires_at=state.clock.time() + FLOW_SECONDS)


def _session_user(request: Request) -> User | None:
    state = _state(request)
    raw = request.cookies.get(SESSION_COOKIE)
    session = unsign(raw, key=state.signing_key, now=state.clock.time()) if raw else None
    if session is None:
        return None
    return state.world.user_by_id(str(session.get("uid")))


def _after_login(request: Request, params: dict[str, str], user: User) -> Response:
    state = _state(request)
    companies = user.companies
    if len(companies) == 1:
        return _consent(request, params, user, companies[0])
    if not _wants_picker(params) and user.default_company in companies:
        return _consent(request, params, user, user.default_company)
    listing = [state.world.profiles[number] for number in companies]
    return TEMPLATES.TemplateResponse(
        request,
        "company.html",
        {
            "action": "/connect/authorize/company",
            "flow": _sign_flow(state, {"p": params, "uid": user.id}),
            "companies": listing,
            "user_name": user.name,
        },
    )


def _consent(request: Request, params: dict[str, str], user: User, company: int) -> Response:
    state = _state(request)
    profile = state.world.profiles[company]
    scopes = [(scope, SCOPE_TEXTS.get(scope, scope)) for scope in params.get("scope", "").split()]
    return TEMPLATES.TemplateResponse(
        request,
        "consent.html",
        {
            "action": "/connect/authorize/consent",
            "flow": _sign_flow(state, {"p": params, "uid": user.id, "company": company}),
            "client_id": params["client_id"],
            "company_name": profile.name,
            "org_number": profile.org_number,
            "scopes": scopes,
        },
    )


def _login_page(
    request: Request, params: dict[str, str], *, error: str | None = None, email: str = ""
) -> Response:
    state = _state(request)
    return TEMPLATES.TemplateResponse(
        request,
        "login.html",
        {
            "action": "/connect/authorize/login",
            "flow": _sign_flow(state, {"p": params}),
            "client_id": params.get("client_id", ""),
            "error": error,
            "email": email,
        },
        status_code=200,
    )


async def authorize(request: Request) -> Response:
    state = _state(request)
    params = {key: value for key, value in request.query_params.items()}
    invalid = _validate(request, params)
    if invalid is not None:
        return invalid
    if state.config.auto_approve_company is not None:
        demo = state.world.users[0]
        return _issue_and_redirect(request, params, demo, state.config.auto_approve_company)
    prompt = params.get("prompt", "").replace("+", " ").split()
    user = None if "login" in prompt else _session_user(request)
    if user is None:
        return _login_page(request, params)
    return _after_login(request, params, user)


async def _flow(request: Request) -> tuple[dict[str, Any], Any] | Response:
    """The signed flow state and the posted form, or an error page when the flow is forged or expired."""
    state = _state(request)
    form = await request.form()
    flow = unsign(str(form.get("flow", "")), key=state.signing_key, now=state.clock.time())
    if flow is None:
        return _error_page(request, "Inloggningen har gått ut. Börja om från appen.", "invalid_request")
    return flow, form


async def login(request: Request) -> Response:
    state = _state(request)
    loaded = await _flow(request)
    if isinstance(loaded, Response):
        return loaded
    flow, form = loaded
    params: dict[str, str] = flow["p"]
    email = str(form.get("email", ""))
    user = state.world.user_by_email(email)
    if user is None or not secrets.compare_digest(
        str(form.get("password", "")).encode(), user.password.encode()
    ):
        return _login_page(request, params, error="Fel e-postadress eller lösenord.", email=email)
    response = _after_login(request, params, user)
    session = sign({"uid": user.id}, key=state.signing_key, expires_at=state.clock.time() + SESSION_SECONDS)
    response.set_cookie(SESSION_COOKIE, session, httponly=True, samesite="lax", path="/connect")
    return response


async def choose_company(request: Request) -> Response:
    state = _state(request)
    loaded = await _flow(request)
    if isinstance(loaded, Response):
        return loaded
    flow, form = loaded
    user = state.world.user_by_id(str(flow.get("uid")))
    try:
        company = int(str(form.get("company", "")))
    except ValueError:
        company = -1
    if user is None or company not in user.companies:
        return _error_page(request, "Ogiltigt företag.", "invalid_request")
    return _consent(request, flow["p"], user, company)


async def consent(request: Request) -> Response:
    state = _state(request)
    loaded = await _flow(request)
    if isinstance(loaded, Response):
        return loaded
    flow, form = loaded
    params: dict[str, str] = flow["p"]
    user = state.world.user_by_id(str(flow.get("uid")))
    company = flow.get("company")
    if user is None or not isinstance(company, int) or company not in user.companies:
        return _error_page(request, "Ogiltigt företag.", "invalid_request")
    if form.get("decision") != "allow":
        return _redirect_error(params, "access_denied", "The user denied access.")
    return _issue_and_redirect(request, params, user, company)


def _token_error(error: TokenError) -> Response:
    headers = {"Cache-Control": "no-store", "Pragma": "no-cache"}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Basic realm="identity"'
    return JSONResponse(
        {"error": error.error, "error_description": error.description},
        status_code=error.status,
        headers=headers,
    )


def _client_credentials(request: Request, form: Any) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise TokenError("invalid_client", "Malformed Basic authorization.", status=401) from exc
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return str(form.get("client_id", "")), str(form.get("client_secret", ""))


async def token(request: Request) -> Response:
    state = _state(request)
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type != "application/x-www-form-urlencoded":
        return _token_error(
            TokenError("invalid_request", "Content-Type must be application/x-www-form-urlencoded.")
        )
    form = await request.form()
    if state.faults.token_slow_ms > 0:
        await asyncio.sleep(state.faults.token_slow_ms / 1000)
    try:
        client_id, secret = _client_credentials(request, form)
        config = state.config
        if client_id != config.client_id or not secrets.compare_digest(
            secret.encode(), config.client_secret.encode()
        ):
            raise TokenError("invalid_client", "Unknown client or wrong secret.", status=401)
        grant_type = str(form.get("grant_type", ""))
        now = state.clock.time()
        generations = state.generations()
        if grant_type == "authorization_code":
            grant = state.identity.redeem_code(
                code=str(form.get("code", "")),
                client_id=client_id,
                redirect_uri=str(form["redirect_uri"]) if "redirect_uri" in form else None,
                code_verifier=str(form["code_verifier"]) if "code_verifier" in form else None,
                now=now,
                generation_of=generations,
            )
        elif grant_type == "refresh_token":
            grant = state.identity.rotate_refresh(
                refresh_token=str(form.get("refresh_token", "")),
                client_id=client_id,
                generation_of=generations,
            )
        else:
            raise TokenError(
                "unsupported_grant_type", "grant_type must be authorization_code or refresh_token."
            )
    except TokenError as error:
        return _token_error(error)
    state.stats.token_grant(grant_type)
    body = state.identity.issue_tokens(grant=grant, now=now, generation=generations.get(grant.user_id, 0))
    return JSONResponse(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def identity_routes() -> list[Route]:
    return [
        Route("/connect/authorize", authorize, methods=["GET"]),
        Route("/connect/authorize/login", login, methods=["POST"]),
        Route("/connect/authorize/company", choose_company, methods=["POST"]),
        Route("/connect/authorize/consent", consent, methods=["POST"]),
        Route("/connect/token", token, methods=["POST"]),
    ]
