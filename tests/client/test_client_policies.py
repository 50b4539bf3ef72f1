"""The pure rules of the client: 429 advice parsing, backoff bounds, endpoint templates, query encoding,
redaction of secrets and the token.json format."""

from __future__ import annotations

import json
import logging
import random

import pytest
from spiris_client import (
    ConsentRequired,
    Forbidden,
    ForbiddenReason,
    OAuthError,
    RetryPolicy,
    SpirisApiError,
    TokenSet,
    endpoint_template,
    parse_retry_after,
    parse_try_again_seconds,
    redact,
    redact_url,
)
from spiris_client.redaction import RedactingFilter, remember_secret
from spiris_client.transport import encode_query

SPIRIS_429 = "API calls quota exceeded! maximum admitted 600 per Minute. Try again in 55 seconds."


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (SPIRIS_429, 55.0),
        ("Try again in 1 second.", 1.0),
        ("try again in 7 seconds", 7.0),
        ("API calls quota exceeded!", None),
        (None, None),
    ],
)
def test_try_again_in_n_seconds_is_parsed(message: str | None, expected: float | None) -> None:
    assert parse_try_again_seconds(message) == expected


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("12") == 12.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now=1445412480.0) == pytest.approx(30.0)
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_full_jitter_backoff_stays_within_its_exponential_ceiling() -> None:
    policy = RetryPolicy(backoff_base=0.5, backoff_cap=4.0)
    rng = random.Random(7)
    for attempt in range(8):
        ceiling = min(4.0, 0.5 * 2**attempt)
        delays = [policy.backoff(attempt, rng=rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > ceiling * 0.8  # really spread over the whole window (full jitter)


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("vouchers/0b0e9a3c-7c1a-4b8e-9d47-3f3b7a1c2d10", "/v2/vouchers/{fiscalyearId}"),
        (
            "/v2/Vouchers/0b0e9a3c-7c1a-4b8e-9d47-3f3b7a1c2d10/1b0e9a3c-7c1a-4b8e-9d47-3f3b7a1c2d10",
            "/v2/vouchers/{fiscalyearId}/{voucherId}",
        ),
        ("vouchers/abc?$page=2&$pagesize=1000", "/v2/vouchers/{fiscalyearId}"),
        ("CompanySettings", "/v2/companysettings"),
        ("fiscalyears/openingbalances", "/v2/fiscalyears/openingbalances"),
        ("accountbalances/2025-12-31", "/v2/accountbalances/{date}"),
        ("accountbalances/1930/2025-12-31", "/v2/accountbalances/{accountNumber}/{date}"),
        ("customerinvoices/ab/print", "/v2/customerinvoices/{invoiceId}/print"),
        ("salesdocumentattachments/ab.pdf", "/v2/salesdocumentattachments/{attachmentId}.pdf"),
        ("sie4export/2025-01-01/2025-12-31", "/v2/sie4export/{fromDate}/{toDate}"),
        ("costcenters/0b0e9a3c-7c1a-4b8e-9d47-3f3b7a1c2d10", "/v2/costcenters/{id}"),
    ],
)
def test_endpoint_templates(path: str, template: str) -> None:
    assert endpoint_template(path) == template


def test_query_values_are_percent_encoded_and_option_names_keep_their_dollar() -> None:
    query = encode_query(
        {
            "$filter": "VoucherText eq 'Städ & co+1' and VoucherDate ge 2024-01-01",
            "$page": 2,
            "x": None,
            "includeMatched": False,
        }
    )
    assert query == (
        "$filter=VoucherText%20eq%20%27St%C3%A4d%20%26%20co%2B1%27%20and%20VoucherDate%20ge%202024-01-01"
        "&$page=2&includeMatched=false"
    )


