"""Purpose-bound keys derived from the one configured signing key (`SPIRIS_LINK_SIGNING_KEY`).

The operator signs consent links with the raw key; the web component never reuses that key directly for its
own tokens. Each purpose (browser cookie, CSRF token, OAuth state, encrypted PKCE cookie) gets its own key,
derived with HMAC-SHA256 over a fixed label, so a value minted for one purpose can never be accepted for
another (e.g. a consent-link token replayed as an OAuth state fails its signature check).
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from joserfc.jwk import OctKey


class KeyPurpose(Enum):
    """What a derived key is used for; the value is the derivation label."""

    BROWSER_COOKIE = "spiris-web/browser-cookie/v1"
    CSRF = "spiris-web/csrf/v1"
    OAUTH_STATE = "spiris-web/oauth-state/v1"
    PKCE_COOKIE = "spiris-web/pkce-cookie/v1"
    RESULT = "spiris-web/result/v1"


def derive_key_bytes(master: str, purpose: KeyPurpose) -> bytes:
    """32 bytes for `purpose`, deterministic across replicas that share the master key."""
    return hmac.new(master.encode("utf-8"), purpose.value.encode("ascii"), hashlib.sha256).digest()


def derive_jose_key(master: str, purpose: KeyPurpose) -> OctKey:
    """The derived key as a JOSE octet key (HS256 signing or `dir`+A256GCM encryption)."""
    return OctKey.import_key(derive_key_bytes(master, purpose))


def fingerprint(value: str) -> str:
    """A short one-way digest used to bind tokens to each other without embedding the value itself."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
