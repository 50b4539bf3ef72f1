"""Reconciling one SpirisConnection: consent link, token health, verification at Spiris, owned children.

A level-triggered function run from a worker thread: it reads the connection's token Secret, refreshes the
token when due (see :mod:`token_refresher`), verifies it against Spiris (company settings and fiscal years)
when the token changed or the last check is old, and returns the new status plus the Events of its
transitions. Every failure lands in status as a condition with a reason a human can act on; nothing here
raises for an expected problem, and no token ever enters the status.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from spiris_client import errors as spiris_errors
from spiris_connection import company_binding, consent_link, install_settings, orgnr, token_secret
from spiris_connection.token_secret import StoredToken, TokenSecretConflict, TokenSecretInvalid
from spiris_sync.job_contract import ConditionType, Phase, Reason

from spiris_operator import conditions, fiscal_year_children, sync_schedule, unused_consents
from spiris_operator.conditions import Condition
from spiris_operator.durations import parse_duration
from spiris_operator.events import EventNote, transition_events
from spiris_operator.kube_api import SYNCS, KubeApi
from spiris_operator.settings import OperatorSettings
from spiris_operator.spiris_access import SpirisReader
from spiris_operator.timestamps import format_time, parse_time
from spiris_operator.token_refresher import (
    Refresher,
    RefreshInterrupted,
    TokenNotPersisted,
    ensure_fresh,
)

__all__ = [
    "ROTATE_ANNOTATION",
    "VERIFY_ANNOTATION",
    "ConnectionContext",
    "ConnectionResult",
    "reconcile_connection",
]

ROTATE_ANNOTATION = "spiris.senseworks.io/rotate-consent-link"
#: Set (to a timestamp) when a sync Job was refused by Spiris: verify the token now, not within the hour.
VERIFY_ANNOTATION = "spiris.senseworks.io/verify-requested-at"
_LINK_RENEW_BEFORE = timedelta(hours=1)
#: Why a connection has no consent link while the operator lacks the web's public URL (the chart installs
#: without one so that it lints as shipped; the link would otherwise point at a host nobody can reach).
PUBLIC_URL_NOT_SET = "PublicUrlNotSet"
PUBLIC_URL_NOT_SET_MESSAGE = (
    "no consent link yet: the operator has no public URL of the web component (SPIRIS_WEB_PUBLIC_URL); "
    f"set {install_settings.PUBLIC_URL.where} to the web's https URL, e.g. https://consent.example.com"
)
#: Why no link is published while the link-signing key is missing (the chart's secretKeyRef is optional so
#: the operator starts and says so instead of waiting on "secret not found"; issuing would raise).
LINK_SIGNING_KEY_NOT_SET = "LinkSigningKeyNotSet"
LINK_SIGNING_KEY_NOT_SET_MESSAGE = (
    "no consent link yet: the operator has no link-signing key (SPIRIS_LINK_SIGNING_KEY); set "
    f"{install_settings.LINK_SIGNING_KEY.where} to at least 16 random characters"
)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConnectionContext:
    """What reconciling needs besides the object."""

    kube: KubeApi
    settings: OperatorSettings
    refresher: Refresher
    reader: SpirisReader
    holder: str
    verify_interval: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


@dataclass
class ConnectionResult:
    """The status to merge into the object, the Events to post, and whether the token was rotated."""

    status: dict[str, Any]
    events: list[EventNote]
    refreshed: bool = False


def _conditions(connection: Mapping[str, Any], now: datetime, *wanted: Condition) -> list[dict[str, Any]]:
    status = connection.get("status") or {}
    generation = int((connection.get("metadata") or {}).get("generation") or 0)
    return conditions.merge(status.get("conditions"), wanted, generation=generation, now=now)


def _link_fields(
    connection: Mapping[str, Any], ctx: ConnectionContext, now: datetime, *, renew: bool
) -> dict[str, Any]:
    """Keep the current consent link, or issue a new one when asked, expiring or absent."""
    metadata = connection["metadata"]
    status = connection.get("status") or {}
    requested = str((metadata.get("annotations") or {}).get(ROTATE_ANNOTATION) or "")
    expires = parse_time(status.get("consentExpiresAt"))
    rotate_asked = bool(requested) and requested != status.get("handledRotation")
    if (
        not renew
        and not rotate_asked
        and status.get("consentUrl")
        and expires
        and expires - now > _LINK_RENEW_BEFORE
    ):
        return {}
    ttl_text = str(((connection.get("spec") or {}).get("consent") or {}).get("linkTTL") or "7d")
    link = consent_link.issue(
        signing_key=ctx.settings.link_signing_key,
        public_url=ctx.settings.web_public_url,
        uid=str(metadata["uid"]),
        namespace=str(metadata["namespace"]),
        name=str(metadata["name"]),
        ttl=parse_duration(ttl_text),
        now=now,
    )
    fields: dict[str, Any] = {"consentUrl": link.url, "consentExpiresAt": format_time(link.expires_at)}
    if requested:
        fields["handledRotation"] = requested
    return fields


def _link_blocker(connection: Mapping[str, Any], ctx: ConnectionContext) -> tuple[str, str] | None:
    """(reason, message) of what keeps a consent link from being published, or None when one can be."""
    if not company_binding.binding_of(connection).consentable:
        # A link for "any company" would let whoever gets hold of it connect any company: none is published
        # until the spec binds one or explicitly allows any (the web refuses such links too).
        return "CompanyNotBound", company_binding.NOT_BOUND_MESSAGE
    if not ctx.settings.web_public_url:
        return PUBLIC_URL_NOT_SET, PUBLIC_URL_NOT_SET_MESSAGE
    if not ctx.settings.link_signing_key:
        return LINK_SIGNING_KEY_NOT_SET, LINK_SIGNING_KEY_NOT_SET_MESSAGE
    return None


def _awaiting_consent(
    connection: Mapping[str, Any],
    ctx: ConnectionContext,
    now: datetime,
    *,
    reason: str,
    message: str,
    reconsent: bool,
    rejected_version: str | None = None,
) -> dict[str, Any]:
    status = connection.get("status") or {}
    phase = Phase.RECONSENT_REQUIRED if reconsent else Phase.PENDING_CONSENT
    blocked = _link_blocker(connection, ctx)
    if blocked is not None:
        blocker, why = blocked
        result_blocked: dict[str, Any] = {
            "phase": phase,
            "consentUrl": None,
            "consentExpiresAt": None,
            "conditions": _conditions(
                connection,
                now,
                Condition.false(ConditionType.READY, blocker, why),
                Condition.false(ConditionType.AUTHORIZED, blocker, f"{message}; {why}"),
                Condition.false(ConditionType.TOKEN_HEALTHY, reason if reconsent else "NoToken", message),
            ),
        }
        if rejected_version is not None:
            result_blocked["rejectedTokenVersion"] = rejected_version
        return result_blocked
    was_reconsent = status.get("phase") == Phase.RECONSENT_REQUIRED
    new_link = reconsent and not was_reconsent
    fields = _link_fields(connection, ctx, now, renew=new_link)
    result: dict[str, Any] = {
        "phase": phase,
        **fields,
        "conditions": _conditions(
            connection,
            now,
            Condition.false(ConditionType.READY, reason, message),
            Condition.false(
                ConditionType.AUTHORIZED, "ReconsentRequired" if reconsent else "AwaitingConsent", message
            ),
            Condition.false(ConditionType.TOKEN_HEALTHY, reason if reconsent else "NoToken", message),
        ),
    }
    if rejected_version is not None:
        result["rejectedTokenVersion"] = rejected_version
    return result


def _current_version(ctx: ConnectionContext, connection: Mapping[str, Any]) -> str | None:
    metadata = connection["metadata"]
    try:
        stored = token_secret.read_token(
            ctx.kube.core, namespace=str(metadata["namespace"]), connection_name=str(metadata["name"])
        )
    except TokenSecretInvalid:
        secret = ctx.kube.core.read_namespaced_secret(
            token_secret.secret_name(str(metadata["name"])),
            str(metadata["namespace"]),
            _request_timeout=token_secret.REQUEST_TIMEOUT,
        )
        return str(cast(Any, secret).metadata.resource_version)
    return stored.resource_version if stored else None


def _reconsent(
    connection: Mapping[str, Any], ctx: ConnectionContext, now: datetime, message: str
) -> dict[str, Any]:
    return _awaiting_consent(
        connection,
        ctx,
        now,
        reason="ReconsentRequired",
        message=message,
        reconsent=True,
        rejected_version=_current_version(ctx, connection),
    )


def _verify(
    connection: Mapping[str, Any], ctx: ConnectionContext, stored: StoredToken, now: datetime
) -> dict[str, Any]:
    """Ask Spiris who the token belongs to; the status fields of a verified (or refused) connection."""
    spec = connection.get("spec") or {}
    company = ctx.reader.company(stored.token.access_token)
    expected = spec.get("expectedCorporateIdentityNumber")
    if expected and not orgnr.same_company(company.corporate_identity_number, expected):
        message = (
            f"the token is for organisation number {company.corporate_identity_number or '(none)'}, "
            f"expected {expected}; consent again with the right company"
        )
        return _awaiting_consent(
            connection,
            ctx,
            now,
            reason="WrongCompany",
            message=message,
            reconsent=True,
            rejected_version=stored.resource_version,
        )
    years = ctx.reader.fiscal_years(stored.token.access_token)
    return {
        "company": {
            "name": company.name,
            "corporateIdentityNumber": company.corporate_identity_number or "",
            "identifier": company.identifier or "",
        },
        "fiscalYears": [
            {"id": fy.id, "startDate": fy.start_date, "endDate": fy.end_date, "locked": fy.locked}
            for fy in sorted(years, key=lambda fy: fy.start_date)
        ],
        "verifiedTokenVersion": stored.resource_version,
        "lastVerifiedTime": format_time(now),
    }


def _verify_request(connection: Mapping[str, Any]) -> str:
    return str(((connection.get("metadata") or {}).get("annotations") or {}).get(VERIFY_ANNOTATION) or "")


def _needs_verification(
    connection: Mapping[str, Any], stored: StoredToken, ctx: ConnectionContext, now: datetime
) -> bool:
    status = connection.get("status") or {}
    if (
        status.get("phase") != Phase.CONNECTED
        or status.get("verifiedTokenVersion") != stored.resource_version
    ):
        return True
    requested = _verify_request(connection)
    if requested and requested != status.get("handledVerifyRequest"):
        return True
    last = parse_time(status.get("lastVerifiedTime"))
    return last is None or now - last >= ctx.verify_interval


def _connected(
    connection: Mapping[str, Any],
    stored: StoredToken,
    now: datetime,
    verified: dict[str, Any],
    *,
    secret_annotations: Mapping[str, str],
) -> dict[str, Any]:
    company = verified.get("company") or (connection.get("status") or {}).get("company") or {}
    expires = datetime.fromtimestamp(stored.token.expires_at, UTC)
    unused = unused_consents.status_field(secret_annotations)
    authorized = "Spiris accepted the token" + unused_consents.authorized_note(secret_annotations)
    return {
        "phase": Phase.CONNECTED,
        **({"unusedConsents": unused} if unused else {}),
        **verified,
        "tokenSecretName": token_secret.secret_name(str(connection["metadata"]["name"])),
        "accessTokenExpiresAt": format_time(expires),
        "consentUrl": None,
        "consentExpiresAt": None,
        "rejectedTokenVersion": None,
        "conditions": _conditions(
            connection,
            now,
            Condition.true(
                ConditionType.READY, "Connected", f"connected to {company.get('name', 'the company')}"
            ),
            Condition.true(ConditionType.AUTHORIZED, "ConsentGiven", authorized),
            Condition.true(
                ConditionType.TOKEN_HEALTHY, "TokenValid", f"access token valid until {format_time(expires)}"
            ),
        ),
    }


def _refresh(
    connection: Mapping[str, Any], ctx: ConnectionContext, *, force: bool
) -> tuple[StoredToken | None, bool]:
    outcome = ensure_fresh(
        ctx.kube,
        connection=connection,
        refresher=ctx.refresher,
        margin=ctx.settings.refresh_margin,
        lease=ctx.settings.refresh_lease,
        holder=ctx.holder,
        force=force,
        refresh_timeout=ctx.settings.refresh_timeout.total_seconds(),
    )
    return (outcome.stored, outcome.refreshed) if outcome else (None, False)


def _token_status(
    connection: Mapping[str, Any], ctx: ConnectionContext, now: datetime
) -> tuple[dict[str, Any], bool]:
    status = connection.get("status") or {}
    metadata = connection["metadata"]
    try:
        peek = token_secret.read_token(
            ctx.kube.core, namespace=str(metadata["namespace"]), connection_name=str(metadata["name"])
        )
    except TokenSecretInvalid as exc:
        return _reconsent(connection, ctx, now, f"the token Secret is unusable ({exc}); consent again"), False
    if peek is None:
        if status.get("phase") in {Phase.CONNECTED, Phase.RECONSENT_REQUIRED}:
            message = "the token Secret is gone; the company must consent again"
            return _awaiting_consent(
                connection, ctx, now, reason="TokenMissing", message=message, reconsent=True
            ), False
        message = "waiting for someone at the company to open the consent link"
        return _awaiting_consent(
            connection, ctx, now, reason="AwaitingConsent", message=message, reconsent=False
        ), False
    if status.get("rejectedTokenVersion") == peek.resource_version:
        # Still the refused token: keep saying why it was refused (invalid grant, wrong company, ...).
        previous = conditions.find(status.get("conditions"), ConditionType.READY) or {}
        reason = str(previous.get("reason") or "ReconsentRequired")
        message = str(
            previous.get("message") or "Spiris refused the stored token; the company must consent again"
        )
        return _awaiting_consent(connection, ctx, now, reason=reason, message=message, reconsent=True), False
    try:
        stored, refreshed = _refresh(connection, ctx, force=False)
        if stored is None:
            return _token_status(connection, ctx, now)
        verified: dict[str, Any] = {}
        if _needs_verification(connection, stored, ctx, now):
            try:
                verified = _verify(connection, ctx, stored, now)
            except spiris_errors.Unauthorized:
                stored, refreshed = _refresh(connection, ctx, force=True)
                if stored is None:
                    return _token_status(connection, ctx, now)
                verified = _verify(connection, ctx, stored, now)
            if verified.get("phase"):
                return verified, refreshed
            if _verify_request(connection):
                verified["handledVerifyRequest"] = _verify_request(connection)
        result = _connected(connection, stored, now, verified, secret_annotations=peek.annotations)
        if refreshed:
            result["lastTokenRefreshTime"] = format_time(now)
        return result, refreshed
    except RefreshInterrupted as exc:
        message = f"{exc.description}; the company must consent again"
        return _reconsent(connection, ctx, now, message), False
    except spiris_errors.ConsentRequired:
        message = "Spiris refused the refresh token (invalid_grant); the company must consent again"
        return _reconsent(connection, ctx, now, message), False
    except spiris_errors.Unauthorized:
        message = "Spiris rejects even a freshly refreshed token; the company must consent again"
        return _reconsent(connection, ctx, now, message), False
    except spiris_errors.Forbidden as exc:
        reason = "SpirisAccessDenied"
        message = f"Spiris denies access: {exc.guidance}"
        return {
            "phase": Phase.FAILED,
            "conditions": _conditions(
                connection,
                now,
                Condition.false(ConditionType.READY, reason, message),
                Condition.false(ConditionType.AUTHORIZED, reason, message),
            ),
        }, False
    except (
        spiris_errors.SpirisUnavailable,
        spiris_errors.ServerError,
        spiris_errors.RateLimited,
        spiris_errors.OAuthError,
        TokenSecretConflict,
        TokenNotPersisted,
    ) as exc:
        message = f"could not refresh or verify the token yet: {type(exc).__name__}; retrying"
        logger.warning("connection %s/%s: %s", metadata["namespace"], metadata["name"], message)
        wanted = [Condition.false(ConditionType.TOKEN_HEALTHY, Reason.REFRESH_FAILED, message)]
        expires = parse_time(status.get("accessTokenExpiresAt"))
        if status.get("phase") != Phase.CONNECTED or expires is None or expires <= now:
            wanted.append(Condition.false(ConditionType.READY, "SpirisUnavailable", message))
        return {"conditions": _conditions(connection, now, *wanted)}, False


def _sync_children(connection: Mapping[str, Any], ctx: ConnectionContext) -> None:
    """Create the FiscalYearSyncs for the N latest fiscal years and remove auto-created ones that fell out."""
    metadata = connection["metadata"]
    namespace = str(metadata["namespace"])
    existing = ctx.kube.list_custom(
        SYNCS, namespace, selector=f"{token_secret.CONNECTION_LABEL}={metadata['name']}"
    )
    present = {str(item["metadata"]["name"]) for item in existing}
    for child in fiscal_year_children.desired_children(connection):
        if child["metadata"]["name"] not in present:
            ctx.kube.create_custom(SYNCS, namespace, child)
    for name in fiscal_year_children.surplus_children(connection, existing):
        ctx.kube.delete_custom(SYNCS, namespace, name)


def _spec_problem(spec: Mapping[str, Any]) -> str | None:
    """What the CRD schema cannot catch (e.g. ``linkTTL: 0s``, a malformed cron), as a sentence; else None."""
    try:
        parse_duration(str((spec.get("consent") or {}).get("linkTTL") or "7d"))
        sync_schedule.validate_schedule(str((spec.get("sync") or {}).get("schedule") or ""))
    except ValueError as exc:
        return str(exc)
    return None


def reconcile_connection(connection: Mapping[str, Any], ctx: ConnectionContext) -> ConnectionResult:
    """One reconcile pass; call repeatedly (timer) and on token Secret changes."""
    now = ctx.clock()
    old = dict(connection.get("status") or {})
    generation = int((connection.get("metadata") or {}).get("generation") or 0)
    spec = connection.get("spec") or {}
    refreshed = False
    problem = _spec_problem(spec)
    status: dict[str, Any]
    if problem is not None:
        status = {
            "phase": Phase.FAILED,
            "conditions": _conditions(
                connection, now, Condition.false(ConditionType.READY, "InvalidSpec", problem)
            ),
        }
    elif spec.get("suspend"):
        message = "spec.suspend is true: no token refresh, no syncs"
        status = {
            "phase": Phase.SUSPENDED,
            "conditions": _conditions(
                connection, now, Condition.false(ConditionType.READY, "Suspended", message)
            ),
        }
    else:
        status, refreshed = _token_status(connection, ctx, now)
    status["observedGeneration"] = generation
    merged = {**old, **{k: v for k, v in status.items()}}
    if merged.get("phase") == Phase.CONNECTED and not spec.get("suspend"):
        _sync_children({**connection, "status": merged}, ctx)
    events = transition_events(old, status)
    events.extend(unused_consents.new_events(old, status))
    if refreshed:
        events.append(EventNote("Normal", "TokenRefreshed", "access token refreshed and stored"))
    if "consentUrl" in status and status["consentUrl"] and status["consentUrl"] != old.get("consentUrl"):
        events.append(
            EventNote(
                "Normal", "ConsentLinkIssued", f"new consent link, valid until {status['consentExpiresAt']}"
            )
        )
    return ConnectionResult(status=status, events=events, refreshed=refreshed)
