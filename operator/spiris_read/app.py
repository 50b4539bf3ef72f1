"""The HTTP shell of the read side (Starlette): routes → `params` → `ReadService` → JSON.

Every `/api/v1` route needs a Kubernetes bearer token; the viewer's routes need a signed viewer link in the
path instead. Errors of any kind answer `application/problem+json`; an unexpected one is logged and becomes
a 500 problem without details. Sync endpoint functions run in Starlette's thread pool, which is where the
blocking Postgres, S3 and Kubernetes calls belong.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from spiris_read import params
from spiris_read.kube_access import bearer_token
from spiris_read.openapi import openapi_document
from spiris_read.problems import NotFoundProblem, ReadProblem
from spiris_read.resources import ReadService, Target
from spiris_read.viewer_links import verify
from spiris_read.viewer_page import STATIC_DIR, viewer_response

log = logging.getLogger("spiris_read.app")
PREFIX = "/api/v1/namespaces/{namespace}/connections/{name}"
NO_STORE = {"Cache-Control": "no-store"}


class ProblemResponse(JSONResponse):
    media_type = "application/problem+json"


def problem_response(problem: ReadProblem, request: Request) -> Response:
    headers = dict(NO_STORE)
    if problem.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="spiris-api"'
    return ProblemResponse(
        problem.body(instance=request.url.path), status_code=problem.status, headers=headers
    )


def json_response(body: Any, *, status: int = 200) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=NO_STORE)


def create_app(service: ReadService, *, public_url: str | None = None) -> Starlette:
    """The ASGI app over `service`; viewer links point at `public_url` (else the URL the request came to)."""

    def target(request: Request) -> Target:
        namespace = params.namespace(request.path_params["namespace"])
        name = params.connection_name(request.path_params["name"])
        token = bearer_token(request.headers.get("authorization"))
        return service.target(token, namespace=namespace, name=name)

    def get_connection(request: Request) -> Response:
        return json_response(service.connection(target(request)))

    def get_fiscal_years(request: Request) -> Response:
        return json_response(service.fiscal_years(target(request)))

    def get_vouchers(request: Request) -> Response:
        year = params.fiscal_year(request.path_params["year"])
        query = request.query_params
        filters, after, limit = params.voucher_filter(query), params.cursor(query), params.limit(query)
        page = service.voucher_page(target(request), year=year, filters=filters, after=after, limit=limit)
        return json_response(page)

    def get_voucher(request: Request) -> Response:
        voucher_id = params.an_id(request.path_params["voucher_id"], what="voucher")
        return json_response(service.voucher(target(request), voucher_id))

    def get_row_documents(request: Request) -> Response:
        voucher_id = params.an_id(request.path_params["voucher_id"], what="voucher")
        row_no = params.row_no(request.path_params["row_no"])
        return json_response(service.row_documents(target(request), voucher_id, row_no))

    def get_document(request: Request) -> Response:
        document_id = params.an_id(request.path_params["document_id"], what="document")
        return json_response(service.document(target(request), document_id))

    def content(request: Request, found: Target, document_id_text: str) -> Response:
        document_id = params.an_id(document_id_text, what="document")
        link = service.content_url(found, document_id)
        if request.query_params.get("redirect") == "false":
            return json_response(link)
        return RedirectResponse(
            link["url"], status_code=302, headers={**NO_STORE, "Referrer-Policy": "no-referrer"}
        )

    def get_content(request: Request) -> Response:
        return content(request, target(request), request.path_params["document_id"])

    def get_sie(request: Request) -> Response:
        year = params.fiscal_year(request.path_params["year"])
        export = service.sie(target(request), year=year)
        headers = {
            **NO_STORE,
            "Content-Disposition": f'attachment; filename="{export.file_name}"',
            "X-Spiris-Balances": "complete" if export.balances_complete else "movements-only",
        }
        return Response(export.content, media_type="text/plain; charset=IBM437", headers=headers)

    def post_viewer_link(request: Request) -> Response:
        year = params.fiscal_year(request.path_params["year"])
        base = public_url or str(request.base_url)
        return json_response(service.viewer_link(target(request), year=year, base_url=base), status=201)

    # -- the viewer (a signed link instead of a token) ------------------------------------------------

    def claim_target(request: Request) -> tuple[Any, Target]:
        if service.link_key is None:
            raise NotFoundProblem("Viewer links are not configured.")
        claim = verify(request.path_params["link"], key=service.link_key)
        return claim, service.viewer_target(claim)

    def viewer(request: Request) -> Response:
        claim, found = claim_target(request)
        return viewer_response(
            request, claim=claim, connection=service.connection(found), content_origin=service.links.origin()
        )

    def viewer_vouchers(request: Request) -> Response:
        claim, found = claim_target(request)
        query = request.query_params
        page = service.voucher_page(
            found,
            year=claim.year,
            filters=params.voucher_filter(query),
            after=params.cursor(query),
            limit=params.limit(query),
        )
        return json_response(page)

    def viewer_voucher(request: Request) -> Response:
        claim, found = claim_target(request)
        voucher_id = params.an_id(request.path_params["voucher_id"], what="voucher")
        return json_response(service.voucher(found, voucher_id, year=claim.year))

    def viewer_content(request: Request) -> Response:
        _, found = claim_target(request)
        return content(request, found, request.path_params["document_id"])

    # -- plumbing -------------------------------------------------------------------------------------

    def get_openapi(request: Request) -> Response:
        return JSONResponse(openapi_document())

    def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def on_problem(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, ReadProblem)
        if exc.status >= 500:
            log.warning("%s %s: %s", request.method, request.url.path, exc.detail)
        return problem_response(exc, request)

    async def on_http(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        titles = {404: ("not-found", "Not found"), 405: ("method-not-allowed", "Method not allowed")}
        suffix, title = titles.get(exc.status_code, ("http", "HTTP error"))
        problem = ReadProblem(str(exc.detail) if exc.status_code not in titles else title)
        problem.status, problem.title, problem.type_suffix = exc.status_code, title, suffix
        return problem_response(problem, request)

    async def on_error(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return problem_response(ReadProblem("The read API failed unexpectedly; see its log."), request)

    routes = [
        Route("/api/v1/openapi.json", get_openapi),
        Route("/healthz", healthz),
        Route("/readyz", healthz),
        Route(PREFIX, get_connection),
        Route(PREFIX + "/fiscal-years", get_fiscal_years),
        Route(PREFIX + "/fiscal-years/{year}/vouchers", get_vouchers),
        Route(PREFIX + "/fiscal-years/{year}/sie", get_sie),
        Route(PREFIX + "/fiscal-years/{year}/viewer-links", post_viewer_link, methods=["POST"]),
        Route(PREFIX + "/vouchers/{voucher_id}", get_voucher),
        Route(PREFIX + "/vouchers/{voucher_id}/rows/{row_no}/documents", get_row_documents),
        Route(PREFIX + "/documents/{document_id}", get_document),
        Route(PREFIX + "/documents/{document_id}/content", get_content),
        Mount("/viewer/static", app=StaticFiles(directory=STATIC_DIR), name="viewer-static"),
        Route("/viewer/{link}", viewer),
        Route("/viewer/{link}/vouchers", viewer_vouchers),
        Route("/viewer/{link}/vouchers/{voucher_id}", viewer_voucher),
        Route("/viewer/{link}/documents/{document_id}/content", viewer_content),
    ]
    handlers: dict[Any, Callable[[Request, Exception], Awaitable[Response]]] = {
        ReadProblem: on_problem,
        HTTPException: on_http,
        Exception: on_error,
    }
    return Starlette(routes=routes, exception_handlers=handlers)
