"""Consents that Spiris granted but we did not use: the record the web writes and the operator surfaces.

When two people finish the consent flow of one link at the same time, the first token written wins and the
second is thrown away — yet its grant stays live at Spiris, which documents no revocation endpoint
(spiris-api.md §1: "Revocation endpoint: UNKNOWN / not documented"). So the web records each such grant in the
annotation ``spiris.senseworks.io/unused-consents`` of the token Secret (JSON list, newest last, at most
:data:`MAX_ENTRIES`: time, company name, organisation number and Spiris company id — never a token), and the
operator turns new entries into a Warning Event and a note on the Authorized condition, telling a person to
remove the integration in Spiris. The annotation survives token refreshes like every other annotation.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

__all__ = ["ANNOTATION", "MAX_ENTRIES", "UnusedGrant", "append", "parse", "summary"]

ANNOTATION = "spiris.senseworks.io/unused-consents"
#: Older entries fall off; the total count is kept in ``count`` of the newest entry.
MAX_ENTRIES = 10
_MAX_TEXT = 120


@dataclass(frozen=True)
class UnusedGrant:
    """One consent given at Spiris whose token was discarded; ``count`` numbers it (1 = the first ever)."""

    at: str
    company: str
    orgnr: str
    company_id: str
    count: int = 0


def parse(annotations: Mapping[str, str] | None) -> list[UnusedGrant]:
    """The recorded unused grants, oldest first; an unreadable annotation reads as none (never raises)."""
    raw = (annotations or {}).get(ANNOTATION)
    if not raw:
        return []
    try:
        items = json.loads(raw)
    except ValueError:
        return []
    grants: list[UnusedGrant] = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            grants.append(
                UnusedGrant(
                    at=str(item.get("at", ""))[:_MAX_TEXT],
                    company=str(item.get("company", ""))[:_MAX_TEXT],
                    orgnr=str(item.get("orgnr", ""))[:_MAX_TEXT],
                    company_id=str(item.get("companyId", ""))[:_MAX_TEXT],
                    count=int(item["count"]) if isinstance(item.get("count"), int) else len(grants) + 1,
                )
            )
    return grants


def append(
    annotations: Mapping[str, str] | None, *, at: datetime, company: str, orgnr: str, company_id: str
) -> dict[str, str]:
    """``annotations`` with one more unused grant recorded (the others kept as they are)."""
    grants = parse(annotations)
    count = (grants[-1].count if grants else 0) + 1
    entries = [
        {"at": g.at, "company": g.company, "orgnr": g.orgnr, "companyId": g.company_id, "count": g.count}
        for g in grants
    ]
    entries.append({
        "at": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "company": company[:_MAX_TEXT],
        "orgnr": orgnr[:_MAX_TEXT],
        "companyId": company_id[:_MAX_TEXT],
        "count": count,
    })
    return {**dict(annotations or {}), ANNOTATION: json.dumps(entries[-MAX_ENTRIES:], ensure_ascii=False)}


def summary(grant: UnusedGrant) -> str:
    """One sentence for an Event or a condition message (company name and number are not secrets)."""
    who = grant.company or "a company"
    number = f" ({grant.orgnr})" if grant.orgnr else ""
    return (
        f"a concurrent consent for {who}{number} at {grant.at} was not used; its grant is still valid at "
        "Spiris (no revocation endpoint): remove the integration in Spiris if it is not wanted"
    )
