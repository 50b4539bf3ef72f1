"""The browser-binding cookie and the CSRF token of the consent form.

A random nonce lives in a signed, HttpOnly, SameSite=Lax cookie (Secure when the public URL is https). The
consent form carries a CSRF token signed with its own key that names the nonce's fingerprint and the consent
link it was rendered for; the OAuth state later carries the same fingerprint. Nothing is stored
server-side, so any replica can verify any request.
"""

from __future__ import annotations

import hmac
import secrets
import time
from dataclasses import dataclass

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import OctKey
from starlette.responses import Response

from spiris_web.signing_keys import KeyPurpose, derive_jose_key, derive_key_bytes, fingerprint

BROWSER_COOKIE = "spiris_browser"
CSRF_TTL_SECONDS = 3600


class CsrfError(Exception):
    """The consent form's CSRF token is missing, forged, expired or bound to another browser/link."""


@dataclass(frozen=True)
class BrowserBinding:
    """Mints and reads the browser cookie and the CSRF tokens that refer to it."""

    cookie_key: bytes
    csrf_key: OctKey
    secure: bool

    @classmethod
    def from_master(cls, master: str, *, secure: bool) -> BrowserBinding:
        return cls(
            cookie_key=derive_key_bytes(master, KeyPurpose.BROWSER_COOKIE),
            csrf_key=derive_jose_key(master, KeyPurpose.CSRF),
            secure=secure,
        )

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    def _mac(self, nonce: str) -> str:
        return hmac.new(self.cookie_key, nonce.encode("ascii"), "sha256").hexdigest()

    def cookie_value(self, nonce: str) -> str:
        return f"{nonce}.{self._mac(nonce)}"

    def read_nonce(self, cookie: str | None) -> str | None:
        """The nonce of a genuine cookie, or None for a missing or tampered one."""
        if not cookie or "." not in cookie:
            return None
        nonce, _, mac = cookie.rpartition(".")
        if not nonce or not hmac.compare_digest(mac, self._mac(nonce)):
            return None
        return nonce

    def set_cookie(self, response: Response, nonce: str) -> None:
        # A session cookie: it only has to survive one consent round trip through Spiris.
        response.set_cookie(
            BROWSER_COOKIE,
            self.cookie_value(nonce),
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path="/",
        )

    def issue_csrf_token(self, *, nonce: str, link_jti: str, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "typ": "csrf",
            "bnd": fingerprint(nonce),
            "lnk": link_jti,
            "iat": issued,
            "exp": issued + CSRF_TTL_SECONDS,
        }
        return jwt.encode({"alg": "HS256"}, claims, self.csrf_key)

    def verify_csrf_token(
        self, token: str | None, *, nonce: str | None, link_jti: str, now: float | None = None
    ) -> None:
        """Raise CsrfError unless `token` is current and minted for this browser's nonce and this link."""
        if not token or nonce is None:
            raise CsrfError("missing CSRF token or browser cookie")
        try:
            claims = jwt.decode(token, self.csrf_key, algorithms=["HS256"]).claims
        except (JoseError, ValueError) as exc:
            raise CsrfError("CSRF token signature invalid") from exc
        current = time.time() if now is None else now
        if claims.get("typ") != "csrf" or not isinstance(claims.get("exp"), int) or claims["exp"] < current:
            raise CsrfError("CSRF token expired or of the wrong type")
        if not hmac.compare_digest(str(claims.get("bnd", "")), fingerprint(nonce)):
            raise CsrfError("CSRF token bound to another browser")
        if claims.get("lnk") != link_jti:
            raise CsrfError("CSRF token bound to another consent link")
