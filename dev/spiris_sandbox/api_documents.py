"""Sales, purchase and document endpoints: company settings, customer and supplier invoices, attachments,
sales-document attachments and `/documents/{id}`, with fresh temporary download links on every metadata GET.

Quirks (spiris_sandbox.quirks): a missing resource is a 400 with ErrorCode 3000 where the spec declares no
404; `/customerinvoices/{id}/pdf` and `/print` take `render_latency_ms` (rendered on request); listing
attachments with temporary URLs takes `temporary_url_latency_ms` per item.
"""

from __future__ import annotations

import asyncio

from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from spiris_sandbox import errors
from spiris_sandbox.api_guard import ACCOUNTING, PURCHASE, SALES, SALES_FULL, ApiContext, api_route
from spiris_sandbox.company_data import Record, parse_api_datetime
from spiris_sandbox.documents import document_chunks, document_size
from spiris_sandbox.downloads import temporary_url
from spiris_sandbox.json_response import ApiJSONResponse
from spiris_sandbox.odata_filter import FilterError, parse_datetime_literal
from spiris_sandbox.paging import DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, list_response
from spiris_sandbox.schemas import ATTACHMENT, CUSTOMER_INVOICE, SUPPLIER_INVOICE

SALES_FEATURE = "sales"
PURCHASE_FEATURE = "purchase"


def _missing(ctx: ApiContext, message: str, *, declared_404: bool) -> Response:
    return errors.not_found(
        errors.RESOURCE_NOT_FOUND,
        message,
        declared_404=declared_404,
        as_400=ctx.state.quirks.not_found_as_400,
    )


async def _render_delay(ctx: ApiContext) -> None:
    if ctx.state.quirks.render_latency_ms > 0:
        await asyncio.sleep(ctx.state.quirks.render_latency_ms / 1000)


def _id(ctx: ApiContext, name: str) -> str:
    return str(ctx.request.path_params[name]).lower()


def _link(ctx: ApiContext, *, key: str, content_type: str, file_name: str) -> str:
    link_id = ctx.state.links.create(
        company=ctx.company_number,
        document_key=key,
        content_type=content_type,
        file_name=file_name,
        now=ctx.state.clock.time(),
    )
    return temporary_url(str(ctx.request.base_url), link_id, storage_host=ctx.state.config.storage_host)


def _flag(ctx: ApiContext, name: str, default: bool) -> bool | None:
    for key, value in ctx.request.query_params.items():
        if key.lower() == name.lower():
            if value.lower() in ("true", "1"):
                return True
            if value.lower() in ("false", "0"):
                return False
            return None
    return default


def _file_response(ctx: ApiContext, key: str, *, disposition: str | None) -> Response:
    """A stored PDF streamed by the API itself (`/print`, `salesdocumentattachments/{id}.pdf`)."""
    spec = ctx.books.documents[key]
    headers = {"Content-Length": str(document_size(spec))}
    if disposition:
        headers["Content-Disposition"] = disposition
    return StreamingResponse(document_chunks(spec), media_type="application/pdf", headers=headers)


async def company_settings(ctx: ApiContext) -> Response:
    return ApiJSONResponse(ctx.books.profile.settings)


async def customer_invoices(ctx: ApiContext) -> Response:
    with ctx.books.lock:
        records = list(ctx.books.customer_invoices.values())
    since_raw = next(
        (v for k, v in ctx.request.query_params.items() if k.lower() == "modifiedsinceutc"), None
    )
    if since_raw:
        try:
            since = parse_datetime_literal(since_raw)
        except FilterError as error:
            return errors.api_error(400, errors.INVALID_INPUT, str(error))
        records = [record for record in records if parse_api_datetime(record["ModifiedUtc"]) >= since]
    return list_response(ctx.request, ctx.state, records, CUSTOMER_INVOICE)


def _customer_invoice(ctx: ApiContext) -> Record | Response:
    record = ctx.books.customer_invoices.get(_id(ctx, "invoice_id"))
    if record is None:
        return _missing(ctx, "Customer invoice not found.", declared_404=False)
    return record


async def customer_invoice(ctx: ApiContext) -> Response:
    record = _customer_invoice(ctx)
    return record if isinstance(record, Response) else ApiJSONResponse(record)


async def customer_invoice_pdf(ctx: ApiContext) -> Response:
    record = _customer_invoice(ctx)
    if isinstance(record, Response):
        return record
    await _render_delay(ctx)
    url = _link(
        ctx,
        key=record["Id"],
        content_type="application/pdf",
        file_name=f"Faktura {record['InvoiceNumber']}.pdf",
    )
    return ApiJSONResponse({"Url": url})


async def customer_invoice_print(ctx: ApiContext) -> Response:
    record = _customer_invoice(ctx)
    if isinstance(record, Response):
        return record
    await _render_delay(ctx)
    return _file_response(
        ctx, record["Id"], disposition=f'inline; filename="Faktura {record["InvoiceNumber"]}.pdf"'
    )


def _sales_attachment(ctx: ApiContext) -> Record | Response:
    record = ctx.books.sales_attachments.get(_id(ctx, "attachment_id"))
    if record is None:
        return errors.api_error(404, errors.RESOURCE_NOT_FOUND, "Sales document attachment not found.")
    return record


