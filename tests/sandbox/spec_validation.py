"""Every sandbox response checked against our JSON Schemas of the official OpenAPI document.

`spec_schemas/spiris_responses.schema.json` holds the response schemas the product reads, written from
`schemas/original/visma_external_api.yaml` (OpenAPI 3.1.1, mirrored in matssun/visma-external-api-schemas):
the components' types, formats, required lists, enums, bounds and `additionalProperties: false`, with the
descriptions left out. `ResponseRecorder` is an ASGI middleware the conformance suite puts around each
sandbox; it keeps every `/v2` response, and `problems()` says which ones break the schema for their route
(a JSON 200 on a route without a schema is a problem too, so nothing new escapes the check).
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SCHEMA_FILE = Path(__file__).with_name("spec_schemas") / "spiris_responses.schema.json"
GUID = r"[0-9a-fA-F-]{36}"
SEGMENT = r"[^/]+"

# (path regex under /v2, component) for every JSON 200 the product reads; None = not JSON (a PDF stream) or
# not read by the product (sales-document attachments), so only its status is looked at.
ROUTES: tuple[tuple[str, str | None], ...] = (
    (r"companysettings", "CompanySettingsApi"),
    (r"fiscalyears", "PaginatedResponseOfFiscalYearApi"),
    (r"fiscalyears/openingbalances", "PaginatedResponseOfOpeningBalancesApi"),
    (rf"fiscalyears/{SEGMENT}", "FiscalYearApi"),
    (r"accounts", "PaginatedResponseOfAccountApi"),
    (rf"accounts/{SEGMENT}", "PaginatedResponseOfAccountApi"),
    (rf"accounts/{SEGMENT}/{SEGMENT}", "AccountApi"),
    (rf"accountbalances/{SEGMENT}", "PaginatedResponseOfAccountBalanceApi"),
    (rf"accountbalances/{SEGMENT}/{SEGMENT}", "AccountBalanceApi"),
    (r"vouchers", "PaginatedResponseOfVoucherApi"),
    (rf"vouchers/{SEGMENT}", "PaginatedResponseOfVoucherApi"),
    (rf"vouchers/{SEGMENT}/{SEGMENT}", "VoucherApi"),
    (r"attachments", "PaginatedResponseOfAttachment"),
    (rf"attachments/{SEGMENT}", "Attachment"),
    (r"customerinvoices", "PaginatedResponseOfCustomerInvoiceApi"),
    (rf"customerinvoices/{SEGMENT}", "CustomerInvoiceApi"),
    (rf"customerinvoices/{SEGMENT}/pdf", "InvoiceUrlApi"),
    (rf"customerinvoices/{SEGMENT}/print", None),
    (r"supplierinvoices", "PaginatedResponseOfSupplierInvoiceApi"),
    (rf"supplierinvoices/{SEGMENT}", "SupplierInvoiceApi"),
    (rf"documents/{SEGMENT}", "DocumentApi"),
    (rf"sie4export/{SEGMENT}/{SEGMENT}", "DocumentApi"),
    (rf"salesdocumentattachments/{SEGMENT}", None),
)
_COMPILED = tuple((re.compile(rf"/v2/{pattern}/?", re.IGNORECASE), name) for pattern, name in ROUTES)
ERROR_COMPONENT = "CommonExtendedBadRequest"

# Spiris writes business dates as `2024-01-31T00:00:00` (no offset) although the spec says RFC 3339
# date-time (spiris-api.md §2.4, INFERRED); the check accepts ISO 8601 with or without an offset.
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_checker = FormatChecker(formats=())
_checker.checks("date-time")(lambda value: not isinstance(value, str) or bool(_DATE_TIME.fullmatch(value)))
_checker.checks("uuid")(lambda value: not isinstance(value, str) or bool(_UUID.fullmatch(value)))


@cache
def _bundle() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    return loaded


@cache
def validator(component: str) -> Draft202012Validator:
    bundle = _bundle()
    if component not in bundle["$defs"]:
        raise KeyError(component)
    schema = {"$ref": f"#/$defs/{component}", "$defs": bundle["$defs"]}
    return Draft202012Validator(schema, format_checker=_checker)


def component_for(path: str) -> tuple[bool, str | None]:
    """(known route, its component) for an API path such as `/v2/vouchers/<id>`."""
    for pattern, name in _COMPILED:
        if pattern.fullmatch(path):
            return True, name
    return False, None


def problems_of(
    path: str, status: int, content_type: str, body: bytes, *, selected: bool = False
) -> list[str]:
    """What is wrong with one `/v2` response (empty when it conforms); `selected`: the request had a
    `$select`, so required properties may be absent."""
    where = f"{status} {path}"
    if status == 401:
        return [] if not body else [f"{where}: a 401 has an empty body"]
    if status >= 400:
        if not content_type.startswith("application/json"):
            return [f"{where}: error body is {content_type!r}, not JSON"]
        component: str | None = ERROR_COMPONENT
    else:
        known, component = component_for(path)
        if not known:
            return [f"{where}: no schema for this route; add it to spec_validation.ROUTES"]
        if component is None:
            return []
    try:
        document = json.loads(body)
    except ValueError:
        return [f"{where}: body is not JSON"]
    return [
        f"{where}: {'/'.join(str(p) for p in error.absolute_path) or '(root)'}: {error.message}"
        for error in validator(component).iter_errors(document)
        if not (selected and error.validator == "required")
    ][:20]


@dataclass
class ResponseRecorder:
    """ASGI middleware factory: `SandboxServer(config, wrap=recorder.wrap)`; checks each `/v2` response."""

    checked: int = 0
    found: list[str] = field(default_factory=list)
    routes_seen: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wrap(self, app: ASGIApp) -> ASGIApp:
        async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
            path = str(scope.get("path", ""))
            if scope["type"] != "http" or not path.lower().startswith("/v2"):
                await app(scope, receive, send)
                return
            selected = b"$select" in scope.get("query_string", b"").lower().replace(b"%24", b"$")
            status = 0
            content_type = ""
            chunks: list[bytes] = []

            async def recording_send(message: Message) -> None:
                nonlocal status, content_type
                if message["type"] == "http.response.start":
                    status = int(message["status"])
                    headers = {k.decode().lower(): v.decode() for k, v in message.get("headers", [])}
                    content_type = headers.get("content-type", "")
                elif message["type"] == "http.response.body" and not content_type.startswith(
                    "application/pdf"
                ):
                    chunks.append(message.get("body", b""))
                await send(message)

            await app(scope, receive, recording_send)
            self.record(path, status, content_type, b"".join(chunks), selected=selected)

        return middleware

    def record(
        self, path: str, status: int, content_type: str, body: bytes, *, selected: bool = False
    ) -> None:
        found = problems_of(path, status, content_type, body, selected=selected)
        _, component = component_for(path)
        with self._lock:
            self.checked += 1
            self.found.extend(found)
            if status < 400 and component:
                self.routes_seen.add(component)
