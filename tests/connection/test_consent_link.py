"""Consent links: signed, expiring, bound to one connection, dead once rotated or used."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from spiris_connection import consent_link
from spiris_connection.consent_link import InvalidConsentLink

KEY = "test-signing-key-0123456789abcdef"
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _issue(**overrides: object) -> consent_link.ConsentLink:
    args: dict[str, object] = {
        "signing_key": KEY,
        "public_url": "https://consent.example.com/",
        "uid": "uid-1",
        "namespace": "clients",
        "name": "acme",
        "ttl": timedelta(days=7),
        "now": NOW,
    }
    args.update(overrides)
    return consent_link.issue(**args)  # type: ignore[arg-type]


def _connection(
    link: consent_link.ConsentLink, *, uid: str = "uid-1", ready: str = "False"
) -> dict[str, object]:
    return {
        "metadata": {"name": "acme", "namespace": "clients", "uid": uid},
        "status": {"consentUrl": link.url, "conditions": [{"type": "Ready", "status": ready}]},
    }


def test_issued_link_verifies_and_carries_the_connection() -> None:
    link = _issue()
    assert link.url == f"https://consent.example.com/consent/{link.token}"
    assert link.expires_at == NOW + timedelta(days=7)
    claims = consent_link.verify(link.token, signing_key=KEY, now=NOW + timedelta(days=6))
    assert (claims.uid, claims.namespace, claims.name, claims.jti) == ("uid-1", "clients", "acme", link.jti)
    assert consent_link.token_from_url(link.url) == link.token
    consent_link.check_against_connection(claims, link.token, _connection(link))


def test_two_links_differ() -> None:
    assert _issue().token != _issue().token


def test_expired_link_is_refused() -> None:
    link = _issue(ttl=timedelta(hours=1))
    with pytest.raises(InvalidConsentLink) as err:
        consent_link.verify(link.token, signing_key=KEY, now=NOW + timedelta(hours=1, seconds=1))
    assert err.value.reason == "expired"


def test_forged_and_garbage_links_are_refused_without_echoing_them() -> None:
    link = _issue()
    with pytest.raises(InvalidConsentLink) as err:
        consent_link.verify(link.token, signing_key="another-key-0123456789abcdef", now=NOW)
    assert err.value.reason == "forged"
    assert link.token not in str(err.value)
    head, body, sig = link.token.split(".")
    tampered = f"{head}.{body}.{sig[::-1]}"
    with pytest.raises(InvalidConsentLink):
        consent_link.verify(tampered, signing_key=KEY, now=NOW)
    with pytest.raises(InvalidConsentLink) as err:
        consent_link.verify("not-a-token", signing_key=KEY, now=NOW)
    assert err.value.reason == "malformed"


def test_rotated_link_is_dead() -> None:
    old, new = _issue(), _issue()
    claims = consent_link.verify(old.token, signing_key=KEY, now=NOW)
    with pytest.raises(InvalidConsentLink) as err:
        consent_link.check_against_connection(claims, old.token, _connection(new))
    assert err.value.reason == "rotated"


def test_link_of_a_recreated_connection_is_foreign() -> None:
    link = _issue()
    claims = consent_link.verify(link.token, signing_key=KEY, now=NOW)
    with pytest.raises(InvalidConsentLink) as err:
        consent_link.check_against_connection(claims, link.token, _connection(link, uid="uid-2"))
    assert err.value.reason == "foreign"


def test_used_link_is_dead_once_ready() -> None:
    link = _issue()
    claims = consent_link.verify(link.token, signing_key=KEY, now=NOW)
    with pytest.raises(InvalidConsentLink) as err:
        consent_link.check_against_connection(claims, link.token, _connection(link, ready="True"))
    assert err.value.reason == "used"


def test_short_signing_key_is_a_configuration_error() -> None:
    with pytest.raises(ValueError, match="at least 16 bytes"):
        _issue(signing_key="short")
