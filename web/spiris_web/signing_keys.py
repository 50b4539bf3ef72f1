"""Purpose-bound keys derived from the one configured signing key (`SPIRIS_LINK_SIGNING_KEY`).

The operator signs consent links with the raw key; the web component never reuses that key directly for its
own tokens. Each purpose (browser cookie, CSRF token, OAuth state, encrypted PKCE cookie) gets its own key,
derived with HMAC-SHA256 over a fixed label, so a value minted for one purpose can never be accepted for
another (e.g. a consent-link token replayed as an OAuth state fails its signature check). After a key
rotation the previous keys (``SPIRIS_LINK_PREVIOUS_SIGNING_KEYS``) are derived the same way and still verify:
:func:`derive_ring` gives one purpose's keys, current first, each under its key id.
"""

from __future__ import annotations

import hashlib
import hmac
from enum import Enum

from joserfc.jwk import OctKey
from spiris_connection.link_keys import KeyRing, LinkKeys


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


def derive_ring(keys: str | LinkKeys, purpose: KeyPurpose) -> KeyRing:
    """`purpose`'s keys for the current and every previous master key (current signs, all verify)."""
    return KeyRing.of(keys, derive=lambda master: derive_key_bytes(master, purpose))


def derive_all_bytes(keys: str | LinkKeys, purpose: KeyPurpose) -> tuple[bytes, ...]:
    """`purpose`'s raw keys, current first (for plain HMACs that carry no key id)."""
    return tuple(derive_key_bytes(master, purpose) for master in LinkKeys.of(keys).all())


def fingerprint(value: str) -> str:
    """A short one-way digest used to bind tokens to each other without embedding the value itself."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:32]
