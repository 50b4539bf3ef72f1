"""Issue 14 item 8: rotating the link-signing key keeps pending links and flows alive.

Every token names its key (``kid``); the current key signs, the keys in ``SPIRIS_LINK_PREVIOUS_SIGNING_KEYS``
still verify, a link from before key ids existed is tried against every key, and an unknown or forged key id
is refused. Covered for consent links and for each of the web's own tokens (OAuth state, encrypted flow
cookie, browser cookie, CSRF token, result link).
"""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import pytest
from joserfc import jwt
from joserfc.jwk import OctKey
from spiris_connection import consent_link
from spiris_connection.consent_link import InvalidConsentLink
from spiris_connection.link_keys import LinkKeys, header_of, key_id, parse_previous
from spiris_web.browser_binding import BrowserBinding, CsrfError
from spiris_web.oauth_state import OAuthStateCodec, StateError
from spiris_web.outcomes import Outcome
from spiris_web.result_link import ResultLinkInvalid, ResultLinks
from spiris_web.settings import WebSettings

OLD = "old-signing-key-0123456789abcdef"
NEW = "new-signing-key-0123456789abcdef"
ROTATED = LinkKeys(current=NEW, previous=(OLD,))
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _link(key: str | LinkKeys) -> consent_link.ConsentLink:
    return consent_link.issue(
        signing_key=key, public_url="https://c.example", uid="u", namespace="ns", name="acme",
        ttl=timedelta(days=7), now=NOW,
    )


def test_a_link_names_its_key_and_survives_a_rotation() -> None:
    link = _link(OLD)
    assert header_of(link.token)["kid"] == key_id(OLD) and len(key_id(OLD)) == 16
    assert OLD not in link.token and key_id(OLD) != key_id(NEW)
    claims = consent_link.verify(link.token, signing_key=ROTATED, now=NOW)
    assert claims.jti == link.jti
    with pytest.raises(InvalidConsentLink) as refused:  # the old key dropped: the link is dead
        consent_link.verify(link.token, signing_key=NEW, now=NOW)
    assert refused.value.reason == "forged"
    fresh = _link(ROTATED)  # after the rotation links are signed with the new key
    assert header_of(fresh.token)["kid"] == key_id(NEW)
    assert consent_link.verify(fresh.token, signing_key=NEW, now=NOW).jti == fresh.jti


def test_links_without_key_id_and_forged_key_ids() -> None:
    claims = {"aud": consent_link.AUDIENCE, "uid": "u", "ns": "ns", "name": "acme", "jti": "j",
              "iat": int(NOW.timestamp()), "exp": int(NOW.timestamp()) + 3600}
    legacy = jwt.encode({"alg": "HS256"}, claims, OctKey.import_key(OLD.encode()))
    assert consent_link.verify(legacy, signing_key=ROTATED, now=NOW).jti == "j"
    # A token made with the old key but claiming the new key's id is refused (no key made that signature).
    old_key = OctKey.import_key(OLD.encode())
    for kid in (key_id(NEW), "unknown", "ä"):
        token = jwt.encode({"alg": "HS256", "kid": kid}, claims, old_key)
        with pytest.raises(InvalidConsentLink) as refused:
            consent_link.verify(token, signing_key=ROTATED, now=NOW)
        assert refused.value.reason == "forged"
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "kid": key_id(OLD)}).encode()).rstrip(b"=")
    unsigned = header.decode() + "." + legacy.split(".")[1] + "."
    with pytest.raises(InvalidConsentLink):
        consent_link.verify(unsigned, signing_key=ROTATED, now=NOW)


def test_the_web_tokens_survive_a_rotation() -> None:
    before = OAuthStateCodec.from_master(OLD, ttl_seconds=600, secure=True)
    after = OAuthStateCodec.from_master(ROTATED, ttl_seconds=600, secure=True)
    only_new = OAuthStateCodec.from_master(NEW, ttl_seconds=600, secure=True)
    flow = before.start(namespace="ns", name="acme", uid="u", link_jti="l", nonce="n1")
    cookie = before.flow_cookie_value(flow)
    assert header_of(flow.state)["kid"] == key_id(OLD) and header_of(cookie)["kid"] == key_id(OLD)
    claims = after.verify(flow.state)
    assert after.code_verifier_for(claims, flow_cookie=cookie, nonce="n1") == flow.code_verifier
    with pytest.raises(StateError):
        only_new.verify(flow.state)
    with pytest.raises(StateError):
        only_new.code_verifier_for(claims, flow_cookie=cookie, nonce="n1")

    binding_before = BrowserBinding.from_master(OLD, secure=True)
    binding_after = BrowserBinding.from_master(ROTATED, secure=True)
    value = binding_before.cookie_value("nonce-1")
    assert binding_after.read_nonce(value) == "nonce-1"
    assert BrowserBinding.from_master(NEW, secure=True).read_nonce(value) is None
    csrf = binding_before.issue_csrf_token(nonce="nonce-1", link_jti="l")
    binding_after.verify_csrf_token(csrf, nonce="nonce-1", link_jti="l")
    with pytest.raises(CsrfError):
        BrowserBinding.from_master(NEW, secure=True).verify_csrf_token(csrf, nonce="nonce-1", link_jti="l")

    result = ResultLinks.from_master(OLD).issue(Outcome.SUCCESS, {"company": "Acme"})
    assert ResultLinks.from_master(ROTATED).read(result) == (Outcome.SUCCESS, {"company": "Acme"})
    with pytest.raises(ResultLinkInvalid):
        ResultLinks.from_master(NEW).read(result)


def test_previous_keys_come_from_the_environment() -> None:
    assert parse_previous(" a-key-of-16-bytes!! , ,b-key-of-16-bytes!! ") == (
        "a-key-of-16-bytes!!", "b-key-of-16-bytes!!",
    )
    settings = WebSettings.from_env({
        "SPIRIS_WEB_PUBLIC_URL": "https://c.example", "SPIRIS_CLIENT_ID": "c", "SPIRIS_CLIENT_SECRET": "s",
        "SPIRIS_LINK_SIGNING_KEY": NEW, "SPIRIS_LINK_PREVIOUS_SIGNING_KEYS": OLD,
    })
    assert settings.link_keys == ROTATED
    with pytest.raises(ValueError):
        WebSettings.from_env({
            "SPIRIS_WEB_PUBLIC_URL": "https://c.example", "SPIRIS_CLIENT_ID": "c",
            "SPIRIS_CLIENT_SECRET": "s", "SPIRIS_LINK_SIGNING_KEY": NEW,
            "SPIRIS_LINK_PREVIOUS_SIGNING_KEYS": "short",
        })
