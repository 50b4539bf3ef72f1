"""The Starlette application: identity, `/v2` API, storage downloads and the control API on one host.

Paths under `/v2` and `/connect` match case-insensitively (clients call `/v2/CompanySettings`), done by
lowercasing those paths before routing; ids in them are lowercase GUIDs, numbers or dates, so nothing is lost.
"""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from spiris_sandbox import errors
from spiris_sandbox.api_accounting import accounting_routes
from spiris_sandbox.api_control import control_routes
from spiris_sandbox.api_documents import document_routes
from spiris_sandbox.api_identity import identity_routes
from spiris_sandbox.api_storage import storage_routes
from spiris_sandbox.config import SandboxConfig
from spiris_sandbox.state import SandboxState, build_state

_CASE_INSENSITIVE_PREFIXES = ("/v2/", "/v2", "/connect/")


class CaseInsensitivePaths:
    """ASGI wrapper lowercasing API and identity paths before routing."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            lowered = path.lower()
            if lowered.startswith(_CASE_INSENSITIVE_PREFIXES) and path != lowered:
                scope = {**scope, "path": lowered, "raw_path": lowered.encode()}
        await self._app(scope, receive, send)


async def _not_found(request: Request, exc: Exception) -> Response:
    if request.url.path.lower().startswith("/v2"):
        return errors.api_error(404, errors.RESOURCE_NOT_FOUND, "The requested resource was not found.")
    return Response("Not Found", status_code=404, media_type="text/plain")


async def _method_not_allowed(request: Request, exc: Exception) -> Response:
    if request.url.path.lower().startswith("/v2"):
        return errors.api_error(405, errors.RESOURCE_NOT_FOUND, "The requested method is not supported here.")
    return Response("Method Not Allowed", status_code=405, media_type="text/plain")


async def _server_error(request: Request, exc: Exception) -> Response:
    return errors.api_error(500, errors.INTERNAL_SERVER_ERROR, "Internal server error.")


def build_app(config: SandboxConfig, *, state: SandboxState | None = None) -> tuple[ASGIApp, SandboxState]:
    """The ASGI app for `config` and the state it serves (tests may inspect the state directly)."""
    sandbox_state = state or build_state(config)
    app = Starlette(
        routes=[
            *identity_routes(),
            *accounting_routes(),
            *document_routes(),
            *storage_routes(),
            *control_routes(),
        ],
        exception_handlers={404: _not_found, 405: _method_not_allowed, 500: _server_error},
    )
    app.state.sandbox = sandbox_state
    return CaseInsensitivePaths(app), sandbox_state
