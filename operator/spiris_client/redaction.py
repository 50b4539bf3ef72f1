"""Keeping secrets out of logs and messages.

Tokens, authorization codes, `Authorization` headers and temporary download links must never reach a log line,
an exception message or a status field. `redact()` masks them by shape (bearer/basic credentials, `code=`,
`access_token=`, JSON token fields, storage-link paths and signature query parameters) and by value (every
token the client has handled is remembered, bounded, and masked wherever it appears).
`install_log_redaction()` puts `RedactingFilter` on our logger and on the httpx/httpcore loggers, whose
DEBUG lines carry URLs and headers.
"""

from __future__ import annotations

import collections
import logging
import re
import threading
from urllib.parse import urlsplit, urlunsplit

MASK = "[REDACTED]"

logger = logging.getLogger("spiris_client")

_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s+|%20|\+)[A-Za-z0-9\-._~+/]+=*")
_TOKEN_FIELD = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(access_token|refresh_token|id_token|code|code_verifier|client_secret)"
    r"(=|[\"']\s*:\s*[\"']|[\"']\s*,\s*[\"'])([^\"'&\s,;}]+)"
)
_STORAGE_LINK = re.compile(r"(?i)(/temp/fileanonymous/)[^\s'\"<>]+")
_SIGNATURE_PARAM = re.compile(
    r"(?i)(?<![A-Za-z0-9_])(signature|sig|x-amz-signature|x-amz-credential|x-amz-security-token|token)=[^&\s'\"]+"
)

_MIN_SECRET_LENGTH = 8
_remembered: collections.deque[str] = collections.deque(maxlen=256)
_remembered_lock = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Mask this exact value wherever it appears from now on (bounded memory; short values ignored)."""
    if not value or len(value) < _MIN_SECRET_LENGTH:
        return
    with _remembered_lock:
        if value not in _remembered:
            _remembered.append(value)


def redact(text: str) -> str:
    """`text` with every token, code, credential and storage link masked."""
    with _remembered_lock:
        secrets = tuple(_remembered)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _CREDENTIAL.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _TOKEN_FIELD.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    text = _STORAGE_LINK.sub(lambda m: f"{m.group(1)}{MASK}", text)
    return _SIGNATURE_PARAM.sub(lambda m: f"{m.group(1)}={MASK}", text)


def redact_url(url: str) -> str:
    """A URL safe to log: no query string, no credentials, storage-link ids masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return redact(urlunsplit((parts.scheme, host, parts.path, "", "")))


class RedactingFilter(logging.Filter):
    """Rewrites each record's message through `redact()` (never drops a record)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not leak its raw args either
            message = str(record.msg)
        cleaned = redact(message)
        if cleaned != message or record.args:
            record.msg = cleaned
            record.args = None
        if record.exc_info and record.exc_info[1] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return True


_FILTERED_LOGGERS = (
    "spiris_client",
    "httpx",
    "httpcore",
    "httpcore.connection",
    "httpcore.http11",
    "httpcore.http2",
    "httpcore.proxy",
    "httpcore.socks",
)
_install_lock = threading.Lock()


def install_log_redaction() -> None:
    """Attach `RedactingFilter` to our logger and to the httpx/httpcore loggers (idempotent).

    Logger filters only see records created on that very logger, hence the explicit httpcore sub-loggers.
    """
    with _install_lock:
        for name in _FILTERED_LOGGERS:
            target = logging.getLogger(name)
            if not any(isinstance(f, RedactingFilter) for f in target.filters):
                target.addFilter(RedactingFilter())
