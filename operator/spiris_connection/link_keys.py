"""The link-signing keys: the current one signs, previous ones still verify, a key id says which is which.

Consent links live for days (``consent.linkTTL``, 7 d by default) and the web's own tokens (OAuth state, the
flow and browser cookies, CSRF and result links) for minutes to an hour. Rotating ``SPIRIS_LINK_SIGNING_KEY``
must not kill them, so every signed token names its key in the JOSE header (``kid``: a truncated
HMAC-SHA256 of a fixed label under the key — it identifies the key without revealing anything about it) and
verification accepts the current key and every key listed in ``SPIRIS_LINK_PREVIOUS_SIGNING_KEYS``
(comma-separated). A token without ``kid`` (issued before key ids existed) is tried against every key; an
unknown ``kid`` is refused outright. :class:`KeyRing` does this for any key derivation (raw for consent
links, purpose-derived for the web's tokens).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import BadSignatureError, JoseError
from joserfc.jwk import OctKey

__all__ = [
    "MIN_KEY_BYTES",
    "PREVIOUS_KEYS_ENV",
    "KeyRing",
    "LinkKeys",
    "header_of",
    "key_id",
    "parse_previous",
]

MIN_KEY_BYTES = 16
PREVIOUS_KEYS_ENV = "SPIRIS_LINK_PREVIOUS_SIGNING_KEYS"
_KID_LABEL = b"spiris/link-signing-key-id/v1"
_ALGORITHM = "HS256"


def key_id(key: str) -> str:
    """The public id of a signing key (16 hex characters)."""
    return hmac.new(key.encode("utf-8"), _KID_LABEL, hashlib.sha256).hexdigest()[:16]


def parse_previous(text: str | None) -> tuple[str, ...]:
    """Previous keys from the comma-separated environment value (blanks and surrounding spaces dropped)."""
    return tuple(part.strip() for part in (text or "").split(",") if part.strip())


@dataclass(frozen=True)
class LinkKeys:
    """The current signing key and the previous ones still accepted for verification."""

    current: str
    previous: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for key in (self.current, *self.previous):
            if len(key.encode("utf-8")) < MIN_KEY_BYTES:
                raise ValueError(f"link-signing keys must be at least {MIN_KEY_BYTES} bytes long")

    @classmethod
    def of(cls, value: str | LinkKeys) -> LinkKeys:
        """``value`` as key set (a plain string is a current key without predecessors)."""
        return value if isinstance(value, LinkKeys) else cls(current=value)

    @classmethod
    def from_env(cls, current: str, env: Mapping[str, str]) -> LinkKeys:
        return cls(current=current, previous=parse_previous(env.get(PREVIOUS_KEYS_ENV)))

    def all(self) -> tuple[str, ...]:
        """Current first, then the previous keys, without repeats."""
        return tuple(dict.fromkeys((self.current, *self.previous)))


def _oct(raw: bytes) -> OctKey:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # joserfc warns about short HMAC keys; the length is checked above
        return OctKey.import_key(raw)


def header_of(token: str) -> dict[str, Any]:
    """The unverified protected header of a compact JWS/JWE (empty when unreadable)."""
    try:
        segment = token.split(".", 1)[0]
        decoded = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    except (ValueError, UnicodeDecodeError):
        return {}
    return decoded if isinstance(decoded, dict) else {}


@dataclass(frozen=True)
class KeyRing:
    """JOSE keys for one purpose, one per link-signing key, current first, each with its key id."""

    entries: tuple[tuple[str, OctKey], ...]

    @classmethod
    def of(cls, keys: str | LinkKeys, derive: Callable[[str], bytes] | None = None) -> KeyRing:
        """Keys for ``keys`` (``derive`` maps a master key to the bytes used; default: the key itself)."""
        link_keys = LinkKeys.of(keys)
        make = derive or (lambda key: key.encode("utf-8"))
        return cls(entries=tuple((key_id(key), _oct(make(key))) for key in link_keys.all()))

    @property
    def current_kid(self) -> str:
        return self.entries[0][0]

    @property
    def current(self) -> OctKey:
        return self.entries[0][1]

    def candidates(self, token: str) -> list[OctKey]:
        """The keys that may have made ``token``: the one its ``kid`` names, or all when it names none."""
        kid = header_of(token).get("kid")
        if kid is None:
            return [key for _, key in self.entries]
        if not isinstance(kid, str) or not kid.isascii():
            return []
        return [key for known, key in self.entries if hmac.compare_digest(known, kid)]

    def encode_jwt(self, claims: Mapping[str, Any]) -> str:
        """An HS256 JWT of ``claims`` signed with the current key, naming it in ``kid``."""
        return jwt.encode(
            {"alg": _ALGORITHM, "kid": self.current_kid}, dict(claims), self.current, algorithms=[_ALGORITHM]
        )

    def decode_jwt(self, token: str) -> jwt.Token:
        """Verify an HS256 JWT against the key(s) it may come from; raises joserfc's errors
        (``BadSignatureError`` for an unknown key id or a signature no key made)."""
        last: JoseError = BadSignatureError()
        for key in self.candidates(token):
            try:
                return jwt.decode(token, key, algorithms=[_ALGORITHM])
            except BadSignatureError as exc:
                last = exc
        raise last
