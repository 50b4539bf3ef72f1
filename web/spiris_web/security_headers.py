"""Security headers on every response.

A strict Content-Security-Policy (no scripts at all, styles only from our own `/static`, forms may post to us
and be redirected to the Spiris identity host only), no framing, no Referer (so neither the consent link nor
the OAuth code leaks to another site), no MIME sniffing, no caching of pages that carry per-person content,
and HSTS when the public URL is https.
"""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def security_headers(*, identity_origin: str, https: bool) -> dict[str, str]:
    """The headers for a deployment whose Spiris identity server lives at `identity_origin`."""
    headers = {
        # form-action must name the identity origin: browsers apply it to the redirect after our POST too.
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            f"form-action 'self' {identity_origin}; frame-ancestors 'none'; base-uri 'none'"
        ),
        "X-Frame-Options": "DENY",
        "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Cross-Origin-Resource-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
    }
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    return headers


class SecurityHeadersMiddleware:
    """Adds `security_headers(...)` to every HTTP response; pages (not static files) also get no-store."""

    def __init__(self, app: ASGIApp, *, identity_origin: str, https: bool) -> None:
        self.app = app
        self.headers = security_headers(identity_origin=identity_origin, https=https)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def add_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in self.headers.items():
                    headers[name] = value
                if not static:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, add_headers)
