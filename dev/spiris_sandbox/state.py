"""Everything one running sandbox knows: config, clock, seeded world, identity store, links, limiter, faults,
stats.

One `SandboxState` hangs on the Starlette app (`app.state.sandbox`); route modules read it from the request.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from spiris_sandbox.clock import SandboxClock
from spiris_sandbox.config import SandboxConfig
from spiris_sandbox.downloads import DownloadLinks
from spiris_sandbox.faults import Faults
from spiris_sandbox.identity_store import IdentityStore
from spiris_sandbox.quirks import Quirks
from spiris_sandbox.rate_limit import RateLimiter
from spiris_sandbox.seed import UserData, generate_user_data
from spiris_sandbox.selection_cache import SelectionCache
from spiris_sandbox.stats import SandboxStats


@dataclass
class SandboxState:
    config: SandboxConfig
    clock: SandboxClock
    world: UserData
    identity: IdentityStore
    links: DownloadLinks
    limiter: RateLimiter
    faults: Faults
    stats: SandboxStats
    retry_after_header: bool
    quirks: Quirks = field(default_factory=Quirks)
    selections: SelectionCache = field(default_factory=SelectionCache)
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))

    def generations(self) -> dict[str, int]:
        """Token generation per user id (bumped by a "password change")."""
        return {user.id: user.token_generation for user in self.world.users}


def build_state(config: SandboxConfig) -> SandboxState:
    clock = SandboxClock()
    world = generate_user_data(
        config.seed,
        vouchers_per_year=config.vouchers_per_year,
        documents_ratio=config.documents_ratio,
        fiscal_years=config.fiscal_years,
        fiscal_year_periods=config.fiscal_year_periods,
        large_document_bytes=config.large_document_bytes,
        default_company=config.default_company,
        client_company_sizes=config.client_company_sizes,
    )
    if (
        config.auto_approve_company is not None
        and config.auto_approve_company not in world.users[0].companies
    ):
        raise ValueError(f"auto-approve: the demo user has no company {config.auto_approve_company}")
    faults = Faults(
        server_errors=config.fault_server_errors,
        slow_ms=config.fault_slow_ms,
        force_429=config.fault_force_429,
    )
    return SandboxState(
        config=config,
        clock=clock,
        world=world,
        identity=IdentityStore(
            access_token_seconds=config.access_token_seconds, code_seconds=config.code_seconds
        ),
        links=DownloadLinks(ttl_seconds=config.download_ttl_seconds),
        limiter=RateLimiter(per_minute=config.rate_limit_per_minute, clock=clock),
        faults=faults,
        stats=SandboxStats(),
        retry_after_header=config.retry_after_header,
        quirks=Quirks() if config.quirks else Quirks.off(),
    )
