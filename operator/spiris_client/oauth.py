"""OAuth2 against the Spiris identity server: the consent URL, the code exchange and the refresh.

Built on authlib's httpx `OAuth2Client`: authorization-code flow with PKCE S256, HTTP Basic client
authentication (`client_secret_basic`), form-encoded token requests. Spiris rotates refresh tokens — every
token response carries a new one and kills the presented one — so `refresh()` only returns the new
`TokenSet`: the caller must persist it (compare-and-swap) *before* using the new access token.
`invalid_grant` raises `ConsentRequired`. Token requests are never retried automatically: a lost response to
a refresh that the server did honour would make the retry present a dead refresh token.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from spiris_client.errors import ConsentRequired, OAuthError, SpirisUnavailable
from spiris_client.redaction import install_log_redaction, logger, remember_secret

PRODUCTION_IDENTITY_URL = "https://identity.vismaonline.com"
SANDBOX_IDENTITY_URL = "https://identity-sandbox.test.vismaonline.com"
SPIRIS_SERVICE_ACR = "service:44643EB1-3F76-4C1C-A672-402AE8085934"
DEFAULT_SCOPES: tuple[str, ...] = (
    "ea:api",
    "offline_access",
    "ea:accounting_readonly",
    "ea:sales_readonly",
    "ea:purchase_readonly",
)


def new_code_verifier() -> str:
    """A fresh PKCE code verifier (64 URL-safe characters, within RFC 7636's 43..128)."""
    return str(generate_token(64))


@dataclasses.dataclass(frozen=True)
class TokenSet:
    """One token response plus its absolute expiry — the content of the token Secret's `token.json`.

    Tokens are excluded from `repr()` so a logged or raised `TokenSet` never shows them.
    """

    access_token: str = dataclasses.field(repr=False)
    refresh_token: str | None = dataclasses.field(repr=False)
    token_type: str
    expires_in: int
    expires_at: int
    scope: str | None = None

    @classmethod
    def from_response(cls, response: Mapping[str, Any], *, now: float) -> TokenSet:
        """Build from a token-endpoint JSON object received at `now` (epoch seconds)."""
        access_token = response.get("access_token")
        if not isinstance(access_token, str) or not access_token:
            raise OAuthError(
                error="invalid_token_response", description="no access_token in the token response"
            )
        expires_in = int(response.get("expires_in") or 3600)
        refresh_token = response.get("refresh_token")
        scope = response.get("scope")
        token = cls(
            access_token=access_token,
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
            token_type=str(response.get("token_type") or "Bearer"),
            expires_in=expires_in,
            expires_at=int(now) + expires_in,
            scope=scope if isinstance(scope, str) and scope else None,
        )
        token.remember()
        return token

    def remember(self) -> None:
        """Register both tokens with the log redaction."""
        remember_secret(self.access_token)
        remember_secret(self.refresh_token)

    def to_json(self) -> str:
        """The `token.json` format: the token response fields plus `expires_at` (epoch seconds, int)."""
        body: dict[str, Any] = {
            "access_token": self.access_token,
            "token_type": self.token_type,
            "expires_in": self.expires_in,
            "expires_at": self.expires_at,
        }
        if self.refresh_token is not None:
            body["refresh_token"] = self.refresh_token
        if self.scope is not None:
            body["scope"] = self.scope
        return json.dumps(body, sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> TokenSet:
        """Parse `token.json`. A missing `expires_at` counts as already expired (it will be refreshed)."""
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise ValueError("token.json is not valid JSON") from exc
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str):
            raise ValueError("token.json lacks an access_token")
        refresh_token = body.get("refresh_token")
        scope = body.get("scope")
        token = cls(
            access_token=body["access_token"],
            refresh_token=refresh_token if isinstance(refresh_token, str) and refresh_token else None,
            token_type=str(body.get("token_type") or "Bearer"),
            expires_in=int(body.get("expires_in") or 0),
            expires_at=int(body.get("expires_at") or 0),
            scope=scope if isinstance(scope, str) and scope else None,
        )
        token.remember()
        return token

    def expires_within(self, seconds: float, *, now: float | None = None) -> bool:
        """True when the access token is expired or expires within `seconds` (refresh ~60 s early)."""
        current = time.time() if now is None else now
        return self.expires_at - current <= seconds


class SpirisOAuth:
    """The OAuth2 client of one registered Spiris application.

    `identity_url` is the identity host's base (`/connect/authorize` and `/connect/token` live under it);
    `sandbox=True` selects the authorize parameters Spiris' sandbox needs (`prompt=login` and the legacy
    `forceselectcompany:true` acr value, because `prompt=select_account` does not work there).
    `redirect_uri` None: a client that only refreshes tokens (the operator without a public URL); the consent
    flow (`authorization_url`, `exchange_code`) then raises `ValueError`.
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        redirect_uri: str | None,
        identity_url: str = PRODUCTION_IDENTITY_URL,
        sandbox: bool = False,
        *,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.time,
        user_agent: str = "spiris-operator",
    ) -> None:
        install_log_redaction()
        remember_secret(client_secret)
        self.client_id = client_id
        self._client_secret = client_secret
        self.redirect_uri = redirect_uri
        self.identity_url = identity_url.rstrip("/")
        self.sandbox = sandbox
        self._timeout = timeout
        self._transport = transport
        self._clock = clock
        self._user_agent = user_agent

    def __repr__(self) -> str:
        return f"SpirisOAuth(client_id={self.client_id!r}, identity_url={self.identity_url!r})"

    @property
    def authorize_endpoint(self) -> str:
        return f"{self.identity_url}/connect/authorize"

    @property
    def token_endpoint(self) -> str:
        return f"{self.identity_url}/connect/token"

    def authorization_url(
        self,
        state: str,
        code_verifier: str | None,
        scopes: Sequence[str] = DEFAULT_SCOPES,
        *,
        force_company_picker: bool = True,
    ) -> str:
        """The URL to send the consenting person's browser to.

        With `force_company_picker` the person always sees Spiris' company picker, even with a default
        company set (otherwise the default company is connected silently — the "No access to module" trap).
        `code_verifier` adds a PKCE S256 challenge; pass None to leave PKCE out.
        """
        extra: dict[str, str] = {}
        if self.sandbox:
            extra["prompt"] = "login"
            extra["acr_values"] = (
                f"{SPIRIS_SERVICE_ACR} forceselectcompany:true"
                if force_company_picker
                else SPIRIS_SERVICE_ACR
            )
        else:
            if force_company_picker:
                extra["prompt"] = "select_account"
            extra["acr_values"] = SPIRIS_SERVICE_ACR
        params: dict[str, str] = {}
        if code_verifier is not None:
            params["code_challenge"] = create_s256_code_challenge(code_verifier)
            params["code_challenge_method"] = "S256"
        params.update(extra)
        url = prepare_grant_uri(
            self.authorize_endpoint,
            client_id=self.client_id,
            response_type="code",
            redirect_uri=self._registered_redirect_uri(),
            scope=" ".join(scopes),
            state=state,
            **params,
        )
        return str(url)

    def exchange_code(self, code: str, code_verifier: str | None = None) -> TokenSet:
        """Trade the callback's single-use `code` for tokens (same `redirect_uri` as the authorize
        request)."""
        remember_secret(code)
        extra = {"code_verifier": code_verifier} if code_verifier is not None else {}
        body = prepare_token_request(
            "authorization_code", code=code, redirect_uri=self._registered_redirect_uri(), **extra
        )
        return self._token_request("authorization_code", body)

    def _registered_redirect_uri(self) -> str:
        # Only the authorization-code flow names the callback; a client built for refreshing has none.
        if not self.redirect_uri:
            raise ValueError("this SpirisOAuth has no redirect_uri: it can refresh tokens, not run a consent")
        return self.redirect_uri

    def refresh(self, refresh_token: str) -> TokenSet:
        """Trade a refresh token for a new `TokenSet`; the presented refresh token is dead afterwards.

        Persist the result before using it. `ConsentRequired` when Spiris refuses the refresh token.
        """
        remember_secret(refresh_token)
        body = prepare_token_request("refresh_token", refresh_token=refresh_token)
        token = self._token_request("refresh_token", body)
        if token.refresh_token is None:
            # Spiris always rotates; should an answer ever omit the refresh token, the presented one stays
            # valid, and persisting a TokenSet without any would strand the connection.
            token = dataclasses.replace(token, refresh_token=refresh_token)
        return token

    def _token_request(self, grant: str, body: str) -> TokenSet:
        started = self._clock()
        try:
            with httpx.Client(timeout=self._timeout, transport=self._transport, trust_env=False) as client:
                response = client.post(
                    self.token_endpoint,
                    content=body.encode("ascii"),
                    auth=httpx.BasicAuth(self.client_id, self._client_secret),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "Accept": "application/json",
                        "User-Agent": self._user_agent,
                    },
                )
        except httpx.TransportError as exc:
            logger.warning(
                "Spiris token request (%s) could not reach the identity server: %s", grant, type(exc).__name__
            )
            raise SpirisUnavailable(
                f"Spiris identity server unreachable: {type(exc).__name__}", attempts=1
            ) from None
        status = response.status_code
        try:
            payload = json.loads(response.content) if response.content else None
        except ValueError:
            payload = None
        if status >= 500 or status == 429:
            logger.warning("Spiris token request (%s) failed with HTTP %s", grant, status)
            raise SpirisUnavailable(
                f"Spiris identity server answered {status} to the token request", attempts=1
            )
        if not isinstance(payload, dict):
            raise OAuthError(
                error=f"http_{status}", description="the token response is not a JSON object", status=status
            )
        error = payload.get("error")
        if status >= 400 or error:
            description = payload.get("error_description")
            description = description if isinstance(description, str) else None
            logger.warning("Spiris token request (%s) refused: HTTP %s %s", grant, status, error)
            if error == "invalid_grant":
                raise ConsentRequired(description=description, status=status)
            raise OAuthError(error=str(error or f"http_{status}"), description=description, status=status)
        token = TokenSet.from_response(payload, now=started)
        logger.info(
            "Spiris token request (%s) succeeded; access token expires at %s", grant, token.expires_at
        )
        return token
