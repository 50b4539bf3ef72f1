"""Prometheus metrics of the web component, on a registry of its own (one per app instance).

A private registry keeps several apps in one process (tests) from colliding and keeps `/metrics` to what this
component knows: how consent attempts end, how often people are sent to Spiris, and request latency per route.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry, Counter, Histogram


@dataclass
class WebMetrics:
    """The counters and histograms the handlers update."""

    registry: CollectorRegistry = field(default_factory=CollectorRegistry)

    def __post_init__(self) -> None:
        self.pages = Counter(
            "spiris_web_pages_total",
            "Pages shown, by step (consent, authorize, callback) and outcome",
            ["step", "outcome"],
            registry=self.registry,
        )
        self.authorize_redirects = Counter(
            "spiris_web_authorize_redirects_total",
            "Browsers sent to the Spiris authorize endpoint",
            registry=self.registry,
        )
        self.tokens_stored = Counter(
            "spiris_web_tokens_stored_total",
            "Token Secrets written after a successful consent",
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "spiris_web_request_duration_seconds",
            "Request latency by route template",
            ["route"],
            registry=self.registry,
        )
