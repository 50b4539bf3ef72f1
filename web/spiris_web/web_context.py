"""The collaborators every request handler uses, assembled once by the app factory.

Handlers receive one `WebContext` instead of reaching for globals, so tests can build an app with their own
Kubernetes store, Spiris gateway or settings.
"""

from __future__ import annotations

from dataclasses import dataclass

from spiris_web.browser_binding import BrowserBinding
from spiris_web.connections import ConnectionStore
from spiris_web.metrics import WebMetrics
from spiris_web.oauth_state import OAuthStateCodec
from spiris_web.page_renderer import PageRenderer
from spiris_web.result_link import ResultLinks
from spiris_web.settings import WebSettings
from spiris_web.spiris_gateway import SpirisGateway


@dataclass(frozen=True)
class WebContext:
    """Settings plus the objects built from them."""

    settings: WebSettings
    store: ConnectionStore
    spiris: SpirisGateway
    pages: PageRenderer
    binding: BrowserBinding
    states: OAuthStateCodec
    results: ResultLinks
    metrics: WebMetrics
