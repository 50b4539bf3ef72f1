"""The sandbox's run configuration: one frozen dataclass shared by the CLI, the server and the tests.

Everything that tests may want to vary per run lives here (seed, OAuth client, data sizes, rate limit, link
TTL, fault switches); the same switches can be flipped at runtime through the control API under `/_sandbox/`.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SandboxConfig:
    """How one sandbox run behaves. Defaults suit interactive use; tests shrink sizes and limits."""

    seed: int = 1
    client_id: str = "spiris-sandbox-client"
    client_secret: str = "spiris-sandbox-secret"
    redirect_uris: tuple[str, ...] = ("http://127.0.0.1:8080/oauth/callback",)
    host: str = "127.0.0.1"
    port: int = 0
    # Data sizes.
    vouchers_per_year: int = 300
    documents_ratio: float = 0.3
    fiscal_years: tuple[int, ...] = (2024, 2025)
    # Fiscal years as explicit (start, end) ISO dates, e.g. a short first year and a changed year end; when
    # given it replaces the calendar years of `fiscal_years`.
    fiscal_year_periods: tuple[tuple[str, str], ...] = ()
    large_document_bytes: int = 0
    # Client companies after the six seeded ones (numbers 7, 8, ...), one voucher count per year each: an
    # audit firm's many clients of mixed sizes (benchmarks), full permission for the demo user. Built lazily.
    client_company_sizes: tuple[int, ...] = ()
    # Identity.
    auto_approve_company: int | None = None
    default_company: int | None = 1
    access_token_seconds: int = 3600
    code_seconds: int = 300
    # API behaviour.
    rate_limit_per_minute: int = 600
    retry_after_header: bool = False
    download_ttl_seconds: int = 300
    # Host name put into TemporaryUrl instead of the API's (e.g. "localhost" while the API is 127.0.0.1).
    storage_host: str | None = None
    # Fault switches active from the start (the runtime equivalents are POST /_sandbox/faults).
    fault_server_errors: int = 0
    fault_slow_ms: int = 0
    fault_force_429: int = 0
    # Production quirks (spiris_sandbox.quirks): on by default; False starts with all of them off.
    quirks: bool = True
