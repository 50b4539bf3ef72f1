"""Consent links: signed, expiring URLs that let one person authorize one SpirisConnection.

The operator issues a link into ``status.consentUrl``; the web component verifies it when the link is
opened. A link is an HS256 JWT (joserfc, the JOSE library behind authlib) carrying the connection's ``uid``,
namespace and name, a random ``jti``, ``iat`` and ``exp``. A link is only good while it is the very link in
the connection's status (rotation kills the old one) and while the connection is not Ready (a used link is
dead); both checks are in :func:`check_against_connection`. The header names the signing key (``kid``, see
:mod:`link_keys`), so links signed with a previous key keep working while that key is still listed. Error
messages never repeat the token.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError

from spiris_connection.link_keys import KeyRing, LinkKeys

__all__ = [
    "AUDIENCE",
    "ConsentClaims",
    "ConsentLink",
    "InvalidConsentLink",
    "check_against_connection",
    "issue",
    "token_from_url",
    "verify",
]

#: Distinguishes consent links from other tokens signed with the same key (OAuth state, cookies).
AUDIENCE = "spiris-consent"
_PATH_PREFIX = "/consent/"


class InvalidConsentLink(Exception):
    """The link cannot be honoured; ``reason`` is a short machine word, the message is safe to show."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ConsentLink:
    """A freshly issued link: the token, the full URL and when it stops working."""

    token: str
    url: str
    jti: str
    expires_at: datetime


@dataclass(frozen=True)
class ConsentClaims:
    """What a verified link says: which connection it authorizes and until when."""

    uid: str
    namespace: str
    name: str
    jti: str
    issued_at: datetime
    expires_at: datetime


def _ring(signing_key: str | LinkKeys) -> KeyRing:
    try:
        return KeyRing.of(signing_key)
    except ValueError:
        raise ValueError("SPIRIS_LINK_SIGNING_KEY must be at least 16 bytes long") from None


def issue(
    *,
    signing_key: str | LinkKeys,
    public_url: str,
    uid: str,
    namespace: str,
    name: str,
    ttl: timedelta,
    now: datetime | None = None,
) -> ConsentLink:
    """Sign a new link for the connection ``namespace/name`` with ``uid``, valid for ``ttl``."""
    if ttl <= timedelta(0):
        raise ValueError("a consent link needs a positive lifetime")
    issued = (now or datetime.now(UTC)).replace(microsecond=0)
    expires = issued + ttl
    jti = secrets.token_urlsafe(16)
    claims: dict[str, Any] = {
        "aud": AUDIENCE,
        "uid": uid,
        "ns": namespace,
        "name": name,
        "jti": jti,
        "iat": int(issued.timestamp()),
        "exp": int(expires.timestamp()),
    }
    token = _ring(signing_key).encode_jwt(claims)
    return ConsentLink(
        token=token, url=f"{public_url.rstrip('/')}{_PATH_PREFIX}{token}", jti=jti, expires_at=expires
    )


def verify(token: str, *, signing_key: str | LinkKeys, now: datetime | None = None) -> ConsentClaims:
    """Check signature (current or a previous key), audience and expiry of a link token; return its claims.

    Raises :class:`InvalidConsentLink` with reason ``malformed``, ``forged`` or ``expired``.
    """
    try:
        decoded = _ring(signing_key).decode_jwt(token)
    except JoseError as exc:
        reason = "forged" if exc.error == "bad_signature" else "malformed"
        raise InvalidConsentLink(reason, "The consent link is not valid.") from None
    claims = decoded.claims
    try:
        parsed = ConsentClaims(
            uid=str(claims["uid"]),
            namespace=str(claims["ns"]),
            name=str(claims["name"]),
            jti=str(claims["jti"]),
            issued_at=datetime.fromtimestamp(int(claims["iat"]), UTC),
            expires_at=datetime.fromtimestamp(int(claims["exp"]), UTC),
        )
    except (KeyError, TypeError, ValueError):
        raise InvalidConsentLink("malformed", "The consent link is incomplete.") from None
    if claims.get("aud") != AUDIENCE:
        raise InvalidConsentLink("malformed", "The token is not a consent link.")
    if (now or datetime.now(UTC)) >= parsed.expires_at:
        raise InvalidConsentLink("expired", "The consent link has expired; ask for a new one.")
    return parsed


def token_from_url(url: str) -> str:
    """The token part of a consent URL (``…/consent/{token}``); an empty string if the URL has none."""
    path = urlsplit(url).path
    idx = path.rfind(_PATH_PREFIX)
    return path[idx + len(_PATH_PREFIX) :] if idx >= 0 else ""


def _is_ready(status: Mapping[str, Any]) -> bool:
    for condition in status.get("conditions") or []:
        if condition.get("type") == "Ready":
            return bool(condition.get("status") == "True")
    return False


def check_against_connection(claims: ConsentClaims, token: str, connection: Mapping[str, Any]) -> None:
    """Require that ``connection`` (the live object) still wants exactly this link.

    Raises :class:`InvalidConsentLink` with reason ``foreign`` (another object, e.g. deleted and re-created),
    ``used`` (the connection is already Ready) or ``rotated`` (not the link in status any more).
    """
    metadata = connection.get("metadata") or {}
    if metadata.get("uid") != claims.uid or metadata.get("name") != claims.name:
        raise InvalidConsentLink("foreign", "The consent link belongs to a connection that no longer exists.")
    status = connection.get("status") or {}
    if _is_ready(status):
        raise InvalidConsentLink("used", "The connection is already authorized.")
    current = token_from_url(str(status.get("consentUrl") or ""))
    if not current or not secrets.compare_digest(current, token):
        raise InvalidConsentLink("rotated", "The consent link has been replaced by a newer one.")
