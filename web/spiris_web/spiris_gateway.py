"""What the web component needs from Spiris, as one small interface over `spiris_client`.

Four calls: build the authorize URL (state, PKCE S256, the company-picker parameters for sandbox or
production), exchange the callback's code (with the PKCE verifier), read which company the new token is for
(with its status, product variant and modules), and probe one voucher page. `SpirisClientGateway`
implements them with `spiris_client.oauth.SpirisOAuth` and `SpirisApi`; handlers depend only on the
protocol, which keeps them independent of HTTP details.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from spiris_client.api import SpirisApi
from spiris_client.oauth import SpirisOAuth, TokenSet
from spiris_client.tokens import StaticTokenProvider
from spiris_connection.company_identity import CompanyIdentity

from spiris_web.settings import WebSettings


class SpirisGateway(Protocol):
    """The Spiris calls of the consent flow."""

    def authorization_url(self, *, state: str, code_verifier: str, scopes: Sequence[str]) -> str:
        """Where to send the browser; always on the configured identity host."""
        ...

    def exchange_code(self, *, code: str, code_verifier: str) -> TokenSet:
        """Trade the single-use code for tokens."""
        ...

    def company_identity(self, token: TokenSet) -> CompanyIdentity:
        """Which company `token` reads."""
        ...

    def probe_vouchers(self, token: TokenSet) -> None:
        """Read one voucher page (raises the client's errors, e.g. `Forbidden`)."""
        ...


class SpirisClientGateway:
    """The production gateway built on `spiris_client`."""

    def __init__(self, settings: WebSettings) -> None:
        self._api_url = settings.api_url
        self._oauth = SpirisOAuth(
            settings.client_id,
            settings.client_secret,
            settings.redirect_uri,
            identity_url=settings.identity_url,
            sandbox=settings.sandbox,
        )

    def authorization_url(self, *, state: str, code_verifier: str, scopes: Sequence[str]) -> str:
        return self._oauth.authorization_url(state, code_verifier, scopes, force_company_picker=True)

    def exchange_code(self, *, code: str, code_verifier: str) -> TokenSet:
        return self._oauth.exchange_code(code, code_verifier)

    def _api(self, token: TokenSet) -> SpirisApi:
        # A person is waiting on this page: few, short retries rather than the worker's patient defaults.
        return SpirisApi(
            self._api_url,
            token_provider=StaticTokenProvider(token.access_token),
            timeout=15.0,
            max_retries=2,
            backoff_cap=2.0,
            max_rate_limit_waits=1,
            max_rate_limit_wait=10.0,
        )

    def company_identity(self, token: TokenSet) -> CompanyIdentity:
        with self._api(token) as api:
            return CompanyIdentity.from_settings(api.company_settings())

    def probe_vouchers(self, token: TokenSet) -> None:
        with self._api(token) as api:
            years = sorted(api.fiscal_years(), key=lambda y: (y.start_date is None, y.start_date))
            if years:
                next(iter(api.vouchers(years[-1].id, page_size=1)), None)
