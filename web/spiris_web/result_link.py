"""Signed, short-lived links that re-render a callback's result page, used by the language switch.

The callback URL cannot be reloaded (its state and code are single-use), so the result page's "In English"
link points at `/result/{token}` instead: an HS256 token (its own derived key) holding the outcome and the
display values only — company name and organisation numbers, never a code or token.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from joserfc.errors import JoseError
from spiris_connection.link_keys import KeyRing, LinkKeys

from spiris_web.outcomes import Outcome
from spiris_web.signing_keys import KeyPurpose, derive_ring

RESULT_TTL_SECONDS = 3600
DISPLAY_KEYS = ("company", "orgnr", "expected_orgnr")


class ResultLinkInvalid(Exception):
    """The result token is forged, expired or malformed."""


@dataclass(frozen=True)
class ResultLinks:
    """Issues and reads result tokens."""

    keys: KeyRing

    @classmethod
    def from_master(cls, master: str | LinkKeys) -> ResultLinks:
        return cls(keys=derive_ring(master, KeyPurpose.RESULT))

    def issue(self, outcome: Outcome, values: Mapping[str, str], *, now: float | None = None) -> str:
        issued = int(time.time() if now is None else now)
        claims = {
            "typ": "result",
            "o": outcome.value,
            "v": {k: str(values[k]) for k in DISPLAY_KEYS if k in values},
            "exp": issued + RESULT_TTL_SECONDS,
        }
        return self.keys.encode_jwt(claims)

    def read(self, token: str, *, now: float | None = None) -> tuple[Outcome, dict[str, str]]:
        try:
            claims = self.keys.decode_jwt(token).claims
            outcome = Outcome(claims.get("o"))
        except (JoseError, ValueError) as exc:
            raise ResultLinkInvalid("result link invalid") from exc
        expires = claims.get("exp")
        values = claims.get("v")
        if claims.get("typ") != "result" or not isinstance(expires, int) or not isinstance(values, dict):
            raise ResultLinkInvalid("not a result link")
        if expires < (time.time() if now is None else now):
            raise ResultLinkInvalid("result link expired")
        return outcome, {str(k): str(v) for k, v in values.items() if k in DISPLAY_KEYS}