async def sales_attachment(ctx: ApiContext) -> Response:
    record = _sales_attachment(ctx)
    if isinstance(record, Response):
        return record
    return ApiJSONResponse({**record, "DocumentSize": document_size(ctx.books.documents[record["Id"]])})


async def sales_attachment_file(ctx: ApiContext) -> Response:
    record = _sales_attachment(ctx)
    if isinstance(record, Response):
        return record
    return _file_response(ctx, record["Id"], disposition=None)


async def supplier_invoices(ctx: ApiContext) -> Response:
    with ctx.books.lock:
        records = list(ctx.books.supplier_invoices.values())
    return list_response(ctx.request, ctx.state, records, SUPPLIER_INVOICE)


async def supplier_invoice(ctx: ApiContext) -> Response:
    record = ctx.books.supplier_invoices.get(_id(ctx, "invoice_id"))
    if record is None:
        return _missing(ctx, "Supplier invoice not found.", declared_404=True)
    return ApiJSONResponse(record)


def _with_url(ctx: ApiContext, record: Record, *, include_url: bool) -> Record:
    url = None
    if include_url:
        url = _link(
            ctx,
            key=record["Id"],
            content_type=record["ContentType"] or "application/octet-stream",
            file_name=record["FileName"] or record["Id"],
        )
    return {**record, "TemporaryUrl": url}


def _page_items(ctx: ApiContext, total: int) -> int:
    """How many of `total` records the request's page holds (for the per-item listing latency)."""
    params = {key.lower(): value for key, value in ctx.request.query_params.items()}
    try:
        page = max(1, int(params.get("$page") or 1))
        size = min(max(1, int(params.get("$pagesize") or DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
    except ValueError:
        return 0
    return max(0, min(size, total - (page - 1) * size))


async def attachments(ctx: ApiContext) -> Response:
    include_matched = _flag(ctx, "includeMatched", True)
    include_url = _flag(ctx, "includeTemporaryUrl", True)
    if include_matched is None or include_url is None:
        return errors.api_error(
            400, errors.QUERY_PARAMETER_ERROR, "includeMatched/includeTemporaryUrl must be booleans."
        )
    with ctx.books.lock:
        records = list(ctx.books.attachments.values())
    if not include_matched:
        records = [record for record in records if record["AttachmentStatus"] == 1]
    if include_url and ctx.state.quirks.temporary_url_latency_ms > 0:
        # Issuing a temporary URL per listed item is what makes this listing slow (the page's share).
        await asyncio.sleep(_page_items(ctx, len(records)) * ctx.state.quirks.temporary_url_latency_ms / 1000)
    return list_response(
        ctx.request,
        ctx.state,
        records,
        ATTACHMENT,
        decorate=lambda record: _with_url(ctx, record, include_url=include_url),
    )


async def attachment(ctx: ApiContext) -> Response:
    record = ctx.books.attachments.get(_id(ctx, "attachment_id"))
    if record is None:
        return _missing(ctx, "Attachment not found.", declared_404=False)
    return ApiJSONResponse(_with_url(ctx, record, include_url=True))


async def document(ctx: ApiContext) -> Response:
    record = ctx.books.document_records.get(_id(ctx, "document_id"))
    if record is None:
        return _missing(ctx, "Document not found.", declared_404=False)
    key = record["_document_key"]
    public = {name: value for name, value in record.items() if not name.startswith("_")}
    public["Size"] = document_size(ctx.books.documents[key])
    public["TemporaryUrl"] = _link(ctx, key=key, content_type=record["ContentType"], file_name=record["Name"])
    return ApiJSONResponse(public)


def document_routes() -> list[Route]:
    return [
        api_route("/v2/companysettings", company_settings, scopes=SALES),
        api_route("/v2/customerinvoices", customer_invoices, scopes=SALES, feature=SALES_FEATURE),
        api_route("/v2/customerinvoices/{invoice_id}", customer_invoice, scopes=SALES, feature=SALES_FEATURE),
        api_route(
            "/v2/customerinvoices/{invoice_id}/pdf", customer_invoice_pdf, scopes=SALES, feature=SALES_FEATURE
        ),
        api_route(
            "/v2/customerinvoices/{invoice_id}/print",
            customer_invoice_print,
            scopes=SALES,
            feature=SALES_FEATURE,
        ),
        api_route(
            "/v2/salesdocumentattachments/{attachment_id}.pdf",
            sales_attachment_file,
            scopes=SALES_FULL,
            feature=SALES_FEATURE,
        ),
        api_route(
            "/v2/salesdocumentattachments/{attachment_id}",
            sales_attachment,
            scopes=SALES_FULL,
            feature=SALES_FEATURE,
        ),
        api_route("/v2/supplierinvoices", supplier_invoices, scopes=PURCHASE, feature=PURCHASE_FEATURE),
        api_route(
            "/v2/supplierinvoices/{invoice_id}", supplier_invoice, scopes=PURCHASE, feature=PURCHASE_FEATURE
        ),
        api_route("/v2/attachments", attachments, scopes=PURCHASE | ACCOUNTING),
        api_route("/v2/attachments/{attachment_id}", attachment, scopes=PURCHASE | ACCOUNTING),
        api_route("/v2/documents/{document_id}", document, scopes=SALES | PURCHASE),
    ]
