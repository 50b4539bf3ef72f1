"""Structured JSON logs, and the access log that never shows a code, state or consent-link token.

uvicorn's own access log prints full request lines (including `?code=...&state=...`), so the CLI turns it off
and `AccessLogMiddleware` writes one JSON line per request instead, with the path's secret segment masked and
only the *names* of query parameters whose values could be sensitive.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER_NAME = "spiris_web"
SECRET_PATH_PREFIXES = ("/consent/", "/result/")
SAFE_QUERY_KEYS = frozenset({"lang", "error"})
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

logger = logging.getLogger(LOGGER_NAME)


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info and record.exc_info[0] is not None:
            # The type only: exception messages of HTTP clients can quote URLs with codes in them.
            entry["exception"] = record.exc_info[0].__name__
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str = "INFO") -> None:
    """Route the root logger (uvicorn, kubernetes, spiris_client, ours) through the JSON formatter."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


def redact_path(path: str) -> str:
    """Mask the signed token segment of consent and result URLs."""
    for prefix in SECRET_PATH_PREFIXES:
        if path.startswith(prefix) and len(path) > len(prefix):
            return f"{prefix}[redacted]"
    return path


def redact_query(query: str) -> str:
    """Keep harmless parameters, replace every other value (code, state, anything unknown)."""
    if not query:
        return ""
    parts = []
    for pair in query.split("&"):
        key, _, _value = pair.partition("=")
        parts.append(pair if key in SAFE_QUERY_KEYS else f"{key}=[redacted]")
    return "&".join(parts)


class AccessLogMiddleware:
    """Logs method, redacted path and query, status and duration of every HTTP request."""

    def __init__(self, app: ASGIApp, *, observe: Callable[[str, float], None] | None = None) -> None:
        self.app = app
        self.observe = observe

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            elapsed = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            if self.observe is not None:
                self.observe(template, elapsed)
            logger.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": redact_path(str(scope.get("path", ""))),
                    "query": redact_query(scope.get("query_string", b"").decode("latin-1")),
                    "status": status,
                    "duration_ms": round(elapsed * 1000, 1),
                },
            )
