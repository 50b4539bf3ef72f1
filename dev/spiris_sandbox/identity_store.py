"""Authorization codes, access tokens and refresh tokens of the sandbox identity server (in memory).

Codes live 300 s and are single use; access tokens live `access_token_seconds` (3600); refresh tokens rotate —
each successful refresh issues a new one and kills the presented one, and reuse fails with `invalid_grant`. A
user's "password change" bumps their token generation, which invalidates every token issued before it. PKCE is
accepted: when the authorize request carried an S256 `code_challenge`, the token request must carry the
verifier.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Grant:
    """What a user approved: for which client, company and scopes."""

    client_id: str
    user_id: str
    company: int
    scopes: frozenset[str]


@dataclass
class _Code:
    grant: Grant
    redirect_uri: str
    expires_at: float
    code_challenge: str | None
    code_challenge_method: str | None
    generation: int
    used: bool = False


@dataclass(frozen=True)
class AccessToken:
    grant: Grant
    expires_at: float
    generation: int


@dataclass
class _Refresh:
    grant: Grant
    generation: int
    used: bool = False


class TokenError(Exception):
    """An OAuth error for the token endpoint (`error` code, optional description, HTTP status)."""

    def __init__(self, error: str, description: str, *, status: int = 400) -> None:
        super().__init__(description)
        self.error = error
        self.description = description
        self.status = status


def s256(verifier: str) -> str:
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class IdentityStore:
    """Issues and checks codes and tokens; all times are sandbox-clock seconds."""

    def __init__(self, *, access_token_seconds: int, code_seconds: int) -> None:
        self.access_token_seconds = access_token_seconds
        self.code_seconds = code_seconds
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, AccessToken] = {}
        self._refresh: dict[str, _Refresh] = {}
        self._lock = threading.Lock()

    def issue_code(
        self,
        *,
        grant: Grant,
        redirect_uri: str,
        now: float,
        generation: int,
        code_challenge: str | None = None,
        code_challenge_method: str | None = None,
    ) -> str:
        code = secrets.token_urlsafe(32)
        with self._lock:
            self._codes[code] = _Code(
                grant=grant,
                redirect_uri=redirect_uri,
                expires_at=now + self.code_seconds,
                code_challenge=code_challenge,
                code_challenge_method=code_challenge_method,
                generation=generation,
            )
        return code

    def redeem_code(
        self,
        *,
        code: str,
        client_id: str,
        redirect_uri: str | None,
        code_verifier: str | None,
        now: float,
        generation_of: dict[str, int],
    ) -> Grant:
        """The grant behind a code, consuming it; raises `TokenError(invalid_grant)` on any mismatch."""
        with self._lock:
            record = self._codes.get(code)
            if record is None or record.used:
                raise TokenError(
                    "invalid_grant", "The authorization code is invalid or has already been used."
                )
            record.used = True
        if record.grant.client_id != client_id:
            raise TokenError("invalid_grant", "The authorization code was issued to another client.")
        if record.expires_at <= now:
            raise TokenError("invalid_grant", "The authorization code has expired.")
        if redirect_uri != record.redirect_uri:
            raise TokenError("invalid_grant", "The redirect_uri does not match the authorization request.")
        if record.generation != generation_of.get(record.grant.user_id, 0):
            raise TokenError("invalid_grant", "The user's credentials changed.")
        if record.code_challenge is not None:
            if not code_verifier:
                raise TokenError("invalid_grant", "code_verifier is required.")
            expected = s256(code_verifier) if record.code_challenge_method == "S256" else code_verifier
            if not secrets.compare_digest(expected, record.code_challenge):
                raise TokenError("invalid_grant", "The code_verifier does not match the code_challenge.")
        return record.grant

    def issue_tokens(self, *, grant: Grant, now: float, generation: int) -> dict[str, Any]:
        """A token response; a refresh token only when `offline_access` was granted."""
        access = secrets.token_urlsafe(32)
        response: dict[str, Any] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.access_token_seconds,
            "scope": " ".join(sorted(grant.scopes)),
        }
        with self._lock:
            self._access[access] = AccessToken(
                grant=grant, expires_at=now + self.access_token_seconds, generation=generation
            )
            if "offline_access" in grant.scopes:
                refresh = secrets.token_urlsafe(32)
                self._refresh[refresh] = _Refresh(grant=grant, generation=generation)
                response["refresh_token"] = refresh
        return response

    def rotate_refresh(self, *, refresh_token: str, client_id: str, generation_of: dict[str, int]) -> Grant:
        """Consume a refresh token and return its grant; reuse or revocation raises `invalid_grant`."""
        with self._lock:
            record = self._refresh.get(refresh_token)
            if record is None or record.used:
                raise TokenError("invalid_grant", "The refresh token is invalid or has already been used.")
            if record.grant.client_id != client_id:
                raise TokenError("invalid_grant", "The refresh token was issued to another client.")
            if record.generation != generation_of.get(record.grant.user_id, 0):
                raise TokenError("invalid_grant", "The refresh token has been revoked.")
            record.used = True
            return record.grant

    def access_token(self, token: str) -> AccessToken | None:
        with self._lock:
            return self._access.get(token)
