"""Deciding whether a consent link (or the OAuth flow started from it) may still be used.

The rules of docs/architecture.md: the link's signature and expiry hold, the SpirisConnection it names
still exists with the same uid, its `status.consentUrl` still carries this very link (the operator rotates
links), it is not Ready (a used link is dead) and it is bound to a company (`expectedCorporateIdentityNumber`)
or explicitly allows any (`allowAnyCompany`). On top, the web refuses a link or state that already
produced the current token Secret (annotations written by `connections`), so a link is single-use even
before the operator has reacted. The callback's check also hands back the token Secret version it saw: the
consent may only be written over that version. Every refusal is an `Outcome`, i.e. a page the person can act
on.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from spiris_connection import company_binding, consent_link
from spiris_connection.consent_link import ConsentClaims, InvalidConsentLink
from spiris_connection.link_keys import LinkKeys

from spiris_web.connections import ConnectionStore, ConsentRecord
from spiris_web.oauth_state import StateClaims
from spiris_web.outcomes import Outcome

_REASON_OUTCOMES = {
    "malformed": Outcome.LINK_INVALID,
    "forged": Outcome.LINK_INVALID,
    "expired": Outcome.LINK_EXPIRED,
    "foreign": Outcome.LINK_UNKNOWN,
    "used": Outcome.LINK_USED,
    "rotated": Outcome.LINK_REPLACED,
}


class LinkRefused(Exception):
    """The link or flow cannot continue; `outcome` is the page to show."""

    def __init__(self, outcome: Outcome, reason: str) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason


@dataclass(frozen=True)
class CheckedFlow:
    """A flow allowed to finish: the live connection and the token Secret as checked (None: no Secret)."""

    connection: dict[str, Any]
    record: ConsentRecord | None


@dataclass(frozen=True)
class CurrentLink:
    """A consent link that is valid right now, with the connection it authorizes."""

    claims: ConsentClaims
    connection: dict[str, Any]


def _refusal(error: InvalidConsentLink) -> LinkRefused:
    return LinkRefused(_REASON_OUTCOMES.get(error.reason, Outcome.LINK_INVALID), error.reason)


def _require_binding(connection: dict[str, Any]) -> None:
    if not company_binding.binding_of(connection).consentable:
        raise LinkRefused(Outcome.COMPANY_NOT_BOUND, "no expected company and allowAnyCompany not set")


def resolve_link(store: ConnectionStore, *, token: str, signing_key: str | LinkKeys) -> CurrentLink:
    """Verify a link opened by a browser. Blocking (Kubernetes calls): run it in a thread."""
    try:
        claims = consent_link.verify(token, signing_key=signing_key)
    except InvalidConsentLink as exc:
        raise _refusal(exc) from None
    connection = store.get_connection(namespace=claims.namespace, name=claims.name)
    if connection is None:
        raise LinkRefused(Outcome.LINK_UNKNOWN, "connection not found")
    try:
        consent_link.check_against_connection(claims, token, connection)
    except InvalidConsentLink as exc:
        raise _refusal(exc) from None
    _require_binding(connection)
    record = store.consent_record(namespace=claims.namespace, connection_name=claims.name)
    if record is not None and record.link_jti == claims.jti:
        raise LinkRefused(Outcome.LINK_USED, "link already produced the token Secret")
    return CurrentLink(claims=claims, connection=connection)


def recheck_for_state(
    store: ConnectionStore, *, state: StateClaims, signing_key: str | LinkKeys
) -> CheckedFlow:
    """At callback time: the link the flow started from must still be the current one, and unused.

    Returns the live connection and the Secret version checked. Blocking (Kubernetes calls): run it in a
    thread.
    """
    connection = store.get_connection(namespace=state.namespace, name=state.name)
    if connection is None or (connection.get("metadata") or {}).get("uid") != state.uid:
        raise LinkRefused(Outcome.LINK_UNKNOWN, "connection gone or re-created")
    current_token = consent_link.token_from_url(str((connection.get("status") or {}).get("consentUrl") or ""))
    if not current_token:
        raise LinkRefused(Outcome.LINK_USED, "no consent link published any more")
    try:
        current = consent_link.verify(current_token, signing_key=signing_key)
        consent_link.check_against_connection(current, current_token, connection)
    except InvalidConsentLink as exc:
        raise _refusal(exc) from None
    if current.jti != state.link_jti:
        raise LinkRefused(Outcome.LINK_REPLACED, "link rotated during the flow")
    _require_binding(connection)
    record = store.consent_record(namespace=state.namespace, connection_name=state.name)
    if record is not None and record.state_jti == state.jti:
        raise LinkRefused(Outcome.STATE_INVALID, "state already used")
    if record is not None and record.link_jti == state.link_jti:
        raise LinkRefused(Outcome.LINK_USED, "link already produced the token Secret")
    return CheckedFlow(connection=connection, record=record)
