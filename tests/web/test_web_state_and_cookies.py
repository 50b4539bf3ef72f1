"""Unit tests of the browser cookie, the CSRF token, the OAuth state and the encrypted PKCE cookie."""

from __future__ import annotations

import base64
import hashlib
from datetime import timedelta

import pytest
from spiris_connection import consent_link
from spiris_web.browser_binding import BrowserBinding, CsrfError
from spiris_web.oauth_state import (
    AuthorizationStart,
    OAuthStateCodec,
    StateError,
    StateExpired,
    pkce_challenge,
)

KEY = "k" * 32
OTHER_KEY = "o" * 32


def codec(key: str = KEY, ttl: int = 600) -> OAuthStateCodec:
    return OAuthStateCodec.from_master(key, ttl_seconds=ttl, secure=True)


def start(c: OAuthStateCodec, nonce: str = "nonce-1", now: float | None = None) -> AuthorizationStart:
    return c.start(namespace="ns", name="acme", uid="uid-1", link_jti="link-1", nonce=nonce, now=now)


def test_cookie_roundtrip_and_tamper() -> None:
    binding = BrowserBinding.from_master(KEY, secure=False)
    nonce = binding.new_nonce()
    value = binding.cookie_value(nonce)
    assert binding.read_nonce(value) == nonce
    assert binding.read_nonce(value[:-1] + ("0" if value[-1] != "0" else "1")) is None
    assert binding.read_nonce("other." + value.split(".")[1]) is None
    assert binding.read_nonce(None) is None
    assert BrowserBinding.from_master(OTHER_KEY, secure=False).read_nonce(value) is None


def test_csrf_token_bound_to_browser_link_and_time() -> None:
    binding = BrowserBinding.from_master(KEY, secure=False)
    token = binding.issue_csrf_token(nonce="n1", link_jti="L1", now=1000)
    binding.verify_csrf_token(token, nonce="n1", link_jti="L1", now=1500)
    with pytest.raises(CsrfError):
        binding.verify_csrf_token(token, nonce="n2", link_jti="L1", now=1500)
    with pytest.raises(CsrfError):
        binding.verify_csrf_token(token, nonce="n1", link_jti="L2", now=1500)
    with pytest.raises(CsrfError):
        binding.verify_csrf_token(token, nonce="n1", link_jti="L1", now=1000 + 3601)
    with pytest.raises(CsrfError):
        binding.verify_csrf_token(token, nonce=None, link_jti="L1", now=1500)
    with pytest.raises(CsrfError):
        BrowserBinding.from_master(OTHER_KEY, secure=False).verify_csrf_token(
            token, nonce="n1", link_jti="L1", now=1500
        )


def test_state_roundtrip_and_pkce_s256() -> None:
    c = codec()
    flow = start(c)
    claims = c.verify(flow.state)
    assert (claims.namespace, claims.name, claims.uid, claims.link_jti) == ("ns", "acme", "uid-1", "link-1")
    expected = base64.urlsafe_b64encode(hashlib.sha256(flow.code_verifier.encode()).digest()).rstrip(b"=")
    assert flow.code_challenge == expected.decode() == pkce_challenge(flow.code_verifier)
    assert 43 <= len(flow.code_verifier) <= 128
    assert flow.code_verifier not in flow.state
    cookie = c.flow_cookie_value(flow)
    assert flow.code_verifier not in cookie  # encrypted, not just signed
    assert c.code_verifier_for(claims, flow_cookie=cookie, nonce="nonce-1") == flow.code_verifier


def test_state_refuses_tampering_other_keys_and_other_token_kinds() -> None:
    c = codec()
    flow = start(c)
    header, payload, signature = flow.state.split(".")
    forged_payload = base64.urlsafe_b64encode(
        base64.urlsafe_b64decode(payload + "==").replace(b"uid-1", b"uid-2")
    ).rstrip(b"=").decode()
    with pytest.raises(StateError):
        c.verify(f"{header}.{forged_payload}.{signature}")
    with pytest.raises(StateError):
        codec(OTHER_KEY).verify(flow.state)
    with pytest.raises(StateError):
        c.verify(None)
    # A genuine consent link signed with the same master key must not pass as a state.
    link = consent_link.issue(
        signing_key=KEY, public_url="http://x", uid="u", namespace="ns", name="n", ttl=timedelta(hours=1)
    )
    with pytest.raises(StateError):
        c.verify(link.token)


def test_state_expiry() -> None:
    c = codec(ttl=60)
    flow = start(c, now=1000)
    with pytest.raises(StateExpired):
        c.verify(flow.state, now=1061)
    assert c.verify(flow.state, now=1059).jti == flow.state_jti


def test_flow_cookie_binding() -> None:
    c = codec()
    flow = start(c, nonce="mine")
    other = start(c, nonce="mine")
    claims = c.verify(flow.state)
    cookie = c.flow_cookie_value(flow)
    with pytest.raises(StateError):  # another browser (different cookie nonce)
        c.code_verifier_for(claims, flow_cookie=cookie, nonce="theirs")
    with pytest.raises(StateError):  # no flow cookie: already used or never started here
        c.code_verifier_for(claims, flow_cookie=None, nonce="mine")
    with pytest.raises(StateError):  # the cookie of another flow
        c.code_verifier_for(claims, flow_cookie=c.flow_cookie_value(other), nonce="mine")
    with pytest.raises(StateError):  # garbage cookie
        c.code_verifier_for(claims, flow_cookie=cookie[:-4] + "AAAA", nonce="mine")
    with pytest.raises(StateError):  # a cookie from a deployment with another key
        c.code_verifier_for(claims, flow_cookie=codec(OTHER_KEY).flow_cookie_value(flow), nonce="mine")
