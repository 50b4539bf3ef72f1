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

from joserfc.errors import JoseError
from spiris_connection.link_keys import KeyRing, LinkKeys
from starlette.responses import Response

from spiris_web.signing_keys import KeyPurpose, derive_all_bytes, derive_ring, fingerprint

BROWSER_COOKIE = "spiris_browser"
CSRF_TTL_SECONDS = 3600


class CsrfError(Exception):
    """The consent form's CSRF token is missing, forged, expired or bound to another browser/link."""


@dataclass(frozen=True)
class BrowserBinding:
    """Mints and reads the browser cookie and the CSRF tokens that refer to it."""

    #: Current key first; the cookie's MAC names no key, so a cookie made before a rotation is checked
    #: against each (a handful at most).
    cookie_keys: tuple[bytes, ...]
    csrf_keys: KeyRing
    secure: bool

    @classmethod
    def from_master(cls, master: str | LinkKeys, *, secure: bool) -> BrowserBinding:
        return cls(
            cookie_keys=derive_all_bytes(master, KeyPurpose.BROWSER_COOKIE),
            csrf_keys=derive_ring(master, KeyPurpose.CSRF),
            secure=secure,
        )

    @staticmethod
    def new_nonce() -> str:
        return secrets.token_urlsafe(24)

    def _mac(self, nonce: str, key: bytes | None = None) -> str:
        return hmac.new(key or self.cookie_keys[0], nonce.encode("ascii"), "sha256").hexdigest()

    def cookie_value(self, nonce: str) -> str:
        return f"{nonce}.{self._mac(nonce)}"

    def read_nonce(self, cookie: str | None) -> str | None:
        """The nonce of a genuine cookie, or None for a missing or tampered one."""
        if not cookie or "." not in cookie:
            return None
        nonce, _, mac = cookie.rpartition(".")
        if not nonce or not nonce.isascii() or not mac.isascii():
            return None
        if not any(hmac.compare_digest(mac, self._mac(nonce, key)) for key in self.cookie_keys):
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
        return self.csrf_keys.encode_jwt(claims)

    def verify_csrf_token(
        self, token: str | None, *, nonce: str | None, link_jti: str, now: float | None = None
    ) -> None:
        """Raise CsrfError unless `token` is current and minted for this browser's nonce and this link."""
        if not token or nonce is None:
            raise CsrfError("missing CSRF token or browser cookie")
        try:
            claims = self.csrf_keys.decode_jwt(token).claims
        except (JoseError, ValueError) as exc:
            raise CsrfError("CSRF token signature invalid") from exc
        current = time.time() if now is None else now
        if claims.get("typ") != "csrf" or not isinstance(claims.get("exp"), int) or claims["exp"] < current:
            raise CsrfError("CSRF token expired or of the wrong type")
        if not hmac.compare_digest(str(claims.get("bnd", "")), fingerprint(nonce)):
            raise CsrfError("CSRF token bound to another browser")
        if claims.get("lnk") != link_jti:
            raise CsrfError("CSRF token bound to another consent link")
