"""Surfacing consents the web discarded (see :mod:`spiris_connection.unused_grants`) on the connection.

Spiris documents no revocation endpoint, so a grant given in a lost consent race stays live at Spiris until a
person removes the integration there. The web records each on the token Secret; here the operator turns
them into ``status.unusedConsents`` (count, time and company of the newest, one sentence), a note on the
Authorized condition, and a Warning Event ``UnusedConsent`` whenever the count grows. Plain functions over
dicts: no Kubernetes calls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from spiris_connection import unused_grants

from spiris_operator.events import EventNote

__all__ = ["authorized_note", "new_events", "status_field"]


def status_field(annotations: Mapping[str, str]) -> dict[str, Any] | None:
    """``status.unusedConsents`` for the recorded grants; None when there are none."""
    grants = unused_grants.parse(annotations)
    if not grants:
        return None
    newest = grants[-1]
    return {
        "count": newest.count,
        "lastTime": newest.at,
        "lastCompany": newest.company,
        "lastCorporateIdentityNumber": newest.orgnr,
        "message": unused_grants.summary(newest),
    }


def authorized_note(annotations: Mapping[str, str]) -> str:
    """The sentence appended to the Authorized condition's message ('' when nothing was recorded)."""
    grants = unused_grants.parse(annotations)
    if not grants:
        return ""
    count = grants[-1].count
    plural = "consent was" if count == 1 else "consents were"
    return f"; {count} concurrent {plural} not used — newest: {unused_grants.summary(grants[-1])}"


def new_events(old_status: Mapping[str, Any], new_status: Mapping[str, Any]) -> list[EventNote]:
    """A Warning Event when the count of unused consents grew since the last status (once per growth)."""
    before = int(((old_status.get("unusedConsents") or {}).get("count")) or 0)
    after = new_status.get("unusedConsents") or {}
    if int(after.get("count") or 0) <= before:
        return []
    grown = int(after["count"]) - before
    prefix = "" if grown == 1 else f"{grown} concurrent consents were not used; newest: "
    return [EventNote("Warning", "UnusedConsent", prefix + str(after.get("message") or ""))]
