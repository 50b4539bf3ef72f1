"""The application factories: `create_app(settings, kube=..., spiris=...)` → a Starlette ASGI app, and
`create_not_configured_app(report, ...)` for the not-configured mode (spiris_web.not_configured).

Wires routes (consent pages, OAuth callback, result pages, health, metrics, static CSS), the security-header
and access-log middleware, and pages for 404/405/500 in the visitor's language; both apps share the last
three. Production passes only settings; tests inject a Kubernetes API client for the emulator and, if they
wish, another Spiris gateway.
"""

from __future__ import annotations

from pathlib import Path

from kubernetes import client as k8s
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles

from spiris_web.browser_binding import BrowserBinding
from spiris_web.connections import ConnectionStore, api_client_for
from spiris_web.consent_pages import consent_routes
from spiris_web.health import health_routes, kubernetes_readiness
from spiris_web.logging_json import AccessLogMiddleware, logger
from spiris_web.metrics import WebMetrics
from spiris_web.not_configured import MissingSettings, not_configured_pages, not_configured_readiness
from spiris_web.oauth_callback import callback_routes
from spiris_web.oauth_state import OAuthStateCodec
from spiris_web.outcomes import Outcome
from spiris_web.page_renderer import PageRenderer, template_environment
from spiris_web.result_link import ResultLinks
from spiris_web.security_headers import SecurityHeadersMiddleware
from spiris_web.settings import DEFAULT_IDENTITY_URL, DEFAULT_PRODUCT_NAME, WebSettings, origin_of
from spiris_web.spiris_gateway import SpirisClientGateway, SpirisGateway
from spiris_web.web_context import WebContext

STATIC_DIR = Path(__file__).parent / "static"


def build_context(
    settings: WebSettings,
    *,
    kube: k8s.ApiClient | None = None,
    spiris: SpirisGateway | None = None,
    metrics: WebMetrics | None = None,
) -> WebContext:
    """Assemble the collaborators from settings (and optional injected clients)."""
    api_client = kube if kube is not None else api_client_for(settings.kubeconfig)
    key = settings.link_keys
    return WebContext(
        settings=settings,
        store=ConnectionStore(api_client),
        spiris=spiris if spiris is not None else SpirisClientGateway(settings),
        pages=PageRenderer(
            environment=template_environment(),
            product_name=settings.product_name,
            secure_cookies=settings.secure_cookies,
        ),
        binding=BrowserBinding.from_master(key, secure=settings.secure_cookies),
        states=OAuthStateCodec.from_master(
            key, ttl_seconds=settings.state_ttl_seconds, secure=settings.secure_cookies
        ),
        results=ResultLinks.from_master(key),
        metrics=metrics if metrics is not None else WebMetrics(),
    )


def create_app(
    settings: WebSettings,
    *,
    kube: k8s.ApiClient | None = None,
    spiris: SpirisGateway | None = None,
    metrics: WebMetrics | None = None,
) -> Starlette:
    """The web component as an ASGI app (``metrics``: a registry the caller also serves elsewhere)."""
    ctx = build_context(settings, kube=kube, spiris=spiris, metrics=metrics)
    routes: list[BaseRoute] = [
        *consent_routes(ctx),
        *callback_routes(ctx),
        *health_routes(readyz=kubernetes_readiness(ctx.store), metrics=ctx.metrics),
    ]
    app = _starlette(
        routes,
        pages=ctx.pages,
        metrics=ctx.metrics,
        identity_origin=settings.identity_origin,
        https=settings.secure_cookies,
    )
    app.state.context = ctx
    return app


def create_not_configured_app(
    report: MissingSettings,
    *,
    public_url: str = "",
    identity_url: str = DEFAULT_IDENTITY_URL,
    product_name: str = DEFAULT_PRODUCT_NAME,
    metrics: WebMetrics | None = None,
) -> Starlette:
    """The web while `report.missing` is not set: health, readiness naming the gaps, 503 pages, metrics."""
    https = public_url.startswith("https://")
    pages = PageRenderer(environment=template_environment(), product_name=product_name, secure_cookies=https)
    metrics = metrics if metrics is not None else WebMetrics()
    routes: list[BaseRoute] = [
        *not_configured_pages(pages),
        *health_routes(readyz=not_configured_readiness(report), metrics=metrics),
    ]
    return _starlette(
        routes, pages=pages, metrics=metrics, identity_origin=origin_of(identity_url), https=https
    )


def _starlette(
    routes: list[BaseRoute], *, pages: PageRenderer, metrics: WebMetrics, identity_origin: str, https: bool
) -> Starlette:
    """`routes` plus static CSS, the middleware and the error pages every web app has."""

    async def http_error(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        outcome = Outcome.NOT_FOUND if status in (404, 405) else Outcome.SERVICE_UNAVAILABLE
        response = pages.outcome(request, outcome, switch_path=request.url.path)
        response.status_code = status if status in (404, 405) else 500
        return response

    async def server_error(request: Request, exc: Exception) -> Response:
        logger.error("unhandled error", extra={"error_type": type(exc).__name__})
        response = pages.outcome(request, Outcome.SERVICE_UNAVAILABLE, switch_path="/")
        response.status_code = 500
        return response

    def observe(route: str, seconds: float) -> None:
        metrics.request_seconds.labels(route=route).observe(seconds)

    app = Starlette(
        routes=[*routes, Mount("/static", app=StaticFiles(directory=STATIC_DIR), name="static")],
        middleware=[
            Middleware(AccessLogMiddleware, observe=observe),
            Middleware(SecurityHeadersMiddleware, identity_origin=identity_origin, https=https),
        ],
        exception_handlers={HTTPException: http_error, Exception: server_error},
    )
    # A trailing-slash redirect would be built from the Host header: an open redirect. 404 instead.
    app.router.redirect_slashes = False
    return app
