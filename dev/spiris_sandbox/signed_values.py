"""HMAC-signed, expiring values that carry the login flow across pages (hidden fields) and the session cookie.

The payload is JSON, base64url-encoded, followed by an HMAC-SHA256 over it with the sandbox's random key, so a
browser can neither forge a logged-in user nor change the company or redirect URI it was shown.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any, cast


def sign(payload: dict[str, Any], *, key: bytes, expires_at: float) -> str:
    body = (
        base64.urlsafe_b64encode(json.dumps({**payload, "exp": expires_at}, separators=(",", ":")).encode())
        .decode()
        .rstrip("=")
    )
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def unsign(value: str, *, key: bytes, now: float) -> dict[str, Any] | None:
    """The payload, or None when the value is malformed, tampered with or expired."""
    body, _, mac = value.partition(".")
    expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except ValueError:
        return None
    if not isinstance(payload, dict) or float(payload.get("exp", 0)) <= now:
        return None
    return cast(dict[str, Any], payload)
