"""Signed, short-lived viewer links: the credential of the auditor's viewer page.

A browser cannot send a Kubernetes bearer token with every `<iframe>` and image request, so an authorised
API caller mints a link (`POST …/fiscal-years/{year}/viewer-links`, or `kubectl spiris view`) that carries a
compact HMAC-SHA256 signed claim: the connection's namespace, name and uid, the fiscal year (as asked for: the
calendar year it starts in, or its id), and an expiry (default one hour). The viewer's own routes accept only
that claim and only for that connection and year; a link for a deleted and re-created connection (new uid)
is dead. The key is `SPIRIS_API_LINK_KEY`, the API's own.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
import uuid
from dataclasses import dataclass

from spiris_store.read_records import FiscalYearRef

from spiris_read.problems import NotAuthenticated


@dataclass(frozen=True)
class ViewerClaim:
    namespace: str
    name: str
    uid: str
    year: FiscalYearRef
    expires_at: int


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _year_json(year: FiscalYearRef) -> int | str:
    return str(year) if isinstance(year, uuid.UUID) else year


def _year_of(value: object) -> FiscalYearRef:
    if isinstance(value, str):
        return uuid.UUID(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValueError("year")


def mint(claim: ViewerClaim, *, key: bytes) -> str:
    payload = _b64(
        json.dumps(
            [claim.namespace, claim.name, claim.uid, _year_json(claim.year), claim.expires_at],
            separators=(",", ":"),
        ).encode()
    )
    signature = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    return f"{payload}.{signature}"


def verify(token: str, *, key: bytes, now: float | None = None) -> ViewerClaim:
    """The claim of a valid, unexpired link; `NotAuthenticated` for anything else."""
    payload, _, signature = token.partition(".")
    expected = _b64(hmac.new(key, payload.encode(), hashlib.sha256).digest())
    if not signature or not hmac.compare_digest(signature, expected):
        raise NotAuthenticated("This viewer link is not valid.")
    try:
        namespace, name, uid, year, expires_at = json.loads(_unb64(payload))
        claim = ViewerClaim(str(namespace), str(name), str(uid), _year_of(year), int(expires_at))
    except (ValueError, TypeError, binascii.Error):
        raise NotAuthenticated("This viewer link is not valid.") from None
    if claim.expires_at <= (time.time() if now is None else now):
        raise NotAuthenticated("This viewer link has expired; ask for a new one (kubectl spiris view).")
    return claim
