"""Where the API client gets its bearer token from.

`TokenProvider` is the seam: `access_token()` before each request and `renew_after_unauthorized()` once after
a 401. The worker uses `FileTokenProvider` over the mounted Secret's `token.json`: it never refreshes by
itself (the operator is the only refresher, because refresh tokens rotate), it only re-reads the file and
offers the new access token if the operator has replaced it. `StaticTokenProvider` serves a fixed token
(tools, tests).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from spiris_client.oauth import TokenSet
from spiris_client.redaction import logger, remember_secret


class TokenProvider(Protocol):
    """Supplies bearer tokens to `SpirisApi`."""

    def access_token(self) -> str:
        """The access token to use for the next request."""
        ...

    def renew_after_unauthorized(self, rejected: str) -> str | None:
        """Spiris answered 401 to `rejected`: return a different token to retry once with, or None to give
        up."""
        ...


class StaticTokenProvider:
    """A fixed access token; a 401 is final."""

    def __init__(self, access_token: str) -> None:
        remember_secret(access_token)
        self._token = access_token

    def __repr__(self) -> str:
        return "StaticTokenProvider()"

    def access_token(self) -> str:
        return self._token

    def renew_after_unauthorized(self, rejected: str) -> str | None:
        return None


class FileTokenProvider:
    """Reads `token.json` (the mounted token Secret) on every use.

    Kubernetes replaces a mounted Secret's files atomically when the operator refreshes the token, so
    re-reading picks the new access token up. After a 401 the file is re-read, for up to `wait_for_change`
    seconds (polling every `poll_interval`), and the token is offered only if it differs from the rejected
    one.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        wait_for_change: float = 0.0,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._wait_for_change = wait_for_change
        self._poll_interval = poll_interval
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:
        return f"FileTokenProvider({str(self.path)!r})"

    def token_set(self) -> TokenSet:
        """The whole current `TokenSet` from the file."""
        return TokenSet.from_json(self.path.read_bytes())

    def access_token(self) -> str:
        return self.token_set().access_token

    def renew_after_unauthorized(self, rejected: str) -> str | None:
        deadline = self._clock() + self._wait_for_change
        while True:
            try:
                current = self.access_token()
            except (OSError, ValueError) as exc:
                logger.warning("token file %s unreadable after a 401: %s", self.path, type(exc).__name__)
                current = rejected
            if current != rejected:
                logger.info("token file %s holds a new access token; retrying once", self.path)
                return current
            if self._clock() >= deadline:
                logger.info("token file %s still holds the rejected access token", self.path)
                return None
            self._sleep(self._poll_interval)
