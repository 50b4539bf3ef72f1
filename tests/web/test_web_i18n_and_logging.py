"""Unit tests of the page texts, language choice, orgnr normalisation, log redaction and security headers."""

from __future__ import annotations

import json
import logging
import re
import sys
from string import Formatter

from spiris_web.i18n import MESSAGES, Translator, requested_language
from spiris_web.logging_json import JsonFormatter, redact_path, redact_query
from spiris_web.oauth_callback import normalise_orgnr
from spiris_web.outcomes import Outcome
from spiris_web.security_headers import security_headers
from starlette.requests import Request


def request_with(query: str = "", cookie: str = "") -> Request:
    headers = [(b"cookie", cookie.encode())] if cookie else []
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(),
                    "headers": headers})


def placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    assert MESSAGES["sv"].keys() == MESSAGES["en"].keys()
    for key in MESSAGES["sv"]:
        assert placeholders(MESSAGES["sv"][key]) == placeholders(MESSAGES["en"][key]), key
        assert MESSAGES["sv"][key] != MESSAGES["en"][key], f"{key} is not translated"


def test_every_outcome_has_title_body_and_next_step() -> None:
    for outcome in Outcome:
        for part in ("title", "body", "next"):
            assert f"{outcome.value}.{part}" in MESSAGES["sv"], (outcome, part)


def test_consent_texts_name_permission_and_module() -> None:
    sv = Translator("sv", {"product": "Senseworks"})
    assert "Fullständig" in sv("consent.needs_permission")
    assert "Programbehörighet" in sv("consent.needs_permission")
    assert "Bokföring" in sv("consent.needs_module")
    assert sv("consent.button") == "Ge behörighet"
    assert Translator("en", {})("consent.button") == "Grant access"


def test_language_choice() -> None:
    assert requested_language(request_with()) == ("sv", False)
    assert requested_language(request_with("lang=en")) == ("en", True)
    assert requested_language(request_with(cookie="spiris_lang=en")) == ("en", False)
    assert requested_language(request_with("lang=sv", cookie="spiris_lang=en")) == ("sv", True)
    assert requested_language(request_with("lang=xx", cookie="spiris_lang=de")) == ("sv", False)


def test_orgnr_normalisation() -> None:
    assert normalise_orgnr("556677-8899") == normalise_orgnr("5566778899") == normalise_orgnr("556677 8899")
    assert normalise_orgnr("556677\u20138899") == "5566778899"
    assert normalise_orgnr("556677-8899") != normalise_orgnr("556677-8898")


def test_redaction_of_paths_and_queries() -> None:
    assert redact_path("/consent/eyJhbGciOi.abc.def") == "/consent/[redacted]"
    assert redact_path("/result/xyz") == "/result/[redacted]"
    assert redact_path("/oauth/callback") == "/oauth/callback"
    redacted = redact_query("code=SECRETCODE&state=SECRETSTATE&lang=en&error=access_denied")
    assert "SECRET" not in redacted
    assert "lang=en" in redacted and "error=access_denied" in redacted


def test_json_formatter_emits_one_object_without_exception_messages() -> None:
    record = logging.makeLogRecord({"name": "spiris_web", "levelname": "INFO", "msg": "hello %s",
                                    "args": ("world",), "connection": "acme"})
    entry = json.loads(JsonFormatter().format(record))
    assert entry["message"] == "hello world" and entry["connection"] == "acme" and entry["level"] == "info"
    try:
        raise ValueError("https://x/cb?code=SECRET")
    except ValueError:
        record = logging.makeLogRecord({"msg": "boom", "exc_info": sys.exc_info()})
    line = JsonFormatter().format(record)
    assert "SECRET" not in line and json.loads(line)["exception"] == "ValueError"


def test_security_headers() -> None:
    plain = security_headers(identity_origin="http://127.0.0.1:9", https=False)
    csp = plain["Content-Security-Policy"]
    assert "script-src" not in csp and "default-src 'none'" in csp
    assert re.search(r"form-action 'self' http://127\.0\.0\.1:9;", csp)
    assert plain["X-Frame-Options"] == "DENY" and plain["Referrer-Policy"] == "no-referrer"
    assert plain["X-Content-Type-Options"] == "nosniff"
    assert "Strict-Transport-Security" not in plain
    assert "Strict-Transport-Security" in security_headers(identity_origin="https://id", https=True)
