"""The not-configured mode: the web started without a setting a consent needs, and says so.

The chart installs with its default values (no public URL, Secrets not created yet, their refs optional), so
instead of exiting and crash-looping the web serves: `/healthz` 200 (the process is fine), `/readyz` 503 with
a JSON list of what is missing by chart value and environment variable, and every consent, callback and
result page a 503 "not set up yet" page in the visitor's language. The missing values are logged once at
start and then at most every five minutes (driven by the readiness probe). Malformed values are not folded
in: they still stop the process with exit 2 (spiris_web.settings.missing_settings).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from spiris_connection.install_settings import InstallSetting
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from spiris_web.health import Endpoint
from spiris_web.logging_json import logger
from spiris_web.outcomes import Outcome
from spiris_web.page_renderer import PageRenderer

REPORT_INTERVAL_SECONDS = 300.0
#: The reason in the readiness body (a probe's reader or a script can match it).
NOT_CONFIGURED = "NotConfigured"


@dataclass
class MissingSettings:
    """What is missing, and when it was last logged."""

    missing: tuple[InstallSetting, ...]
    interval: float = REPORT_INTERVAL_SECONDS
    clock: Callable[[], float] = time.monotonic
    _last_logged: float | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def readiness(self) -> dict[str, Any]:
        """The `/readyz` body."""
        return {
            "ready": False,
            "reason": NOT_CONFIGURED,
            "message": "the web is not configured yet; set: " + "; ".join(self._sentences()),
            "missing": [
                {**setting.as_json(), "message": sentence}
                for setting, sentence in zip(self.missing, self._sentences(), strict=True)
            ],
        }

    def log_if_due(self) -> bool:
        """Log the missing values unless that was done less than `interval` ago; True when it logged."""
        with self._lock:
            now = self.clock()
            if self._last_logged is not None and now - self._last_logged < self.interval:
                return False
            self._last_logged = now
        logger.warning(
            "not configured: no consent can be served until these are set: " + "; ".join(self._sentences()),
            extra={"reason": NOT_CONFIGURED, "missing": [setting.env for setting in self.missing]},
        )
        return True

    def _sentences(self) -> list[str]:
        return [f"{setting.env} is empty: set {setting.where}" for setting in self.missing]


def not_configured_readiness(report: MissingSettings) -> Endpoint:
    """Never ready; each probe may repeat the log line (at most every `interval`)."""

    async def readyz(request: Request) -> Response:
        report.log_if_due()
        return JSONResponse(report.readiness(), status_code=503)

    return readyz


def not_configured_pages(pages: PageRenderer) -> list[Route]:
    """Every path a person reaches from a link or from Spiris, answered with the 503 page."""

    async def not_set_up(request: Request) -> Response:
        return pages.outcome(request, Outcome.NOT_CONFIGURED, switch_path=request.url.path)

    return [
        Route("/consent/{token}", not_set_up, methods=["GET", "POST"]),
        Route("/oauth/callback", not_set_up, methods=["GET"]),
        Route("/result/{token}", not_set_up, methods=["GET"]),
    ]
