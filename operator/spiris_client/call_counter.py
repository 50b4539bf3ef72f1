"""Counting the API requests a client has spent, so callers can report them.

Every HTTP request `SpirisApi` sends is counted against its endpoint template: `requests` (what Spiris' quota
sees, retries included), of which `retries` were repeats of an earlier attempt, `rate_limited` the 429
answers, `server_errors` the 5xx answers, `transport_errors` the timeouts and connection failures and
`unauthorized` the 401s. Thread-safe, because one client may serve several worker threads.
"""

from __future__ import annotations

import dataclasses
import threading


@dataclasses.dataclass
class EndpointCalls:
    """Counts for one endpoint template (or the total)."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    server_errors: int = 0
    transport_errors: int = 0
    unauthorized: int = 0

    @property
    def first_attempts(self) -> int:
        """Requests that were not retries: the logical calls made."""
        return self.requests - self.retries

    def add(self, other: EndpointCalls) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


class CallCounter:
    """Totals and per-endpoint-template counts of the requests sent."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._per_endpoint: dict[str, EndpointCalls] = {}
        #: Strings in answers whose NUL characters or lone surrogates were replaced (text_cleaning).
        self.cleaned_texts = 0

    def record_cleaned(self, count: int) -> None:
        """Count strings cleaned in one parsed answer."""
        if count:
            with self._lock:
                self.cleaned_texts += count

    def record(self, template: str, *, retry: bool = False) -> None:
        """Count one request about to be sent to `template`."""
        with self._lock:
            calls = self._per_endpoint.setdefault(template, EndpointCalls())
            calls.requests += 1
            calls.retries += int(retry)

    def mark(
        self,
        template: str,
        *,
        rate_limited: bool = False,
        server_error: bool = False,
        transport_error: bool = False,
        unauthorized: bool = False,
    ) -> None:
        """Record the outcome of a request already counted by `record()`."""
        with self._lock:
            calls = self._per_endpoint.setdefault(template, EndpointCalls())
            calls.rate_limited += int(rate_limited)
            calls.server_errors += int(server_error)
            calls.transport_errors += int(transport_error)
            calls.unauthorized += int(unauthorized)

    @property
    def total(self) -> EndpointCalls:
        with self._lock:
            total = EndpointCalls()
            for calls in self._per_endpoint.values():
                total.add(calls)
            return total

    def per_endpoint(self) -> dict[str, EndpointCalls]:
        """A snapshot copy, keyed by endpoint template."""
        with self._lock:
            return {k: dataclasses.replace(v) for k, v in self._per_endpoint.items()}

    def endpoint(self, template: str) -> EndpointCalls:
        """A snapshot copy for one template (zeros when never called)."""
        with self._lock:
            return dataclasses.replace(self._per_endpoint.get(template, EndpointCalls()))

    def as_dict(self) -> dict[str, dict[str, int]]:
        """JSON-ready snapshot: `{"total": {...}, "/v2/vouchers/{fiscalyearId}": {...}, ...}`."""
        snapshot = {"total": dataclasses.asdict(self.total)}
        snapshot.update({k: dataclasses.asdict(v) for k, v in self.per_endpoint().items()})
        return snapshot

    def reset(self) -> None:
        with self._lock:
            self._per_endpoint.clear()