def test_redaction_masks_tokens_codes_credentials_and_storage_links() -> None:
    text = (
        "Authorization: Bearer eyJhbGciOi.abc-def_ghi "
        "Basic Y2xpZW50OnNlY3JldA== "
        "GET https://app/cb?code=SplxlOBeZQQYbYS6WxSbIA&state=xyz "
        '{"access_token": "tok-123456789", "refresh_token":"ref-987654321"} '
        "https://eaccountingstoragese.vismaonline.com/temp/fileanonymous/7d2c1b9e?sig=abcdef&se=2025 "
        "grant_type=refresh_token&refresh_token=ref-555555555"
    )
    cleaned = redact(text)
    for secret in (
        "eyJhbGciOi",
        "Y2xpZW50OnNlY3JldA",
        "SplxlOBeZQQYbYS6WxSbIA",
        "tok-123456789",
        "ref-987654321",
        "7d2c1b9e",
        "abcdef",
        "ref-555555555",
    ):
        assert secret not in cleaned
    assert "state=xyz" in cleaned  # non-secrets stay readable
    assert "grant_type=refresh_token" in cleaned


def test_remembered_secrets_are_masked_anywhere() -> None:
    remember_secret("opaque-token-value-42")
    assert redact("weird place opaque-token-value-42!") == "weird place [REDACTED]!"


def test_redact_url_drops_query_and_storage_id() -> None:
    assert (
        redact_url("https://h:8443/temp/fileanonymous/abc?x=1")
        == "https://h:8443/temp/fileanonymous/[REDACTED]"
    )
    assert redact_url("https://h/v2/vouchers?$filter=a") == "https://h/v2/vouchers"


def test_logging_filter_rewrites_formatted_records(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("test.redaction")
    log.addFilter(RedactingFilter())
    try:
        with caplog.at_level(logging.DEBUG, logger="test.redaction"):
            log.debug("header %s", "Bearer abcdefghijkl")
    finally:
        log.filters.clear()
    assert "abcdefghijkl" not in caplog.text
    assert "Bearer [REDACTED]" in caplog.text


def test_token_set_round_trips_token_json_and_hides_tokens() -> None:
    token = TokenSet.from_response(
        {
            "access_token": "AT-aaaaaaaaaa",
            "refresh_token": "RT-bbbbbbbbbb",
            "token_type": "Bearer",
            "expires_in": 3600,
            "scope": "ea:api offline_access",
        },
        now=1_700_000_000.5,
    )
    assert token.expires_at == 1_700_003_600
    body = json.loads(token.to_json())
    assert body == {
        "access_token": "AT-aaaaaaaaaa",
        "refresh_token": "RT-bbbbbbbbbb",
        "token_type": "Bearer",
        "expires_in": 3600,
        "expires_at": 1_700_003_600,
        "scope": "ea:api offline_access",
    }
    assert TokenSet.from_json(token.to_json()) == token
    assert "AT-aaaaaaaaaa" not in repr(token) and "RT-bbbbbbbbbb" not in repr(token)
    assert token.expires_within(60, now=1_700_003_541)
    assert not token.expires_within(60, now=1_700_003_539)
    with pytest.raises(ValueError):
        TokenSet.from_json("{}")


def test_forbidden_reasons_tell_company_state_permission_module_and_scope_apart() -> None:
    def forbidden(code: int | None, message: str = "") -> Forbidden:
        return Forbidden(status=403, endpoint="/v2/vouchers", error_code=code, developer_message=message)

    assert (
        forbidden(4003).is_company_state
        and forbidden(4004).is_company_state
        and forbidden(4012).is_company_state
    )
    assert forbidden(4007).is_permission and forbidden(4011).is_permission
    assert forbidden(4006).is_scope
    assert forbidden(4002, "ForbiddenRequestException - No access to module: api_standard").is_module
    assert forbidden(None, "No access to module: api_standard").reason is ForbiddenReason.MODULE
    assert forbidden(4999).reason is ForbiddenReason.UNKNOWN
    assert "startup guide" in forbidden(4003).guidance


def test_error_messages_carry_codes_but_never_tokens() -> None:
    remember_secret("leaky-token-abcdef")
    error = SpirisApiError(
        status=400,
        endpoint="/v2/vouchers/{fiscalyearId}",
        error_code=6000,
        error_id="e-1",
        developer_message="bad filter near leaky-token-abcdef",
    )
    assert "6000" in str(error) and "e-1" in str(error) and "leaky-token-abcdef" not in str(error)
    assert "consent again" in str(ConsentRequired())
    assert not isinstance(ConsentRequired(), OAuthError)
