"""The OAuth `state` parameter and the PKCE verifier that travels with it, both stateless.

`state` is a short-lived HS256 token naming the connection (namespace, name, uid), the consent link it came
from and the fingerprint of the browser-cookie nonce. The PKCE verifier never appears in a URL: it is
encrypted (JWE `dir` + A256GCM, its own derived key) into an HttpOnly cookie scoped to the callback path,
together with the state's `jti`, so only the browser that pressed the button can finish the flow and only once
(the callback clears the cookie whatever the outcome). Both name their key (`kid`), so a flow started just
before a key rotation still finishes while the old key is listed as previous.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass

from joserfc import jwe
from joserfc.errors import JoseError
from spiris_connection.link_keys import KeyRing, LinkKeys
from starlette.responses import Response

from spiris_web.signing_keys import KeyPurpose, derive_ring, fingerprint

FLOW_COOKIE = "spiris_oauth_flow"
CALLBACK_PATH = "/oauth/callback"


class StateError(Exception):
    """The state is forged, tampered, of the wrong kind, or not bound to this browser."""


class StateExpired(StateError):
    """The state was genuine but is too old; the user should open the consent link again."""


@dataclass(frozen=True)
class StateClaims:
    """What a verified state says about the flow it belongs to."""

    jti: str
    namespace: str
    name: str
    uid: str
    link_jti: str
    browser: str


@dataclass(frozen=True)
class AuthorizationStart:
    """A freshly minted state plus the PKCE pair for one authorization request."""

    state: str
    state_jti: str
    code_verifier: str
    code_challenge: str


def pkce_challenge(verifier: str) -> str:
    """The S256 code challenge of `verifier` (RFC 7636 §4.2)."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


@dataclass(frozen=True)
class OAuthStateCodec:
    """Issues and verifies states and the encrypted PKCE cookie."""

    state_keys: KeyRing
    flow_keys: KeyRing
    ttl_seconds: int
    secure: bool

    @classmethod
    def from_master(cls, master: str | LinkKeys, *, ttl_seconds: int, secure: bool) -> OAuthStateCodec:
        return cls(
            state_keys=derive_ring(master, KeyPurpose.OAUTH_STATE),
            flow_keys=derive_ring(master, KeyPurpose.PKCE_COOKIE),
            ttl_seconds=ttl_seconds,
            secure=secure,
        )

    def start(
        self, *, namespace: str, name: str, uid: str, link_jti: str, nonce: str, now: float | None = None
    ) -> AuthorizationStart:
        issued = int(time.time() if now is None else now)
        state_jti = secrets.token_urlsafe(16)
        claims = {
            "typ": "oauth_state",
            "jti": state_jti,
            "ns": namespace,
            "name": name,
            "uid": uid,
            "lnk": link_jti,
            "bnd": fingerprint(nonce),
            "iat": issued,
            "exp": issued + self.ttl_seconds,
        }
        state = self.state_keys.encode_jwt(claims)
        verifier = secrets.token_urlsafe(48)  # 64 chars, within RFC 7636's 43..128
        return AuthorizationStart(
            state=state, state_jti=state_jti, code_verifier=verifier, code_challenge=pkce_challenge(verifier)
        )

    def verify(self, state: str | None, *, now: float | None = None) -> StateClaims:
        """Check signature, kind and expiry; raise StateExpired or StateError."""
        if not state:
            raise StateError("no state")
        try:
            claims = self.state_keys.decode_jwt(state).claims
        except (JoseError, ValueError) as exc:
            raise StateError("state signature invalid") from exc
        fields = ("jti", "ns", "name", "uid", "lnk", "bnd")
        if claims.get("typ") != "oauth_state" or not all(isinstance(claims.get(f), str) for f in fields):
            raise StateError("not an OAuth state")
        expires = claims.get("exp")
        if not isinstance(expires, int) or expires < (time.time() if now is None else now):
            raise StateExpired("state expired")
        return StateClaims(
            jti=claims["jti"],
            namespace=claims["ns"],
            name=claims["name"],
            uid=claims["uid"],
            link_jti=claims["lnk"],
            browser=claims["bnd"],
        )

    def flow_cookie_value(self, start: AuthorizationStart, *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        payload = {"sj": start.state_jti, "cv": start.code_verifier, "exp": issued + self.ttl_seconds}
        return jwe.encrypt_compact(
            {"alg": "dir", "enc": "A256GCM", "kid": self.flow_keys.current_kid},
            json.dumps(payload).encode("utf-8"),
            self.flow_keys.current,
        )

    def set_flow_cookie(self, response: Response, start: AuthorizationStart) -> None:
        response.set_cookie(
            FLOW_COOKIE,
            self.flow_cookie_value(start),
            max_age=self.ttl_seconds,
            httponly=True,
            samesite="lax",
            secure=self.secure,
            path=CALLBACK_PATH,
        )

    def clear_flow_cookie(self, response: Response) -> None:
        response.delete_cookie(
            FLOW_COOKIE, path=CALLBACK_PATH, httponly=True, samesite="lax", secure=self.secure
        )

    def _decrypt_flow(self, flow_cookie: str) -> object:
        for key in self.flow_keys.candidates(flow_cookie):
            try:
                return json.loads(jwe.decrypt_compact(flow_cookie, key).plaintext or b"")
            except (JoseError, ValueError):
                continue
        raise StateError("flow cookie invalid")

    def code_verifier_for(
        self, claims: StateClaims, *, flow_cookie: str | None, nonce: str | None, now: float | None = None
    ) -> str:
        """The PKCE verifier of this flow, if the state belongs to this browser and the flow is unfinished."""
        if nonce is None or not hmac.compare_digest(claims.browser, fingerprint(nonce)):
            raise StateError("state bound to another browser")
        if not flow_cookie:
            raise StateError("no flow cookie (already used, or another browser)")
        payload = self._decrypt_flow(flow_cookie)
        if not isinstance(payload, dict) or payload.get("sj") != claims.jti:
            raise StateError("flow cookie belongs to another state")
        expires = payload.get("exp")
        if not isinstance(expires, int) or expires < (time.time() if now is None else now):
            raise StateExpired("flow expired")
        verifier = payload.get("cv")
        if not isinstance(verifier, str):
            raise StateError("flow cookie without verifier")
        return verifier
